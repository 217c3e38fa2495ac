"""The timers of the lifecycle as idempotent sweeps: find what is due, move it with compare-and-set.

Each sweep works in batches, one transaction per batch. On PostgreSQL a batch is claimed with
FOR UPDATE SKIP LOCKED so several processes share the work; on SQLite the write lock serialises
batches and the guarded UPDATE alone keeps every order moved exactly once.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, Order
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidTransition
from services.inventory import stock
from services.orders.lifecycle import act

BATCH = 500


class OrderSweeps:
    """The scheduler's order timers."""

    def __init__(self, ctx: ServiceContext, batch: int = BATCH) -> None:
        self.ctx = ctx
        self.batch = batch

    async def _run(self, query: Select[Any], step: Callable[[AsyncSession, Order], Awaitable[bool]]) -> int:
        """Apply `step` to due orders, batch by batch, until none are left; count the moved ones."""
        moved, skipped = 0, 0
        while True:
            async with self.ctx.db.write() as session:
                claim = query.order_by(Order.id).offset(skipped).limit(self.batch)
                if self.ctx.db.is_postgres:
                    claim = claim.with_for_update(skip_locked=True)
                orders = (await session.scalars(claim)).all()
                for order in orders:
                    try:
                        done = await step(session, order)
                    except InvalidTransition:
                        done = False  # another process or the customer got there first
                    moved += int(done)
                    skipped += int(not done)
            if len(orders) < self.batch:
                return moved

    async def expire_unpaid(self) -> int:
        """Unpaid orders past their payment deadline: expired, stock released."""
        now = self.ctx.clock.now()
        due = select(Order).where(Order.status == S.PENDING_PAYMENT, Order.payment_deadline <= now)

        async def step(session: AsyncSession, order: Order) -> bool:
            await act(session, order, "expire", actor="system:scheduler", now=now,
                      reason="payment deadline passed")
            await stock.release(session, order.id, now)
            await self._tell(session, order, "order_expired")
            return True

        return await self._run(due, step)

    async def remind_unpaid(self) -> int:
        """A reminder shortly before the payment deadline, once per order."""
        now = self.ctx.clock.now()
        due = select(Order).where(
            Order.status == S.PENDING_PAYMENT, Order.payment_reminded_at.is_(None),
            Order.payment_deadline <= now + self.ctx.rules.payment_reminder_before,
            Order.payment_deadline > now,
        )

        async def step(session: AsyncSession, order: Order) -> bool:
            if not await self._stamp(session, order, "payment_reminded_at"):
                return False
            await self._tell(session, order, "payment_reminder",
                             deadline=order.payment_deadline.isoformat() if order.payment_deadline else "")
            return True

        return await self._run(due, step)

    async def auto_complete(self) -> int:
        """Delivered orders whose receipt window has passed: completed."""
        now = self.ctx.clock.now()
        due = select(Order).where(Order.status == S.DELIVERED, Order.receipt_deadline <= now)

        async def step(session: AsyncSession, order: Order) -> bool:
            await act(session, order, "auto_complete", actor="system:scheduler", now=now,
                      reason="receipt confirmed automatically", completed_at=now)
            await self._tell(session, order, "order_completed")
            return True

        return await self._run(due, step)

    async def remind_receipt(self) -> int:
        """A day before auto-confirmation, remind the customer to confirm or complain."""
        now = self.ctx.clock.now()
        due = select(Order).where(
            Order.status == S.DELIVERED, Order.receipt_reminded_at.is_(None),
            Order.receipt_deadline <= now + self.ctx.rules.receipt_reminder_before,
            Order.receipt_deadline > now,
        )

        async def step(session: AsyncSession, order: Order) -> bool:
            if not await self._stamp(session, order, "receipt_reminded_at"):
                return False
            await self._tell(session, order, "receipt_reminder")
            return True

        return await self._run(due, step)

    async def archive_completed(self) -> int:
        """Completed orders past the settlement period: archived."""
        now = self.ctx.clock.now()
        due = select(Order).where(Order.status == S.COMPLETED,
                                  Order.completed_at <= now - self.ctx.rules.settlement_period)

        async def step(session: AsyncSession, order: Order) -> bool:
            await act(session, order, "archive", actor="system:scheduler", now=now, archived_at=now)
            return True

        return await self._run(due, step)

    async def _stamp(self, session: AsyncSession, order: Order, column: str) -> bool:
        """Set a reminder time once (compare-and-set on NULL)."""
        result = await session.execute(
            update(Order).where(Order.id == order.id, getattr(Order, column).is_(None))
            .values({column: self.ctx.clock.now()}).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def _tell(self, session: AsyncSession, order: Order, template: str, **params: Any) -> None:
        customer = await session.get(Customer, order.customer_id)
        if customer is not None:
            notifications.tell_customer(session, customer, template, self.ctx.clock.now(), order.id,
                                        order_number=order.number, **params)
