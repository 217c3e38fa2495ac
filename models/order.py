"""Orders, their lines (price snapshots) and the audit trail of every status change."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class OrderStatus(StrEnum):
    """The one status column of an order (see design/order-lifecycle.md)."""

    PENDING_PAYMENT = "pending_payment"
    AWAITING_REVIEW = "awaiting_review"
    AWAITING_SHIPMENT = "awaiting_shipment"
    OUT_OF_STOCK = "out_of_stock"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    ARCHIVED = "archived"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Order(Base):
    """An order with its delivery snapshot, totals and the deadlines the scheduler sweeps."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total_not_negative"),
        Index("ix_orders_status_payment_deadline", "status", "payment_deadline"),
        Index("ix_orders_status_receipt_deadline", "status", "receipt_deadline"),
        Index("ix_orders_status_completed_at", "status", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    checkout_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="bot")
    recipient_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64))
    city: Mapped[str] = mapped_column(String(64))
    address_line: Mapped[str] = mapped_column(String(256))
    postcode: Mapped[str] = mapped_column(String(16), default="")
    delivery_option: Mapped[str] = mapped_column(String(32))
    delivery_fee: Mapped[int] = mapped_column(default=0)
    subtotal: Mapped[int]
    total: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(16))
    important: Mapped[bool] = mapped_column(default=False)
    flagged: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    payment_deadline: Mapped[datetime | None]
    payment_reminded_at: Mapped[datetime | None]
    ship_by: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    receipt_deadline: Mapped[datetime | None]
    receipt_reminded_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    tracking_polled_at: Mapped[datetime | None]


class OrderLine(Base):
    """A product in an order, with the name and price it had when ordered."""

    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    name_zh: Mapped[str] = mapped_column(String(128))
    unit_price: Mapped[int]
    quantity: Mapped[int]


class OrderEvent(Base):
    """One status change of an order: who, when, from, to and why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckoutForm(Base):
    """A checkout sent as a Telegram invoice with Telegram's own form (name, phone, address,
    delivery): what it buys, until the pre-checkout query places it as the order `number`."""

    __tablename__ = "checkout_forms"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # the invoice payload
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    checkout_key: Mapped[str] = mapped_column(String(64), unique=True)
    items: Mapped[list[Any]]  # [[product id, quantity], ...] as invoiced
    from_cart: Mapped[bool] = mapped_column(default=False)  # emptied once the order is placed
    subtotal: Mapped[int]  # the goods' price on the invoice, in minor units
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
