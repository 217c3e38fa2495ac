"""Order actions of customers and merchants; each is one transaction and one compare-and-set."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Customer,
    Order,
    OrderEvent,
    OrderStatus,
    Shipment,
    ShipmentLine,
    StockReservation,
)
from models import OrderStatus as S
from models import ReservationStatus as R
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidInput, InvalidTransition, NotFound
from services.inventory import stock
from services.orders import queries
from services.orders.dto import OrderDetail, OrderSummary, ShipmentView, Transitioned
from services.orders.lifecycle import act
from services.payments import ledger
from services.validation import clean_text


class OrderService:
    """What customers and merchants do to orders."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # reading -----------------------------------------------------------------------------
    async def detail(self, order_id: int, customer_id: int | None = None) -> OrderDetail:
        """One order; a customer asking for another's order gets NotFound."""
        async with self.ctx.db.read() as session:
            order = await queries.load_order(session, order_id, customer_id)
            return await queries.detail(session, order)

    async def by_number(self, number: str, customer_id: int | None = None) -> OrderDetail:
        """One order by its number."""
        text = clean_text(number, "order_number", max_len=20)
        async with self.ctx.db.read() as session:
            order_id = await session.scalar(select(Order.id).where(Order.number == text))
            if order_id is None:
                raise NotFound(what="order")
            order = await queries.load_order(session, order_id, customer_id)
            return await queries.detail(session, order)

    async def for_customer(self, customer_id: int, page: int = 0) -> tuple[list[OrderSummary], int]:
        """The customer's orders, newest first."""
        async with self.ctx.db.read() as session:
            return await queries.customer_page(session, customer_id, page)

    async def listing(self, status: str | None = None,
                      page: int = 0) -> tuple[list[OrderSummary], int]:
        """The merchant's order list, optionally of one status."""
        if status is not None and status not in {s.value for s in OrderStatus}:
            raise InvalidInput(field="status", reason="unknown")
        async with self.ctx.db.read() as session:
            where = [Order.status == status] if status else []
            return await queries.page_of(session, where, page)

    async def find(self, text: str) -> list[OrderSummary]:
        """Orders matching a number, phone or name."""
        query = clean_text(text, "query", max_len=64)
        async with self.ctx.db.read() as session:
            rows, _ = await queries.page_of(session, [queries.search_filter(query)], 0)
            return rows

    # transitions -------------------------------------------------------------------------
    async def cancel_by_customer(self, customer_id: int, order_id: int,
                                 reason: str = "") -> Transitioned:
        """The customer cancels (not once shipped); stock released, money refunded."""
        return await self._cancel(order_id, "customer_cancel", f"customer:{customer_id}",
                                  reason, customer_id)

    async def cancel_by_merchant(self, order_id: int, actor: str, reason: str) -> Transitioned:
        """The merchant cancels a paid order before shipping, with a reason the customer sees."""
        return await self._cancel(order_id, "merchant_cancel", actor, reason, None)

    async def reject(self, order_id: int, actor: str, reason: str) -> Transitioned:
        """The merchant's review refuses the order."""
        return await self._cancel(order_id, "reject", actor, reason, None)

    async def _cancel(self, order_id: int, action: str, actor: str, reason: str,
                      customer_id: int | None) -> Transitioned:
        why = clean_text(reason, "reason", max_len=500, min_len=0)
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id, customer_id)
            before, now = order.status, self.ctx.clock.now()
            await act(session, order, action, actor=actor, now=now, reason=why, cancel_reason=why)
            await stock.release(session, order.id, now)
            await ledger.refund(session, self.ctx, order, None, reason="order cancelled",
                                actor=actor)
            await self._tell(session, order, "order_cancelled", reason=why)
            notifications.tell_admins(session, self.ctx.rules, "alert_order_cancelled", now,
                                      order.id, order_number=order.number, reason=why, actor=actor)
            return Transitioned(order.id, order.number, before, order.status)

    async def confirm(self, order_id: int, actor: str) -> Transitioned:
        """The merchant's review accepts the order: it waits for shipment."""
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id)
            before = order.status
            await act(session, order, "confirm", actor=actor, now=self.ctx.clock.now())
            await self._tell(session, order, "order_confirmed")
            return Transitioned(order.id, order.number, before, order.status)

    async def pack(self, order_id: int, actor: str) -> list[ShipmentView]:
        """Pack the order: one shipment per warehouse its stock is reserved in."""
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id)
            if order.status != S.AWAITING_SHIPMENT:
                raise InvalidTransition(action="pack", status=order.status)
            await self._ensure_shipments(session, order)
            return list((await queries.detail(session, order)).shipments)

    async def _ensure_shipments(self, session: AsyncSession, order: Order) -> list[Shipment]:
        existing = (await session.scalars(select(Shipment).where(
            Shipment.order_id == order.id, Shipment.return_request_id.is_(None)))).all()
        if existing:
            return list(existing)
        now = self.ctx.clock.now()
        held = (await session.scalars(select(StockReservation).where(
            StockReservation.order_id == order.id, StockReservation.status == R.ACTIVE)
            .order_by(StockReservation.warehouse_id, StockReservation.id))).all()
        if not held:
            raise InvalidTransition(action="pack", status="no_stock_reserved")
        shipments: dict[int, Shipment] = {}
        for r in held:
            if r.warehouse_id not in shipments:
                shipments[r.warehouse_id] = Shipment(order_id=order.id, warehouse_id=r.warehouse_id,
                                                     packed_at=now, created_at=now)
                session.add(shipments[r.warehouse_id])
                await session.flush()
            session.add(ShipmentLine(shipment_id=shipments[r.warehouse_id].id,
                                     order_line_id=r.order_line_id, quantity=r.quantity))
        return list(shipments.values())

    async def ship(self, order_id: int, actor: str, carrier_code: str,
                   tracking_number: str) -> Transitioned:
        """Hand the parcels to a carrier with a tracking number; the customer is told."""
        carrier = self.ctx.carriers.get(carrier_code)
        tracking = carrier.validate_tracking_number(tracking_number)
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id)
            before, now = order.status, self.ctx.clock.now()
            await act(session, order, "ship", actor=actor, now=now, shipped_at=now)
            shipments = await self._ensure_shipments(session, order)
            for i, shipment in enumerate(shipments):
                shipment.carrier = carrier.code
                shipment.tracking_number = tracking if i == 0 else f"{tracking}-{i + 1}"
                shipment.shipped_at = now
                shipment.packed_at = shipment.packed_at or now
                shipment.expected_delivery = carrier.expected_delivery(now)
            await stock.commit(session, order.id, now)
            await self._tell(session, order, "order_shipped", carrier=carrier.code,
                             tracking_number=tracking,
                             expected=shipments[0].expected_delivery.isoformat()
                             if shipments[0].expected_delivery else "")
            return Transitioned(order.id, order.number, before, order.status)

    async def mark_delivered(self, order_id: int, actor: str) -> Transitioned:
        """The parcel arrived: the receipt window starts; cash on delivery is captured."""
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id)
            return await deliver(session, self.ctx, order, actor)

    async def confirm_receipt(self, customer_id: int, order_id: int) -> Transitioned:
        """The customer confirms they received the goods."""
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id, customer_id)
            before, now = order.status, self.ctx.clock.now()
            await act(session, order, "confirm_receipt", actor=f"customer:{customer_id}", now=now,
                      completed_at=now)
            await self._tell(session, order, "order_completed")
            notifications.tell_admins(session, self.ctx.rules, "alert_receipt_confirmed", now,
                                      order.id, order_number=order.number)
            return Transitioned(order.id, order.number, before, order.status)

    async def wait_for_restock(self, customer_id: int, order_id: int) -> Transitioned:
        """The customer of an out-of-stock order waits for the restock: recorded and told to
        the merchant once (the status stays; the restock sweep moves the order on)."""
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id, customer_id)
            if self.ctx.db.is_postgres:  # two presses at once: one records it
                await session.execute(
                    select(Order.id).where(Order.id == order.id).with_for_update())
            if order.status != S.OUT_OF_STOCK:
                raise InvalidTransition(action="wait", status=order.status)
            if not await queries.waits_for_restock(session, order.id):
                now = self.ctx.clock.now()
                session.add(OrderEvent(order_id=order.id, actor=f"customer:{customer_id}",
                                       from_status=order.status, to_status=order.status,
                                       reason=queries.WAITS_FOR_RESTOCK, created_at=now))
                notifications.tell_admins(session, self.ctx.rules, "alert_customer_waits", now,
                                          order.id, order_number=order.number)
            return Transitioned(order.id, order.number, order.status, order.status)

    async def _tell(self, session: AsyncSession, order: Order, template: str,
                    **params: object) -> None:
        customer = await session.get(Customer, order.customer_id)
        if customer is not None:
            notifications.tell_customer(session, customer, template, self.ctx.clock.now(), order.id,
                                        order_number=order.number, **params)


async def deliver(session: AsyncSession, ctx: ServiceContext, order: Order,
                  actor: str) -> Transitioned:
    """Move a shipped order to delivered inside the caller's transaction."""
    from services.payments.service import PaymentService

    before, now = order.status, ctx.clock.now()
    await act(session, order, "deliver", actor=actor, now=now, delivered_at=now,
              receipt_deadline=now + ctx.rules.auto_confirm_after)
    for shipment in (await session.scalars(select(Shipment).where(
            Shipment.order_id == order.id, Shipment.delivered_at.is_(None)))).all():
        shipment.delivered_at = now
    if order.payment_method == "cod":
        await PaymentService(ctx).record_cash(session, order)
    customer = await session.get(Customer, order.customer_id)
    if customer is not None:
        notifications.tell_customer(session, customer, "order_delivered", now, order.id,
                                    order_number=order.number,
                                    confirm_by=order.receipt_deadline.isoformat()
                                    if order.receipt_deadline else "")
    if not actor.startswith("admin:"):  # a merchant who pressed Delivered sees their card
        notifications.tell_admins(session, ctx.rules, "alert_delivered", now, order.id,
                                  order_number=order.number, actor=actor)
    return Transitioned(order.id, order.number, before, order.status)
