"""Support: one forum topic per customer, their conversations with agents, and message pairs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SupportTopic(Base):
    """A customer's topic in the support forum (one row per customer: the guard against two).

    `thread_id` is None until Telegram made the topic, and again once Telegram says it is gone;
    `creating_until` is the lease of the one sender making it.
    """

    __tablename__ = "support_topics"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    thread_id: Mapped[int | None] = mapped_column(index=True)
    card_message_id: Mapped[int | None]
    creating_until: Mapped[datetime | None]
    blocked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupportSession(Base):
    """One conversation from the customer's first message to an agent closing it (Chatwoot's
    open -> resolved), with who holds it, the order it is about and its times and rating."""

    __tablename__ = "support_sessions"
    __table_args__ = (Index("ix_support_sessions_waiting_since", "waiting_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    order_id: Mapped[int | None]
    agent_id: Mapped[int | None] = mapped_column(BigInteger)
    agent_name: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The oldest customer message no agent answered yet (None: nobody is waiting).
    waiting_since: Mapped[datetime | None]
    alerted_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    rating: Mapped[int | None]


class SupportLink(Base):
    """A relayed message: the original and its copy, one row each way (replies and edits)."""

    __tablename__ = "support_links"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),
                      Index("ix_support_links_album", "chat_id", "media_group_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int]
    peer_chat_id: Mapped[int] = mapped_column(BigInteger)
    peer_message_id: Mapped[int | None]  # None until the copy is sent
    telegram_id: Mapped[int] = mapped_column(BigInteger)  # the customer of the conversation
    # The album (media group) the original belongs to: its pieces are copied together.
    media_group_id: Mapped[str | None] = mapped_column(String(64))
