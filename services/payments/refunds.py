"""Refunds in three steps, so money never moves inside a write transaction.

1. The decision's transaction writes a pending `Refund` with an idempotency key (ledger.refund).
2. Once it committed (`Database.after_commit`), the provider is called with that key: no write
   lock is held while the provider answers, and a rolled-back decision never refunds.
3. The answer is recorded in a transaction of its own, once (compare-and-set on "pending"); the
   customer hears of the refund only then, in the payment's own currency.

A crash between 2 and 3 leaves the intent pending: `retry_pending` (the scheduler's money job)
calls again with the same key, and the provider answers the same refund instead of a second.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, Order, Payment, Refund, RefundStatus, ReturnRequest
from services import notifications
from services.context import ServiceContext
from services.payments.providers import RefundResult

# An intent older than this whose answer is not recorded lost its call (a crash, an error).
RETRY_AFTER = timedelta(seconds=30)
BATCH = 50


@dataclass(frozen=True)
class RefundCall:
    """What the provider is asked for one pending refund."""

    refund_id: int
    provider: str
    charge_id: str
    amount: int
    currency: str
    idempotency_key: str


class RefundService:
    """Calls the provider for pending refunds and records the answers."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def execute(self, refund_ids: Sequence[int]) -> int:
        """Call the provider for these refunds (those still pending); the number settled."""
        if not refund_ids:
            return 0
        return await self._settle_all(await self._pending(Refund.id.in_(refund_ids)))

    async def retry_pending(self) -> int:
        """Sweep: intents whose call was lost, called again with the same idempotency key."""
        due = self.ctx.clock.now() - RETRY_AFTER
        return await self._settle_all(await self._pending(Refund.created_at <= due))

    async def _settle_all(self, calls: list[RefundCall]) -> int:
        settled = 0
        for call in calls:
            provider = self.ctx.payments.get(call.provider)
            answer = await provider.refund(call.charge_id, call.amount, call.currency,
                                           call.idempotency_key)
            settled += await self._record(call, answer)
        return settled

    async def _pending(self, where: Any) -> list[RefundCall]:
        async with self.ctx.db.read() as session:
            rows = await session.execute(
                select(Refund.id, Payment.provider, Payment.provider_charge_id, Refund.amount,
                       Payment.currency, Refund.idempotency_key)
                .join(Payment, Payment.id == Refund.payment_id)
                .where(Refund.status == RefundStatus.PENDING, where)
                .order_by(Refund.id).limit(BATCH))
            return [RefundCall(refund_id, provider, charge_id, amount, currency, key or "")
                    for refund_id, provider, charge_id, amount, currency, key in rows]

    async def _record(self, call: RefundCall, answer: RefundResult) -> int:
        """The provider's answer, once: a concurrent retry that lost the race records nothing."""
        status = RefundStatus.SUCCEEDED if answer.ok else RefundStatus.FAILED
        async with self.ctx.db.write() as session:
            moved = await session.execute(
                update(Refund).where(Refund.id == call.refund_id,
                                     Refund.status == RefundStatus.PENDING)
                .values(status=status, provider_refund_id=answer.provider_refund_id)
                .execution_options(synchronize_session=False))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return 0
            refund = await session.get(Refund, call.refund_id)
            order = await session.get(Order, refund.order_id) if refund else None
            assert refund is not None and order is not None
            if answer.ok:
                await self._tell_customer(session, refund, order, call.currency)
            else:
                await self._failed(session, refund, order, call.currency, answer.error)
            return 1

    async def _tell_customer(self, session: AsyncSession, refund: Refund, order: Order,
                             currency: str) -> None:
        customer = await session.get(Customer, order.customer_id)
        if not refund.notice or customer is None:
            return
        extra = {"return_id": refund.return_request_id} if refund.return_request_id else {}
        notifications.tell_customer(session, customer, refund.notice, self.ctx.clock.now(),
                                    order.id, order_number=order.number, amount=refund.amount,
                                    currency=currency, **extra)

    async def _failed(self, session: AsyncSession, refund: Refund, order: Order, currency: str,
                      error: str) -> None:
        """The merchant refunds by hand; a return request no longer counts this money."""
        refund.reason = f"{refund.reason}: {error}"[:2000]
        notifications.tell_admins(session, self.ctx.rules, "alert_refund_failed",
                                  self.ctx.clock.now(), order.id, order_number=order.number,
                                  amount=refund.amount, currency=currency, error=error)
        request = (await session.get(ReturnRequest, refund.return_request_id)
                   if refund.return_request_id else None)
        if request is None:
            return
        left = max(0, request.refunded_amount - refund.amount)
        if left == 0 and request.status == "refunded":  # back to where the refund started
            request.status = "approved" if request.kind == "refund" else "received"
        request.refunded_amount = left
        request.updated_at = self.ctx.clock.now()
