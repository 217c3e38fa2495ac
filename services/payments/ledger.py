"""Money of an order, on the caller's session: what was captured, what went back, refunds."""
from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order, Payment, Refund, RefundStatus
from services.context import ServiceContext
from services.errors import RefundError
from services.payments.refunds import RefundService

# Refunds that count against what was captured: gone back, or on their way.
_COUNTED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


def captured_of(order_id: Any) -> Any:
    """A scalar subquery: the sum of captured payments of the order (to fold into a query)."""
    return (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.order_id == order_id).scalar_subquery())


def refunded_of(order_id: Any) -> Any:
    """A scalar subquery: the sum of the order's refunds that went back or are going back."""
    return (select(func.coalesce(func.sum(Refund.amount), 0))
            .where(Refund.order_id == order_id, Refund.status.in_(_COUNTED)).scalar_subquery())


async def captured(session: AsyncSession, order_id: int) -> int:
    """Sum of captured payments of the order."""
    return int(await session.scalar(select(captured_of(order_id))) or 0)


async def refunded(session: AsyncSession, order_id: int) -> int:
    """Sum of the order's refunds, succeeded or still pending at the provider."""
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
    notice: str = "order_refunded",
) -> int:
    """Decide a refund of `amount` (None: all that is left) across the order's payments;
    returns the sum put on its way.

    Refunds never exceed what was captured. Each part is a pending intent with an idempotency
    key, committed with the caller's transaction; the provider is called after that commit
    (services/payments/refunds.py), which tells the customer `notice` ("" for nothing) or, when
    the provider refuses, alerts the merchant.
    """
    left = await captured(session, order.id) - await refunded(session, order.id)
    amount = left if amount is None else amount
    if amount < 0 or amount > left:
        raise RefundError(amount=amount, refundable=left)
    intents: list[Refund] = []
    query = select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
    if payment_id is not None:
        query = query.where(Payment.id == payment_id)
    for payment in (await session.scalars(query)).all():
        done = sum(r.amount for r in intents)
        if done >= amount:
            break
        already = int(await session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0))
            .where(Refund.payment_id == payment.id, Refund.status.in_(_COUNTED))) or 0)
        part = min(payment.amount - already, amount - done)
        if part > 0:
            intents.append(Refund(
                payment_id=payment.id, order_id=order.id, return_request_id=return_request_id,
                amount=part, status=RefundStatus.PENDING, reason=reason, actor=actor,
                created_at=ctx.clock.now(), idempotency_key=f"refund-{uuid.uuid4().hex}",
                notice=notice))
    if not intents:
        return 0
    session.add_all(intents)
    await session.flush()
    ids = [r.id for r in intents]
    await ctx.db.after_commit(partial(RefundService(ctx).execute, ids))
    return sum(r.amount for r in intents)
