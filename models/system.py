"""Plumbing tables: processed updates, the transactional outbox and conversation state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ProcessedUpdate(Base):
    """A Telegram update already handled, with the replies its turn made: written in the same
    transaction as the turn's effects, so a redelivered update is not applied again and its
    replies can be sent again (the process may have stopped before sending them). Kept a day
    (the scheduler's prune sweep), the window Telegram redelivers in."""

    __tablename__ = "processed_updates"
    __table_args__ = (Index("ix_processed_updates_processed_at", "processed_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)
    replies: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")


class OutboxStatus:
    """Values of OutboxMessage.status."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """A message to send later, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available_at", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    order_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ConversationState(Base):
    """Where a user is in a conversation (checkout step, drafts, page), kept across restarts."""

    __tablename__ = "conversation_state"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminCard(Base):
    """Where an order's card sits in the admin chat, so it is edited in place as the order moves."""

    __tablename__ = "admin_cards"

    order_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
