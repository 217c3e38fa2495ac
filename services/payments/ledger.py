"""Money of an order, on the caller's session: what was captured, what went back, refunds."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, Order, Payment, Refund
from services import notifications
from services.context import ServiceContext
from services.errors import RefundError


def captured_of(order_id: Any) -> Any:
    """A scalar subquery: the sum of captured payments of the order (to fold into a query)."""
    return (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.order_id == order_id).scalar_subquery())


def refunded_of(order_id: Any) -> Any:
    """A scalar subquery: the sum of succeeded refunds of the order."""
    return (select(func.coalesce(func.sum(Refund.amount), 0))
            .where(Refund.order_id == order_id, Refund.status == "succeeded").scalar_subquery())


async def captured(session: AsyncSession, order_id: int) -> int:
    """Sum of captured payments of the order."""
    return int(await session.scalar(select(captured_of(order_id))) or 0)


async def refunded(session: AsyncSession, order_id: int) -> int:
    """Sum of succeeded refunds of the order."""
    return int(await session.scalar(select(refunded_of(order_id))) or 0)


async def refund(
    session: AsyncSession,
    ctx: ServiceContext,
    order: Order,
    amount: int | None,
    *,
    reason: str,
    actor: str,
    return_request_id: int | None = None,
    payment_id: int | None = None,
    notify: bool = True,
) -> int:
    """Refund `amount` (None: all that is left) across the order's payments; returns the sum
    refunded.

    Refunds never exceed what was captured. A provider's refusal is recorded as a failed refund
    and the merchant is alerted; it does not undo the caller's transition.
    """
    left = await captured(session, order.id) - await refunded(session, order.id)
    amount = left if amount is None else amount
    if amount < 0 or amount > left:
        raise RefundError(amount=amount, refundable=left)
    done = 0
    query = select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
    if payment_id is not None:
        query = query.where(Payment.id == payment_id)
    payments = (await session.scalars(query)).all()
    for payment in payments:
        if done >= amount:
            break
        already = int(
            await session.scalar(
                select(func.coalesce(func.sum(Refund.amount), 0)).where(
                    Refund.payment_id == payment.id, Refund.status == "succeeded"
                )
            )
            or 0
        )
        part = min(payment.amount - already, amount - done)
        if part <= 0:
            continue
        result = await ctx.payments.get(payment.provider).refund(
            payment.provider_charge_id, part, payment.currency
        )
        session.add(
            Refund(
                payment_id=payment.id,
                order_id=order.id,
                return_request_id=return_request_id,
                amount=part,
                status="succeeded" if result.ok else "failed",
                provider_refund_id=result.provider_refund_id,
                reason=reason if result.ok else f"{reason}: {result.error}",
                actor=actor,
                created_at=ctx.clock.now(),
            )
        )
        if result.ok:
            done += part
        else:
            notifications.tell_admins(
                session, ctx.rules, "alert_refund_failed", ctx.clock.now(), order.id,
                order_number=order.number, amount=part, error=result.error,
            )
    if done and notify:
        customer = await session.get(Customer, order.customer_id)
        if customer is not None:
            notifications.tell_customer(
                session, customer, "order_refunded", ctx.clock.now(), order.id,
                order_number=order.number, amount=done, currency=order.currency,
            )
    return done
