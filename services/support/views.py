"""What the support service returns: plain data, never rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Outbox templates of the "support" audience (handlers/support/relay.py delivers them).
RELAY_IN = "relay_in"  # a customer's message -> their topic
RELAY_OUT = "relay_out"  # an agent's message -> the customer
TEXT_OUT = "text_out"  # a canned reply -> the customer
EDIT = "edit"  # an edited message -> its copy
CARD = "card"  # the customer card at the top of the topic (made with the topic)
CARD_EDIT = "card_edit"  # the card shown afresh in place (the customer placed an order)
TOPIC_NOTE = "topic_note"  # the bot's line in a topic (and, for alerts, in General)
CUSTOMER_NOTE = "customer_note"  # the bot's line to the customer (joined, closed + rating)


@dataclass(frozen=True)
class OpenResult:
    """A customer's conversation: its id and whether this call opened it."""

    session_id: int
    opened: bool


@dataclass(frozen=True)
class SessionView:
    """The conversation in progress (or the latest one)."""

    id: int
    telegram_id: int
    order_id: int | None
    agent_id: int | None
    agent_name: str
    resolved: bool


@dataclass(frozen=True)
class TopicRef:
    """A customer's topic, as far as it exists."""

    telegram_id: int
    customer_id: int
    thread_id: int | None
    card_message_id: int | None
    blocked: bool


@dataclass(frozen=True)
class TakeOver:
    """Who holds a conversation after a click on Take over (`won`: this agent got it now)."""

    won: bool
    agent_id: int | None
    agent_name: str


@dataclass(frozen=True)
class OrderLineView:
    """An order on the card."""

    id: int
    number: str
    status: str
    total: int
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class CardView:
    """The customer card at the top of a topic."""

    telegram_id: int
    name: str
    username: str | None
    language: str
    phone: str | None
    orders: tuple[OrderLineView, ...]
    cart_items: int
    open_returns: int
    session: SessionView | None
    blocked: bool


@dataclass(frozen=True)
class SupportStats:
    """Figures for /stats: conversations, times to first answer and to close, ratings."""

    conversations: int
    open: int
    first_response: timedelta | None
    resolution: timedelta | None
    ratings: int
    average_rating: float | None
