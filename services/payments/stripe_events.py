"""Stripe's webhooks applied to orders: each one once, in whatever order they come.

- A paid session (`checkout.session.completed` with payment_status "paid", or
  `checkout.session.async_payment_succeeded` after an Alipay/bank wait) is a capture keyed by
  its PaymentIntent id: the payment inbox records it, then applies it once (a repeat, a retry
  or the other of the two events is a duplicate). The amount and currency are checked against
  the order there; money that cannot pay it (after the deadline, a wrong amount) is refunded
  and the merchant alerted, as with every provider.
- `checkout.session.completed` with payment_status "unpaid": an async method (Alipay) is still
  confirming; nothing changes until it succeeds or fails.
- `checkout.session.expired` / `checkout.session.async_payment_failed`: the order's one session
  can no longer take money, so a still unpaid order expires (compare-and-set on its status: a
  repeat, or one that comes after the payment, changes nothing), its stock goes back on sale
  and the customer is told.
- `charge.refunded`: the shop's own refunds are already in the ledger; when Stripe reports more
  refunded than the ledger holds (a refund made in Stripe's dashboard), the difference is
  written into the ledger as a refund that went back (keyed by the event id: once) and the
  merchant is alerted.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from models import Customer, Order, Payment, Refund, RefundStatus
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import PaymentError
from services.inventory import stock
from services.orders.lifecycle import act
from services.payments.inbox import PaymentInbox
from services.payments.stripe import StripeEvent, StripeProvider, from_stripe

log = logging.getLogger(__name__)

ENDS_SESSION = {"checkout.session.expired": "order_expired",
                "checkout.session.async_payment_failed": "stripe_payment_failed"}


@dataclass(frozen=True)
class WebhookOutcome:
    """What a webhook did: "paid", "duplicate", "refunded", "expired", "waiting", "ignored"."""

    event_id: str
    result: str
    order_number: str = ""


class StripeEvents:
    """Verifies Stripe's webhooks and applies them."""

    def __init__(self, ctx: ServiceContext, inbox: PaymentInbox) -> None:
        self.ctx = ctx
        self.inbox = inbox

    @property
    def provider(self) -> StripeProvider:
        provider = self.ctx.payments.get(StripeProvider.code)
        assert isinstance(provider, StripeProvider)
        return provider

    async def handle(self, body: bytes, signature: str) -> WebhookOutcome:
        """Verify (PaymentError when not genuine) and apply one webhook."""
        event = self.provider.parse(body, signature)
        if event.payment is not None:
            outcome = await self.inbox.receive(event.payment)
            result = ("duplicate" if outcome.duplicate else "refunded" if outcome.refunded
                      else "paid")
            return WebhookOutcome(event.id, result, outcome.order_number)
        if event.type in ENDS_SESSION:
            return await self._end(event, ENDS_SESSION[event.type])
        if event.type == "checkout.session.completed":
            return WebhookOutcome(event.id, "waiting", event.order_number)
        if event.type == "charge.refunded":
            return await self._refunded(event)
        return WebhookOutcome(event.id, "ignored", event.order_number)

    async def _end(self, event: StripeEvent, notice: str) -> WebhookOutcome:
        """The session is over unpaid: a still unpaid Stripe order expires."""
        now = self.ctx.clock.now()
        reason = "Stripe: " + ("the payment failed" if notice != "order_expired"
                               else "the payment session expired")
        async with self.ctx.db.write() as session:
            order = await session.scalar(select(Order).where(Order.number == event.order_number))
            if (order is None or order.status != S.PENDING_PAYMENT
                    or order.payment_method != StripeProvider.code):
                return WebhookOutcome(event.id, "ignored", event.order_number)
            await act(session, order, "expire", actor="provider:stripe", now=now, reason=reason)
            await stock.release(session, order.id, now)
            customer = await session.get(Customer, order.customer_id)
            if customer is not None:
                notifications.tell_customer(session, customer, notice, now, order.id,
                                            order_number=order.number)
        return WebhookOutcome(event.id, "expired", event.order_number)

    async def _refunded(self, event: StripeEvent) -> WebhookOutcome:
        """Money Stripe refunded that the shop did not ask for (a refund in Stripe's dashboard):
        written into the ledger as a refund that went back, once per event id, and the
        merchant alerted. The shop's own refunds are already there: nothing happens."""
        obj = event.data
        intent, refunded, currency = (obj.get(k) for k in ("payment_intent", "amount_refunded",
                                                            "currency"))
        if not (isinstance(intent, str) and type(refunded) is int and isinstance(currency, str)):
            raise PaymentError("malformed event: charge")
        now = self.ctx.clock.now()
        async with self.ctx.db.write() as session:
            payment = await session.scalar(select(Payment).where(
                Payment.provider == StripeProvider.code, Payment.provider_charge_id == intent)
                .with_for_update())  # PostgreSQL: one charge.refunded of a payment at a time
            if payment is None:
                return WebhookOutcome(event.id, "ignored", event.order_number)
            known = int(await session.scalar(
                select(func.coalesce(func.sum(Refund.amount), 0))
                .where(Refund.payment_id == payment.id,
                       Refund.status.in_((RefundStatus.PENDING, RefundStatus.SUCCEEDED)))) or 0)
            outside = min(from_stripe(refunded, currency), payment.amount) - known
            order = await session.get(Order, payment.order_id)
            assert order is not None
            if outside <= 0:
                return WebhookOutcome(event.id, "refund_seen", order.number)
            insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
            added = await session.scalar(insert(Refund).values(
                payment_id=payment.id, order_id=order.id, amount=outside,
                status=RefundStatus.SUCCEEDED, reason="refunded in Stripe's dashboard",
                actor="provider:stripe", created_at=now, idempotency_key=f"stripe-{event.id}"[:64],
                notice="").on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(Refund.id))
            if added is None:  # this event, recorded by a delivery at the same time
                return WebhookOutcome(event.id, "refund_seen", order.number)
            notifications.tell_admins(
                session, self.ctx.rules, "alert_stripe_refund_outside", now, order.id,
                order_number=order.number, amount=outside, currency=payment.currency,
                charge_id=intent)
        return WebhookOutcome(event.id, "refund_recorded", order.number)
