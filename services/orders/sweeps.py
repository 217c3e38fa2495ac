"""The timers of the lifecycle as idempotent sweeps: find what is due, move it with compare-and-set.

Each sweep works in batches, one transaction per batch, set-based: one guarded UPDATE moves the
whole batch (`... WHERE id IN (batch) AND status = :expected RETURNING id`), and the events,
stock releases and notifications of exactly the returned rows are written with executemany.
On PostgreSQL a batch is claimed with FOR UPDATE SKIP LOCKED so several processes share the
work; on SQLite the write lock serialises batches; on both the guarded UPDATE alone keeps every
order moved exactly once (an order another process or the customer moved first is not
returned, so it gets no event and no message). Every statement of a batch finds its rows by id
(orders) or order id (reservations), so a sweep's work grows linearly with its backlog
(tests/reliability/test_sweep_scaling.py); on PostgreSQL a long backlog refreshes the planner's
statistics first, or the plans may walk it all for every batch.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from models import (
    Customer,
    Order,
    OrderEvent,
    OutboxMessage,
    ReservationStatus,
    Stock,
    StockReservation,
)
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidTransition
from services.orders.lifecycle import ALLOWED, target

BATCH = 500
BACKLOG = 10  # batches: from this many on, PostgreSQL gets fresh statistics first (`_analyze`)


class OrderSweeps:
    """The scheduler's order timers."""

    def __init__(self, ctx: ServiceContext, batch: int = BATCH) -> None:
        self.ctx = ctx
        self.batch = batch

    async def _due(self, session: AsyncSession, where: Sequence[ColumnElement[bool]],
                   ids: list[int]) -> Sequence[Row[*tuple[Any, ...]]]:
        """The batch's orders still due (id, number, customer, deadlines), claimed on PostgreSQL.

        The batch is fetched by id in a derived table and the conditions are re-checked outside
        it: with `id IN (batch) AND <where>` in one query the planners chose the status/deadline
        index and walked the whole backlog for every batch (SQLite always, PostgreSQL with stale
        statistics). The LIMIT (the batch's own size, so it drops nothing) keeps the derived
        table from being merged into the outer query or having the conditions pushed into it.
        """
        batch = select(*_columns(where)).where(Order.id.in_(ids)).limit(len(ids))
        if self.ctx.db.is_postgres:
            # The lock goes where the orders are read (PostgreSQL pushes an outer FOR UPDATE
            # down there anyway). It also takes the batch's orders no longer due, until the
            # batch commits: whoever writes one of those waits that long; sweepers skip them.
            batch = batch.with_for_update(skip_locked=True)
        claimed = batch.subquery("batch")
        recheck = ClauseAdapter(claimed)  # orders.status -> batch.status, ...
        return (await session.execute(
            select(claimed.c.id, claimed.c.number, claimed.c.customer_id,
                   claimed.c.payment_deadline, claimed.c.receipt_deadline)
            .where(*(recheck.traverse(condition) for condition in where))
            .order_by(claimed.c.id))).all()

    async def _sweep(self, where: Sequence[ColumnElement[bool]], *, action: str | None = None,
                     stamp: str | None = None, reason: str = "", release: bool = False,
                     template: str | None = None, alert: str | None = None,
                     **fields: Any) -> int:
        """Move (or stamp) the due orders batch by batch; count the moved ones.

        The due ids are listed once (one indexed query), then each batch is claimed by id and
        re-checked: paging the due query itself re-sorts what is left for every batch, which
        grows with the square of the backlog. A long backlog on PostgreSQL is analysed first
        (`_analyze`). `action` moves the status by the lifecycle's table (compare-and-set on
        the status, an event per moved order); `stamp` sets a reminder column once
        (compare-and-set on NULL). `template` tells the customers, `alert` the merchant.
        """
        now = self.ctx.clock.now()
        async with self.ctx.db.read() as session:
            listed = list(await session.scalars(select(Order.id).where(*where).order_by(Order.id)))
        if self.ctx.db.is_postgres and len(listed) >= BACKLOG * self.batch:
            await self._analyze(release)
        moved = 0
        for start in range(0, len(listed), self.batch):
            async with self.ctx.db.write() as session:
                due = await self._due(session, where, listed[start:start + self.batch])
                ids = [row.id for row in due]
                if action is not None:
                    done = await self._move(session, ids, action, now, reason, **fields)
                else:
                    assert stamp is not None
                    done = await self._stamp(session, ids, stamp, now)
                if release and done:
                    await self._release(session, done, now)
                if template is not None and done:
                    await self._tell(session, [row for row in due if row.id in done], template, now)
                if alert is not None and done:
                    await self._alert(session, [row for row in due if row.id in done], alert, now)
                moved += len(done)
        return moved

    async def _analyze(self, release: bool) -> None:
        """Fresh planner statistics before a long backlog (PostgreSQL only).

        After a burst of new orders the statistics can still describe a nearly empty table
        (autovacuum analyses a minute or more later); planned on them, each batch's guarded
        UPDATE walked the status index over the whole backlog and the stock release scanned
        every reservation. ANALYZE samples a bounded number of rows (~0.08 s for both tables
        at 100k orders), and it blocks no reads or writes.
        """
        tables = [Order.__tablename__] + ([StockReservation.__tablename__] if release else [])
        async with self.ctx.db.write() as session:
            await session.execute(text(f"ANALYZE {', '.join(tables)}"))

    async def expire_unpaid(self) -> int:
        """Unpaid orders past their payment deadline: expired, stock released."""
        now = self.ctx.clock.now()
        return await self._sweep(
            (Order.status == S.PENDING_PAYMENT, Order.payment_deadline <= now), action="expire",
            reason="payment deadline passed", release=True, template="order_expired")

    async def remind_unpaid(self) -> int:
        """A reminder shortly before the payment deadline, once per order."""
        now = self.ctx.clock.now()
        return await self._sweep(
            (Order.status == S.PENDING_PAYMENT, Order.payment_reminded_at.is_(None),
             Order.payment_deadline <= now + self.ctx.rules.payment_reminder_before,
             Order.payment_deadline > now),
            stamp="payment_reminded_at", template="payment_reminder")

    async def auto_complete(self) -> int:
        """Delivered orders whose receipt window has passed: completed."""
        now = self.ctx.clock.now()
        return await self._sweep(
            (Order.status == S.DELIVERED, Order.receipt_deadline <= now), action="auto_complete",
            reason="receipt confirmed automatically", template="order_completed",
            alert="alert_auto_completed", completed_at=now)

    async def remind_receipt(self) -> int:
        """A day before auto-confirmation, remind the customer to confirm or complain."""
        now = self.ctx.clock.now()
        return await self._sweep(
            (Order.status == S.DELIVERED, Order.receipt_reminded_at.is_(None),
             Order.receipt_deadline <= now + self.ctx.rules.receipt_reminder_before,
             Order.receipt_deadline > now),
            stamp="receipt_reminded_at", template="receipt_reminder")

    async def archive_completed(self) -> int:
        """Completed orders past the settlement period: archived."""
        now = self.ctx.clock.now()
        return await self._sweep(
            (Order.status == S.COMPLETED,
             Order.completed_at <= now - self.ctx.rules.settlement_period),
            action="archive", archived_at=now)

    async def _move(self, session: AsyncSession, ids: list[int], action: str, now: datetime,
                    reason: str, **fields: Any) -> set[int]:
        """`lifecycle.move` for a batch: one compare-and-set UPDATE, an event per moved order."""
        if not ids:
            return set()
        expected = next(iter(_FROM[action]))
        to = target(action, expected, review_required=True)
        if (expected, to) not in ALLOWED:
            raise InvalidTransition(action=to.value, status=expected.value)
        done = set(await session.scalars(
            update(Order).where(Order.id.in_(ids), Order.status == expected)
            .values(status=to.value, updated_at=now, **fields)
            .returning(Order.id).execution_options(synchronize_session=False)))
        if done:  # one executemany (ORM objects would be flushed one INSERT each on SQLite)
            # on the table: the ORM's bulk insert re-sorts every row's values into columns
            # first; the table's column defaults apply here just the same.
            await session.execute(insert(OrderEvent.__table__), [
                {"order_id": i, "actor": "system:scheduler", "from_status": expected.value,
                 "to_status": to.value, "reason": reason, "created_at": now} for i in sorted(done)])
        return done

    async def _stamp(self, session: AsyncSession, ids: list[int], column: str,
                     now: datetime) -> set[int]:
        """Set a reminder time once (compare-and-set on NULL) on a batch."""
        if not ids:
            return set()
        return set(await session.scalars(
            update(Order).where(Order.id.in_(ids), getattr(Order, column).is_(None))
            .values({column: now}).returning(Order.id)
            .execution_options(synchronize_session=False)))

    async def _release(self, session: AsyncSession, order_ids: set[int], now: datetime) -> None:
        """`stock.release` for a batch: each active reservation flips once, its units go back."""
        # The status is compared as `status || ''` so no index serves it: on the bare column
        # SQLite walked the status index (every active reservation in the shop) for each batch
        # instead of looking the batch's few reservations up by order_id.
        flipped = (await session.execute(
            update(StockReservation)
            .where(StockReservation.order_id.in_(sorted(order_ids)),
                   StockReservation.status.concat("") == ReservationStatus.ACTIVE)
            .values(status=ReservationStatus.RELEASED, closed_at=now)
            .returning(StockReservation.product_id, StockReservation.warehouse_id,
                       StockReservation.quantity)
            .execution_options(synchronize_session=False))).all()
        units: dict[tuple[int, int], int] = {}
        for product_id, warehouse_id, quantity in flipped:
            units[(product_id, warehouse_id)] = units.get((product_id, warehouse_id), 0) + quantity
        for (product_id, warehouse_id), quantity in sorted(units.items()):  # in lock order
            await session.execute(
                update(Stock)
                .where(Stock.product_id == product_id, Stock.warehouse_id == warehouse_id)
                .values(reserved=Stock.reserved - quantity)
                .execution_options(synchronize_session=False))

    async def _tell(self, session: AsyncSession, orders: list[Row[*tuple[Any, ...]]], template: str,
                    now: datetime) -> None:
        """The customer's message for each moved order (phone-only customers have no chat)."""
        ids = sorted({row.customer_id for row in orders})
        # Just the columns the message needs: whole Customer objects cost an identity-map entry
        # (and every other column) each.
        customers = {c.id: c for c in await session.execute(
            select(Customer.id, Customer.telegram_id, Customer.language)
            .where(Customer.id.in_(ids)))}
        rows = []
        for row in orders:
            customer = customers.get(row.customer_id)
            if customer is None or customer.telegram_id is None:
                continue  # phone-only customers have no chat (as notifications.tell_customer)
            params: dict[str, Any] = {"order_number": row.number}
            # The deadline, not the time left: the message says what is left when it is sent.
            deadline = {"payment_reminder": row.payment_deadline,
                        "receipt_reminder": row.receipt_deadline}.get(template)
            if deadline is not None:
                params["deadline"] = deadline.isoformat()
            # The row notifications.queue would add, written with one executemany per batch.
            rows.append({"audience": notifications.CUSTOMER, "chat_id": customer.telegram_id,
                         "template": template, "language": customer.language, "params": params,
                         "order_id": row.id, "available_at": now, "created_at": now})
        if rows:  # on the table, as the events in `_move` (status, attempts: column defaults)
            await session.execute(insert(OutboxMessage.__table__), rows)

    async def _alert(self, session: AsyncSession, orders: list[Row[*tuple[Any, ...]]],
                     template: str, now: datetime) -> None:
        """The merchant's alert for each moved order (its card is edited), as tell_admins."""
        rules = self.ctx.rules
        if rules.admin_chat_id is None:
            return
        await session.execute(insert(OutboxMessage.__table__), [
            {"audience": notifications.ADMIN, "chat_id": rules.admin_chat_id, "template": template,
             "language": rules.admin_language, "params": {"order_number": row.number},
             "order_id": row.id, "available_at": now, "created_at": now} for row in orders])


def _columns(where: Sequence[ColumnElement[bool]]) -> list[Column[Any]]:
    """The orders columns `_due` returns, then those the conditions read (each once)."""
    keys = ["id", "number", "customer_id", "payment_deadline", "receipt_deadline"]
    for condition in where:
        for element in visitors.iterate(condition):
            if (isinstance(element, Column) and element.table is Order.__table__
                    and element.key not in keys):
                keys.append(element.key)
    return [Order.__table__.c[key] for key in keys]


# The one status each sweep's action moves orders from.
_FROM: dict[str, set[S]] = {
    "expire": {S.PENDING_PAYMENT}, "auto_complete": {S.DELIVERED}, "archive": {S.COMPLETED},
}
