"""Plain data the order services return (never ORM rows)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class LineView:
    """An order line as ordered."""

    id: int
    product_id: int
    sku: str
    name_en: str
    name_zh: str
    unit_price: int
    quantity: int

    @property
    def total(self) -> int:
        """unit_price x quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class EventView:
    """One entry of the order's timeline."""

    actor: str
    from_status: str | None
    to_status: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TrackingView:
    """A carrier event of a shipment."""

    code: str
    description: str
    location: str
    at: datetime


@dataclass(frozen=True)
class ShipmentView:
    """A parcel and its progress."""

    id: int
    warehouse_id: int
    carrier: str | None
    tracking_number: str | None
    packed_at: datetime | None
    shipped_at: datetime | None
    expected_delivery: datetime | None
    delivered_at: datetime | None
    is_replacement: bool
    events: tuple[TrackingView, ...] = ()


@dataclass(frozen=True)
class OrderSummary:
    """A row of an order list."""

    id: int
    number: str
    status: str
    total: int
    currency: str
    created_at: datetime
    customer_id: int
    recipient_name: str
    important: bool


@dataclass(frozen=True)
class OrderDetail:
    """Everything about one order that a customer or merchant may see."""

    id: int
    number: str
    status: str
    customer_id: int
    customer_telegram_id: int | None
    channel: str
    recipient_name: str
    phone: str
    region: str
    city: str
    address_line: str
    postcode: str
    delivery_option: str
    delivery_fee: int
    subtotal: int
    total: int
    currency: str
    payment_method: str
    important: bool
    created_at: datetime
    payment_deadline: datetime | None
    receipt_deadline: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    warehouse_id: int | None
    paid: int
    refunded: int
    lines: tuple[LineView, ...]
    events: tuple[EventView, ...]
    shipments: tuple[ShipmentView, ...] = field(default=())
    cancel_reason: str | None = None

    @property
    def changes(self) -> tuple[EventView, ...]:
        """The timeline's status changes (an event that keeps the status records a choice)."""
        return tuple(e for e in self.events if e.from_status != e.to_status)

    @property
    def waits_for_restock(self) -> bool:
        """Out of stock, and the customer chose to wait for the restock."""
        return self.status == "out_of_stock" and any(
            e.from_status == e.to_status == "out_of_stock" for e in self.events)


@dataclass(frozen=True)
class PlacedOrder:
    """The answer to a checkout: the order, and whether this call created it."""

    id: int
    number: str
    status: str
    total: int
    currency: str
    payment_method: str
    payment_deadline: datetime | None
    created: bool


@dataclass(frozen=True)
class Transitioned:
    """The result of an order action."""

    order_id: int
    number: str
    from_status: str
    to_status: str
