"""Notifications written to the outbox in the caller's transaction; the sender delivers them
later."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, OutboxMessage
from services.rules import ShopRules

CUSTOMER = "customer"
ADMIN = "admin"
SUPPORT = "support"


def queue(
    session: AsyncSession,
    *,
    audience: str,
    chat_id: int,
    template: str,
    now: datetime,
    params: dict[str, Any] | None = None,
    language: str = "en",
    order_id: int | None = None,
    available_at: datetime | None = None,
) -> None:
    """Add one message to the outbox (flushed and committed with the caller's transaction),
    to be sent from `available_at` on (at once by default)."""
    session.add(
        OutboxMessage(
            audience=audience,
            chat_id=chat_id,
            template=template,
            language=language,
            params=params or {},
            order_id=order_id,
            available_at=available_at or now,
            created_at=now,
        )
    )


def tell_customer(
    session: AsyncSession,
    customer: Customer,
    template: str,
    now: datetime,
    order_id: int | None = None,
    **params: Any,
) -> None:
    """Queue a message to the customer's private chat; phone-only customers have none."""
    if customer.telegram_id is None:
        return
    queue(
        session,
        audience=CUSTOMER,
        chat_id=customer.telegram_id,
        template=template,
        now=now,
        params=params,
        language=customer.language,
        order_id=order_id,
    )


def tell_admins(
    session: AsyncSession,
    rules: ShopRules,
    template: str,
    now: datetime,
    order_id: int | None = None,
    **params: Any,
) -> None:
    """Queue an alert to the merchant's admin chat, when one is configured."""
    if rules.admin_chat_id is None:
        return
    queue(
        session,
        audience=ADMIN,
        chat_id=rules.admin_chat_id,
        template=template,
        now=now,
        params=params,
        language=rules.admin_language,
        order_id=order_id,
    )
