"""The order state machine: which action moves which status where, applied as compare-and-set."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from models import Order, OrderEvent
from models import OrderStatus as S
from services.errors import InvalidTransition

# action -> {from status: to status}; "pay" and "reallocate" pick their target by the review rule.
ACTIONS: dict[str, dict[S, S]] = {
    "pay": {S.PENDING_PAYMENT: S.AWAITING_REVIEW},
    "pay_without_stock": {S.PENDING_PAYMENT: S.OUT_OF_STOCK},
    "expire": {S.PENDING_PAYMENT: S.EXPIRED},
    "reallocate": {S.OUT_OF_STOCK: S.AWAITING_REVIEW},
    "confirm": {S.AWAITING_REVIEW: S.AWAITING_SHIPMENT},
    "reject": {S.AWAITING_REVIEW: S.CANCELLED},
    "customer_cancel": {
        S.PENDING_PAYMENT: S.CANCELLED,
        S.OUT_OF_STOCK: S.CANCELLED,
        S.AWAITING_REVIEW: S.CANCELLED,
        S.AWAITING_SHIPMENT: S.CANCELLED,
    },
    "merchant_cancel": {
        S.OUT_OF_STOCK: S.CANCELLED,
        S.AWAITING_REVIEW: S.CANCELLED,
        S.AWAITING_SHIPMENT: S.CANCELLED,
    },
    "ship": {S.AWAITING_SHIPMENT: S.SHIPPED},
    "deliver": {S.SHIPPED: S.DELIVERED},
    "confirm_receipt": {S.DELIVERED: S.COMPLETED},
    "auto_complete": {S.DELIVERED: S.COMPLETED},
    "archive": {S.COMPLETED: S.ARCHIVED},
}

SKIP_REVIEW = {"pay": S.AWAITING_SHIPMENT, "reallocate": S.AWAITING_SHIPMENT}

# Every (from, to) pair the design allows, including creation (from None).
ALLOWED: frozenset[tuple[S | None, S]] = frozenset(
    {(f, t) for table in ACTIONS.values() for f, t in table.items()}
    | {(S.PENDING_PAYMENT, S.AWAITING_SHIPMENT), (S.OUT_OF_STOCK, S.AWAITING_SHIPMENT)}
    | {(None, S.PENDING_PAYMENT), (None, S.AWAITING_REVIEW)}
)


def target(action: str, current: str, review_required: bool) -> S:
    """The status `action` leads to from `current`, or InvalidTransition."""
    table = ACTIONS.get(action)
    if table is None or S(current) not in table:
        raise InvalidTransition(action=action, status=current)
    if not review_required and action in SKIP_REVIEW:
        return SKIP_REVIEW[action]
    return table[S(current)]


@lru_cache(maxsize=64)
def _compare_and_set(fields: tuple[str, ...]) -> Update:
    """The guarded status UPDATE that also sets `fields`, built once per set of fields (each
    action sets the same few): the values are bound parameters named after their columns."""
    orders = Order.__table__  # Core: the caller keeps its loaded row in step (see act)
    return (update(orders)
            .where(orders.c.id == bindparam("cas_order"),
                   orders.c.status == bindparam("cas_expected"))
            .values({name: bindparam(name) for name in ("status", "updated_at", *fields)}))


async def move(
    session: AsyncSession,
    order_id: int,
    expected: str,
    to: S,
    *,
    actor: str,
    now: datetime,
    reason: str = "",
    **fields: Any,
) -> None:
    """Compare-and-set the status and write the event; a lost race is InvalidTransition."""
    if (S(expected), to) not in ALLOWED:
        raise InvalidTransition(action=to.value, status=expected)
    result = await session.execute(_compare_and_set(tuple(sorted(fields))), {
        "cas_order": order_id, "cas_expected": expected, "status": to.value, "updated_at": now,
        **fields})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = await session.scalar(select(Order.status).where(Order.id == order_id))
        raise InvalidTransition(action=to.value, status=current or "unknown")
    session.add(
        OrderEvent(
            order_id=order_id,
            actor=actor,
            from_status=expected,
            to_status=to.value,
            reason=reason,
            created_at=now,
        )
    )


async def act(
    session: AsyncSession,
    order: Order,
    action: str,
    *,
    actor: str,
    now: datetime,
    review_required: bool = True,
    reason: str = "",
    **fields: Any,
) -> S:
    """Apply a named action to a loaded order row and keep the row in step; returns the new
    status."""
    to = target(action, order.status, review_required)
    await move(session, order.id, order.status, to, actor=actor, now=now, reason=reason, **fields)
    # Keep the loaded row in step without marking it dirty (the UPDATE above already wrote it).
    set_committed_value(order, "status", to.value)
    set_committed_value(order, "updated_at", now)
    for key, value in fields.items():
        set_committed_value(order, key, value)
    return to
