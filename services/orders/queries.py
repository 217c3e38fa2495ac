"""Reading orders: a customer sees only their own; the merchant sees all."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from models import CarrierEvent, Customer, Order, OrderEvent, OrderLine, Shipment
from services.errors import NotFound
from services.orders.dto import (
    EventView,
    LineView,
    OrderDetail,
    OrderSummary,
    ShipmentView,
    TrackingView,
)
from services.payments import ledger
from services.validation import identifier

LIST_SIZE = 10
# The reason of the event (out_of_stock -> out_of_stock) that records "the customer waits".
WAITS_FOR_RESTOCK = "the customer waits for the restock"


async def load_order(session: AsyncSession, order_id: int, customer_id: int | None = None) -> Order:
    """The order row; NotFound also when it belongs to another customer (no hint it exists)."""
    order = await session.get(Order, identifier(order_id, "order_id"))
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise NotFound(what="order")
    return order


async def waits_for_restock(session: AsyncSession, order_id: int) -> bool:
    """Whether the customer of this out-of-stock order chose to wait for the restock."""
    return await session.scalar(select(OrderEvent.id).where(
        OrderEvent.order_id == order_id, OrderEvent.reason == WAITS_FOR_RESTOCK,
        OrderEvent.from_status == OrderEvent.to_status).limit(1)) is not None


# The order card's statements, built once (values are bound parameters).
_LINES = select(OrderLine).where(OrderLine.order_id == bindparam("order_id")).order_by(OrderLine.id)
_EVENTS = (select(OrderEvent).where(OrderEvent.order_id == bindparam("order_id"))
           .order_by(OrderEvent.id))
_SHIPMENTS = (select(Shipment).where(Shipment.order_id == bindparam("order_id"))
              .order_by(Shipment.id))
_TRACKING = (select(CarrierEvent)
             .where(CarrierEvent.shipment_id.in_(bindparam("shipment_ids", expanding=True)))
             .order_by(CarrierEvent.occurred_at, CarrierEvent.id))
_CHAT_AND_MONEY = select(
    select(Customer.telegram_id).where(Customer.id == bindparam("customer_id")).scalar_subquery(),
    ledger.captured_of(bindparam("order_id")), ledger.refunded_of(bindparam("order_id")))


def summary(order: Order) -> OrderSummary:
    """An order as a list row."""
    return OrderSummary(order.id, order.number, order.status, order.total, order.currency,
                        order.created_at, order.customer_id, order.recipient_name, order.important)


async def detail(session: AsyncSession, order: Order) -> OrderDetail:
    """Everything about the order: lines, timeline, shipments with tracking, money."""
    ids = {"order_id": order.id}
    lines = await session.scalars(_LINES, ids)
    events = await session.scalars(_EVENTS, ids)
    shipments = (await session.scalars(_SHIPMENTS, ids)).all()
    tracking = (await session.scalars(
        _TRACKING, {"shipment_ids": [s.id for s in shipments]})).all() if shipments else []
    # The customer's chat and the money in one query (three scalar subqueries).
    telegram_id, paid, refunded = (await session.execute(
        _CHAT_AND_MONEY, {**ids, "customer_id": order.customer_id})).one()
    return OrderDetail(
        id=order.id, number=order.number, status=order.status, customer_id=order.customer_id,
        customer_telegram_id=telegram_id, channel=order.channel,
        recipient_name=order.recipient_name, phone=order.phone, region=order.region,
        city=order.city, address_line=order.address_line, postcode=order.postcode,
        delivery_option=order.delivery_option, delivery_fee=order.delivery_fee,
        subtotal=order.subtotal, total=order.total, currency=order.currency,
        payment_method=order.payment_method, important=order.important,
        created_at=order.created_at, payment_deadline=order.payment_deadline,
        receipt_deadline=order.receipt_deadline, delivered_at=order.delivered_at,
        completed_at=order.completed_at, warehouse_id=order.warehouse_id,
        paid=int(paid or 0),
        refunded=int(refunded or 0),
        lines=tuple(LineView(ln.id, ln.product_id, ln.sku, ln.name_en, ln.name_zh, ln.unit_price,
                             ln.quantity) for ln in lines),
        events=tuple(EventView(e.actor, e.from_status, e.to_status, e.reason, e.created_at)
                     for e in events),
        shipments=tuple(
            ShipmentView(s.id, s.warehouse_id, s.carrier, s.tracking_number, s.packed_at,
                         s.shipped_at, s.expected_delivery, s.delivered_at,
                         s.return_request_id is not None,
                         tuple(TrackingView(t.code, t.description, t.location, t.occurred_at)
                               for t in tracking if t.shipment_id == s.id))
            for s in shipments
        ),
        cancel_reason=order.cancel_reason,
    )


async def page_of(session: AsyncSession, where: Sequence[ColumnElement[bool]],
                  page: int) -> tuple[list[OrderSummary], int]:
    """A page of orders, newest first, and the number of pages."""
    page = max(0, min(int(page), 10_000))
    total = int(await session.scalar(select(func.count(Order.id)).where(*where)) or 0)
    rows = await session.scalars(
        select(Order).where(*where).order_by(Order.id.desc())
        .offset(page * LIST_SIZE).limit(LIST_SIZE)
    )
    return [summary(o) for o in rows], max(1, -(-total // LIST_SIZE))


_SUMMARY: tuple[QueryableAttribute[Any], ...] = (
    Order.id, Order.number, Order.status, Order.total, Order.currency, Order.created_at,
    Order.customer_id, Order.recipient_name, Order.important)
# A customer's "My orders": one page with the total count (a window function), built once.
_CUSTOMER_PAGE = (select(*_SUMMARY, func.count().over())
                  .where(Order.customer_id == bindparam("customer_id"))
                  .order_by(Order.id.desc()).offset(bindparam("offset")).limit(LIST_SIZE))


async def customer_page(session: AsyncSession, customer_id: int,
                        page: int) -> tuple[list[OrderSummary], int]:
    """A page of the customer's orders, newest first, and the number of pages: one query."""
    page = max(0, min(int(page), 10_000))
    rows = list(await session.execute(
        _CUSTOMER_PAGE, {"customer_id": customer_id, "offset": page * LIST_SIZE}))
    if not rows and page > 0:  # past the last page: an empty page, as page_of answers
        return await page_of(session, [Order.customer_id == customer_id], page)
    total = int(rows[0][-1]) if rows else 0
    return [OrderSummary(*row[:-1]) for row in rows], max(1, -(-total // LIST_SIZE))


def search_filter(text: str) -> ColumnElement[bool]:
    """Orders whose number, phone or recipient/customer name matches."""
    digits = "".join(ch for ch in text if ch.isdigit())
    like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    clauses = [Order.number == text.strip(),
               func.lower(Order.recipient_name).like(like, escape="\\")]
    if len(digits) >= 4:
        clauses.append(Order.phone.like(f"%{digits}%"))
    return or_(*clauses)
