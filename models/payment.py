"""Captured payments and refunds: the ledger from which an order's payment status is derived."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Payment(Base):
    """Money a provider confirmed; `provider_charge_id` makes every provider event count once."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_charge_id: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="captured")
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxStatus:
    """Values of PaymentInboxEntry.status."""

    RECEIVED = "received"    # recorded, not applied yet (a crash or an error in between)
    APPLIED = "applied"      # the order's payment is recorded (or the money is going back)
    UNMATCHED = "unmatched"  # no order to apply it to: the merchant was alerted


class PaymentInboxEntry(Base):
    """A money event exactly as the provider reported it, recorded before anything can fail.

    Keyed by (provider, charge id): a redelivery inserts nothing. Wide columns on purpose: the
    row must be written whatever the provider sent; applying it checks the values.
    """

    __tablename__ = "payment_inbox"
    __table_args__ = (UniqueConstraint("provider", "charge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    charge_id: Mapped[str] = mapped_column(String(128))
    order_ref: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(16))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.RECEIVED)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]


class RefundStatus:
    """Values of Refund.status."""

    PENDING = "pending"      # the intent: committed before the provider is called
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Base):
    """Money given back through the payment's provider; failed ones stay for the merchant.

    Written first as a pending intent with its idempotency key; the provider is called after
    that commit, and its answer recorded in a transaction of its own (services/payments/refunds).
    """

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    return_request_id: Mapped[int | None] = mapped_column(ForeignKey("return_requests.id"))
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    provider_refund_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The provider's idempotency key: a retried call gives the same refund, never a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # What the customer is told once the provider confirmed ("" for nothing).
    notice: Mapped[str] = mapped_column(String(32), default="")
