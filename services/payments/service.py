"""Payment links and provider events: each charge counts once, late or extra money goes back."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, Order, Payment
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidTransition, NotFound
from services.inventory import stock
from services.orders.lifecycle import act
from services.payments import ledger
from services.payments.providers import PaymentEvent, PaymentRequest

# Statements of every payment, built once (values are bound parameters).
_BY_NUMBER = select(Order).where(Order.number == bindparam("number"))
# A capture recorded once per provider charge id: a repeat inserts nothing and returns no id.
_RECORD_PG, _RECORD_SQLITE = (
    insert(Payment).on_conflict_do_nothing(index_elements=["provider_charge_id"]).returning(Payment.id)
    for insert in (postgresql.insert, sqlite.insert))


@dataclass(frozen=True)
class PaymentOutcome:
    """What applying a provider event did."""

    order_number: str
    status: str
    duplicate: bool = False
    refunded: int = 0


class PaymentService:
    """Creates payment links and applies verified provider events."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def payment_link(self, customer_id: int, order_id: int) -> str:
        """The link where the customer pays their unpaid order."""
        async with self.ctx.db.read() as session:
            order = await session.get(Order, order_id)
            if order is None or order.customer_id != customer_id:
                raise NotFound(what="order")
            if order.status != S.PENDING_PAYMENT:
                raise InvalidTransition(action="pay", status=order.status)
            provider = self.ctx.payments.get(order.payment_method)
            return provider.create_link(
                PaymentRequest(order.id, order.number, order.total, order.currency,
                               f"Order {order.number}")
            )

    async def precheck(self, customer_id: int, order_number: str, amount: int, currency: str,
                       provider: str = "telegram") -> str | None:
        """Why an in-chat payment must be refused now (an error key), or None when it may go ahead.

        Read-only and quick: Telegram waits at most 10 seconds for the pre-checkout answer.
        """
        if not isinstance(order_number, str) or not 0 < len(order_number) <= 64:
            return "not_found"
        async with self.ctx.db.read() as session:
            order = await session.scalar(_BY_NUMBER, {"number": order_number})
            if order is None or order.customer_id != customer_id:
                return "not_found"
            deadline = order.payment_deadline
            if order.status == S.EXPIRED or (
                order.status == S.PENDING_PAYMENT and deadline is not None
                and deadline <= self.ctx.clock.now()
            ):
                return "expired"
            if order.status != S.PENDING_PAYMENT or order.payment_method != provider:
                return "not_payable"
            if amount != order.total or str(currency).upper() != order.currency.upper():
                return "amount"
            if not await stock.fully_reserved(session, order.id):
                return "out_of_stock"
        return None

    async def settle(self, session: AsyncSession, order: Order,
                     event: PaymentEvent) -> PaymentOutcome:
        """Apply a verified capture to its order once, on the caller's session (the payment
        inbox's): a repeat of the same charge id changes nothing."""
        payment_id = await self._record(session, order, event)
        if payment_id is None:
            return PaymentOutcome(order.number, order.status, duplicate=True)
        return await self._settle(session, order, event, payment_id)

    async def _record(self, session: AsyncSession, order: Order, event: PaymentEvent) -> int | None:
        """Insert the payment; None when this charge id was already recorded."""
        stmt = _RECORD_PG if self.ctx.db.is_postgres else _RECORD_SQLITE
        return await session.scalar(stmt, {
            "order_id": order.id, "provider": event.provider, "provider_charge_id": event.charge_id,
            "amount": event.amount, "currency": event.currency, "status": "captured",
            "raw": event.raw, "created_at": self.ctx.clock.now()})

    async def _settle(
        self, session: AsyncSession, order: Order, event: PaymentEvent, payment_id: int
    ) -> PaymentOutcome:
        now, rules = self.ctx.clock.now(), self.ctx.rules
        actor = f"provider:{event.provider}"
        problem = self._problem(order, event)
        if problem:
            back = await ledger.refund(session, self.ctx, order, event.amount, reason=problem,
                                      actor=actor, payment_id=payment_id)
            notifications.tell_admins(session, rules, "alert_payment_problem", now, order.id,
                                      order_number=order.number, problem=problem, refunded=back,
                                      currency=event.currency)
            return PaymentOutcome(order.number, order.status, refunded=back)
        customer = await session.get(Customer, order.customer_id)
        assert customer is not None
        if await stock.fully_reserved(session, order.id):
            to = await act(session, order, "pay", actor=actor, now=now,
                           review_required=rules.review_required, payment_deadline=None)
            notifications.tell_customer(session, customer, "order_paid", now, order.id,
                                        order_number=order.number, amount=event.amount,
                                        currency=event.currency)
            notifications.tell_admins(session, rules, "alert_order_paid", now, order.id,
                                      order_number=order.number, amount=event.amount,
                                      currency=event.currency)
        else:
            to = await act(session, order, "pay_without_stock", actor=actor, now=now,
                           payment_deadline=None)
            await stock.release(session, order.id, now)
            notifications.tell_customer(session, customer, "order_out_of_stock", now, order.id,
                                        order_number=order.number)
            notifications.tell_admins(session, rules, "alert_out_of_stock", now, order.id,
                                      order_number=order.number)
        return PaymentOutcome(order.number, to.value)

    @staticmethod
    def _problem(order: Order, event: PaymentEvent) -> str:
        """Why this money cannot be kept, or "" when it pays the order."""
        if order.status != S.PENDING_PAYMENT:
            return "late_payment" if order.status in (S.EXPIRED, S.CANCELLED) else "double_payment"
        if event.amount != order.total or event.currency.upper() != order.currency.upper():
            return "amount_mismatch"
        if event.provider != order.payment_method:
            return "wrong_provider"
        return ""

    async def record_cash(self, session: AsyncSession, order: Order) -> None:
        """Cash handed to the courier on delivery: captured once per order."""
        event = PaymentEvent("cod", f"cod-{order.number}", order.number, order.total,
                             order.currency)
        await self._record(session, order, event)
