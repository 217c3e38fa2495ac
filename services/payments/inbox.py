"""The payment inbox: every money event is written down before anything else can fail.

A `successful_payment` from Telegram or a provider's callback is first inserted into
`payment_inbox`, keyed by (provider, charge id), in a transaction of its own that commits at
once; only then is it applied to its order. Applying is idempotent: the row's status moves from
"received" once (compare-and-set), and the payment itself is unique by charge id, so a
redelivery, a retry or the sweep pays the order once and tells the customer once. Money that
matches no order stays in the inbox as "unmatched" and the merchant is alerted with the amount,
the currency and the charge id, to refund or assign it by hand.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import InboxStatus, Order, PaymentInboxEntry
from services import notifications
from services.context import ServiceContext
from services.payments.providers import CURRENCY, MAX_AMOUNT, PaymentEvent
from services.payments.service import PaymentOutcome, PaymentService

# A row still "received" this long after it came was left by a crash or an error: retried.
RETRY_AFTER = timedelta(seconds=60)
BATCH = 50
UNMATCHED = "unmatched"  # PaymentOutcome.status of money that matches no order


class PaymentInbox:
    """Records money events durably, then applies them to their orders exactly once."""

    def __init__(self, ctx: ServiceContext, payments: PaymentService) -> None:
        self.ctx = ctx
        self.payments = payments

    async def handle_callback(self, provider_code: str, body: bytes,
                              signature: str) -> PaymentOutcome:
        """Verify a provider's callback (PaymentError when it is not genuine), then receive it."""
        event = self.ctx.payments.get(provider_code).verify_event(body, signature)
        return await self.receive(event)

    async def receive(self, event: PaymentEvent) -> PaymentOutcome:
        """Record the event (a no-op when it is already recorded), then apply it once."""
        await self.record(event)
        return await self.apply(event.provider, event.charge_id)

    async def record(self, event: PaymentEvent) -> None:
        """Write the event down in a transaction of its own; a repeat inserts nothing."""
        insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
        stmt = insert(PaymentInboxEntry).values(
            provider=event.provider, charge_id=event.charge_id, order_ref=event.order_number,
            amount=event.amount, currency=event.currency, raw=event.raw,
            status=InboxStatus.RECEIVED, received_at=self.ctx.clock.now(),
        ).on_conflict_do_nothing(index_elements=["provider", "charge_id"])
        async with self.ctx.db.write() as session:
            await session.execute(stmt)

    async def apply(self, provider: str, charge_id: str) -> PaymentOutcome:
        """Apply a recorded event to its order once; later calls report a duplicate."""
        async with self.ctx.db.write() as session:
            entry = await session.scalar(select(PaymentInboxEntry).where(
                PaymentInboxEntry.provider == provider, PaymentInboxEntry.charge_id == charge_id))
            if entry is None:
                raise LookupError(f"no inbox row for {provider}:{charge_id}")
            order = await session.scalar(select(Order).where(Order.number == entry.order_ref))
            event = _event(entry)
            matched = order is not None and _plausible(event)
            to = InboxStatus.APPLIED if matched else InboxStatus.UNMATCHED
            if not await self._claim(session, entry, to):
                return PaymentOutcome(order.number if order else entry.order_ref,
                                      order.status if order else UNMATCHED, duplicate=True)
            if order is None or not matched:
                self._alert_unmatched(session, event)
                return PaymentOutcome(entry.order_ref, UNMATCHED)
            return await self.payments.settle(session, order, event)

    async def retry_received(self) -> int:
        """Sweep: apply events a crash or an error left recorded but not applied."""
        due = self.ctx.clock.now() - RETRY_AFTER
        async with self.ctx.db.read() as session:
            keys = (await session.execute(
                select(PaymentInboxEntry.provider, PaymentInboxEntry.charge_id)
                .where(PaymentInboxEntry.status == InboxStatus.RECEIVED,
                       PaymentInboxEntry.received_at <= due)
                .order_by(PaymentInboxEntry.id).limit(BATCH))).all()
        applied = 0
        for provider, charge_id in keys:
            applied += not (await self.apply(provider, charge_id)).duplicate
        return applied

    async def _claim(self, session: AsyncSession, entry: PaymentInboxEntry, to: str) -> bool:
        """Move the row from "received" to `to`; False when another apply got there first."""
        moved = await session.execute(
            update(PaymentInboxEntry)
            .where(PaymentInboxEntry.id == entry.id,
                   PaymentInboxEntry.status == InboxStatus.RECEIVED)
            .values(status=to, applied_at=self.ctx.clock.now())
            .execution_options(synchronize_session=False))
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def _alert_unmatched(self, session: AsyncSession, event: PaymentEvent) -> None:
        # Money as a price when it can be one; else as the provider wrote it.
        money = ({"amount": event.amount, "currency": event.currency} if _plausible(event)
                 else {"amount_text": f"{event.amount} {event.currency}"})
        notifications.tell_admins(
            session, self.ctx.rules, "alert_payment_unmatched", self.ctx.clock.now(),
            provider=event.provider, charge_id=event.charge_id, reference=event.order_number,
            **money)


def _event(entry: PaymentInboxEntry) -> PaymentEvent:
    return PaymentEvent(entry.provider, entry.charge_id, entry.order_ref, entry.amount,
                        entry.currency, entry.raw)


def _plausible(event: PaymentEvent) -> bool:
    """Values a payment row can hold: a positive amount in range and an ISO currency code."""
    return 0 < event.amount <= MAX_AMOUNT and bool(CURRENCY.fullmatch(event.currency))
