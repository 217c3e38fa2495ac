"""Shipments from a warehouse, their lines and the carrier's tracking events."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Shipment(Base):
    """A parcel: packed, shipped and delivered times tell its progress."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    return_request_id: Mapped[int | None] = mapped_column(ForeignKey("return_requests.id"))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    expected_delivery: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]


class ShipmentLine(Base):
    """How many units of an order line travel in a shipment."""

    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int]


class CarrierEvent(Base):
    """A tracking event reported by the carrier; the unique key makes polling idempotent."""

    __tablename__ = "carrier_events"
    __table_args__ = (UniqueConstraint("shipment_id", "code", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(128), default="")
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
