"""After-sales: return, exchange and refund requests, each step a compare-and-set on its status.

requested -> approved | rejected; approved -> received (return, exchange) or refunded (refund);
received -> refunded | replaced (exchange); refunded | replaced | rejected -> closed.
A refunded request may be refunded again (a partial refund topped up) until it is closed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Customer,
    Order,
    OrderLine,
    ReservationStatus,
    ReturnLine,
    ReturnRequest,
    Shipment,
    ShipmentLine,
    Stock,
    StockReservation,
    Warehouse,
)
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidInput, InvalidTransition, NotFound, OutOfStock, WindowClosed
from services.inventory import stock
from services.orders.queries import load_order
from services.payments import ledger
from services.validation import MAX_ID, clean_text, identifier, quantity

KINDS = ("return", "exchange", "refund")
RETURNABLE = (S.DELIVERED, S.COMPLETED, S.ARCHIVED)
MAX_PHOTOS, MAX_PHOTO_REF, MAX_REASON, MAX_LINES = 5, 256, 1000, 100
# action -> {from status: to status}, and the kinds the action applies to.
FLOW: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "approve": ({"requested": "approved"}, KINDS),
    "reject": ({"requested": "rejected"}, KINDS),
    "receive": ({"approved": "received"}, ("return", "exchange")),
    "refund_goods": ({"received": "refunded", "refunded": "refunded"}, ("return", "exchange")),
    "refund_only": ({"approved": "refunded", "refunded": "refunded"}, ("refund",)),
    "ship_replacement": ({"received": "replaced"}, ("exchange",)),
    "close": ({"refunded": "closed", "replaced": "closed", "rejected": "closed"}, KINDS),
}


@dataclass(frozen=True)
class ReturnLineView:
    """Units of one order line in a request."""

    order_line_id: int
    product_id: int
    sku: str
    name_en: str
    name_zh: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class ReturnView:
    """An after-sales request as the customer and the merchant see it."""

    id: int
    order_id: int
    order_number: str
    customer_id: int
    kind: str
    status: str
    reason: str
    photos: tuple[str, ...]
    merchant_note: str | None
    restocked: bool | None
    refunded_amount: int
    satisfied: bool | None
    created_at: datetime
    updated_at: datetime
    lines: tuple[ReturnLineView, ...]
    refundable: int = 0  # what is left to refund on the order (nothing more can go back)

    @property
    def value(self) -> int:
        """What the returned units cost the customer."""
        return sum(line.unit_price * line.quantity for line in self.lines)


def _target(action: str, request: ReturnRequest) -> str:
    """The status `action` leads to from the request's status, or InvalidTransition."""
    table, kinds = FLOW[action]
    if request.kind not in kinds or request.status not in table:
        raise InvalidTransition(action=action, status=request.status)
    return table[request.status]


def _was_rejected(request: ReturnRequest) -> bool:
    """Rejected, also once closed."""
    return request.rejected_at is not None


# A customer's order card lists its requests on every view: built once.
_OF_ORDER = (select(ReturnRequest).where(ReturnRequest.order_id == bindparam("order_id"))
             .order_by(ReturnRequest.id))


class ReturnService:
    """What customers and merchants do after delivery."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # customer ----------------------------------------------------------------------------
    async def request(self, customer_id: int, order_id: int, kind: str, reason: str,
                      lines: list[tuple[int, int]], photos: list[str] | None = None) -> ReturnView:
        """Ask for a return, an exchange or a refund within the window after delivery."""
        if kind not in KINDS:
            raise InvalidInput(field="kind", reason="unknown")
        why = clean_text(reason, "reason", max_len=MAX_REASON)
        refs = self._photos(photos or [])
        wanted = self._lines(lines, goods_required=kind != "refund")
        async with self.ctx.db.write() as session:
            order = await load_order(session, order_id, customer_id)
            await self._lock(session, order.id)
            self._check_window(order)
            await self._check_quantities(session, order.id, wanted)
            now = self.ctx.clock.now()
            request = ReturnRequest(order_id=order.id, customer_id=order.customer_id, kind=kind,
                                    status="requested", reason=why, photos=refs, created_at=now,
                                    updated_at=now)
            session.add(request)
            await session.flush()
            session.add_all(ReturnLine(return_request_id=request.id, order_line_id=line_id,
                                       quantity=qty) for line_id, qty in sorted(wanted.items()))
            notifications.tell_admins(session, self.ctx.rules, "return_requested", now, order.id,
                                      order_number=order.number, return_id=request.id, kind=kind,
                                      reason=why)
            if refs:  # sent after the card, as an album replying to it
                notifications.tell_admins(session, self.ctx.rules, "return_photos", now, order.id,
                                          order_number=order.number, return_id=request.id,
                                          photos=refs)
            # The order's own card lists its requests: it is edited too.
            notifications.tell_admins(session, self.ctx.rules, "alert_return_on_order", now,
                                      order.id, order_number=order.number, kind=kind,
                                      request_id=request.id)
            return await self._view(session, request)

    @staticmethod
    def _photos(photos: list[str]) -> list[str]:
        if not isinstance(photos, list) or len(photos) > MAX_PHOTOS:
            raise InvalidInput(field="photos", reason="too_many", max=MAX_PHOTOS)
        return [clean_text(p, "photos", max_len=MAX_PHOTO_REF) for p in photos]

    @staticmethod
    def _lines(lines: list[tuple[int, int]], goods_required: bool) -> dict[int, int]:
        """Quantities per order line (repeats added up); empty only for a refund."""
        if not isinstance(lines, list) or len(lines) > MAX_LINES:
            raise InvalidInput(field="lines", reason="too_many", max=MAX_LINES)
        if goods_required and not lines:
            raise InvalidInput(field="lines", reason="empty")
        wanted: dict[int, int] = defaultdict(int)
        for item in lines:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise InvalidInput(field="lines", reason="malformed")
            wanted[identifier(item[0], "order_line_id")] += quantity(item[1], maximum=MAX_ID)
        return dict(wanted)

    async def _lock(self, session: AsyncSession, order_id: int) -> None:
        """Serialise requests of one order (SQLite's write lock already does)."""
        if self.ctx.db.is_postgres:
            await session.execute(select(Order.id).where(Order.id == order_id).with_for_update())

    def _check_window(self, order: Order) -> None:
        if order.status not in RETURNABLE or order.delivered_at is None:
            raise InvalidTransition(action="return", status=order.status)
        if self.ctx.clock.now() > order.delivered_at + self.ctx.rules.return_window:
            raise WindowClosed(order_number=order.number)

    async def _check_quantities(self, session: AsyncSession, order_id: int,
                                wanted: dict[int, int]) -> None:
        """Every line is the order's; no line returned beyond what was delivered."""
        left = await self._left(session, order_id)
        if any(line_id not in left for line_id in wanted):
            raise InvalidInput(field="order_line_id", reason="not_in_order")
        for line_id, qty in wanted.items():
            if qty > left[line_id]:
                raise InvalidInput(field="quantity", reason="more_than_delivered",
                                   max=left[line_id])

    @staticmethod
    async def _left(session: AsyncSession, order_id: int) -> dict[int, int]:
        """Units of each order line that may still go back: delivered, less those asked for
        (or returned) by requests that were not rejected."""
        left = dict((await session.execute(select(OrderLine.id, OrderLine.quantity)
                                           .where(OrderLine.order_id == order_id))).all())
        earlier = await session.execute(
            select(ReturnRequest, ReturnLine.order_line_id, ReturnLine.quantity)
            .join(ReturnLine, ReturnLine.return_request_id == ReturnRequest.id)
            .where(ReturnRequest.order_id == order_id))
        for request, line_id, qty in earlier:
            if not _was_rejected(request) and line_id in left:
                left[line_id] -= qty
        return {line_id: max(0, qty) for line_id, qty in left.items()}

    async def left_to_return(self, order_id: int, customer_id: int | None = None) -> dict[int, int]:
        """Units per order line that may still be asked for; another customer's is NotFound."""
        async with self.ctx.db.read() as session:
            order = await load_order(session, order_id, customer_id)
            return await self._left(session, order.id)

    # merchant ----------------------------------------------------------------------------
    async def approve(self, return_id: int, actor: str) -> ReturnView:
        """Accept the request; the customer is told, and for goods to send back, where to."""
        async with self.ctx.db.write() as session:
            request = await self._load(session, return_id)
            await self._move(session, request, "approve", approved_at=self.ctx.clock.now())
            if request.kind == "refund":  # money only: nothing to send back
                await self._tell(session, request, "return_approved")
            elif where := await self._send_back_to(session, request):
                await self._tell(session, request, "return_approved_send", **where)
            else:
                await self._tell(session, request, "return_approved_goods")
            return await self._view(session, request)

    async def _send_back_to(self, session: AsyncSession, request: ReturnRequest) -> dict[str, str]:
        """The return addresses of the warehouses the request's goods left (both languages),
        or nothing when the shop has not set them."""
        try:
            warehouse_ids = sorted({unit[4] for unit in await self._units(session, request)})
        except InvalidTransition:  # never shipped from a known warehouse
            return {}
        codes = (await session.scalars(select(Warehouse.code).where(
            Warehouse.id.in_(warehouse_ids)).order_by(Warehouse.id))).all()
        found = [a for code in codes if (a := self.ctx.rules.return_address(code))]
        if not found or len(found) != len(codes):
            return {}
        return {"address_en": "\n".join(a.en for a in found),
                "address_zh": "\n".join(a.zh for a in found)}

    async def reject(self, return_id: int, actor: str, reason: str) -> ReturnView:
        """Refuse the request with a reason the customer sees."""
        why = clean_text(reason, "reason", max_len=500)
        return await self._step(return_id, "reject", "return_rejected",
                                {"merchant_note": why, "rejected_at": self.ctx.clock.now()},
                                reason=why)

    async def receive(self, return_id: int, actor: str, restock: bool) -> ReturnView:
        """The goods came back; resellable ones go back on the shelf they left."""
        async with self.ctx.db.write() as session:
            request = await self._load(session, return_id)
            await self._move(session, request, "receive", restocked=bool(restock))
            back: dict[tuple[int, int], int] = defaultdict(int)
            for _, product_id, _, qty, warehouse_id in await self._units(session, request):
                back[product_id, warehouse_id] += qty
            for (product_id, warehouse_id), qty in sorted(back.items()) if restock else ():
                await stock.add_on_hand(session, product_id, warehouse_id, qty)
            return await self._view(session, request)

    async def refund(self, return_id: int, actor: str, amount: int | None = None) -> ReturnView:
        """Refund through the original payment (None: the returned lines' value not yet
        refunded)."""
        if amount is not None:
            amount = quantity(amount, maximum=MAX_ID, field="amount")
        async with self.ctx.db.write() as session:
            request = await self._load(session, return_id)
            action = "refund_only" if request.kind == "refund" else "refund_goods"
            _target(action, request)
            already = request.refunded_amount
            left = await _refundable(session, request.order_id)
            if amount is None:
                amount = min((await self._view(session, request)).value - already, left)
                if amount < 1:
                    raise InvalidInput(field="amount", reason="nothing_to_refund")
            if amount > left:
                raise InvalidInput(field="amount", reason="over_refundable", refundable=left)
            # Claim the request first, so a concurrent refund loses before any money moves.
            await self._move(session, request, action, refunded_amount=already + amount)
            order = await load_order(session, request.order_id)
            # The customer hears of it once the provider confirmed; a refusal gives the
            # request its amount (and status) back (services/payments/refunds.py).
            await ledger.refund(session, self.ctx, order, amount, reason="after-sales",
                                actor=actor, return_request_id=request.id,
                                notice="return_refunded")
            # The order card's money and Refund button change with it.
            notifications.tell_admins(session, self.ctx.rules, "alert_refunded",
                                      self.ctx.clock.now(), order.id, order_number=order.number,
                                      amount=amount, currency=order.currency, actor=actor)
        return await self.get(return_id)

    async def ship_replacement(self, return_id: int, actor: str, carrier: str,
                               tracking_number: str) -> ReturnView:
        """Send the exchanged units again, from the warehouse they first left."""
        chosen = self.ctx.carriers.get(carrier)
        tracking = chosen.validate_tracking_number(tracking_number)
        async with self.ctx.db.write() as session:
            request = await self._load(session, return_id)
            await self._move(session, request, "ship_replacement")
            now = self.ctx.clock.now()
            by_warehouse: dict[int, list[tuple[int, int, str, int, int]]] = defaultdict(list)
            for unit in await self._units(session, request):
                by_warehouse[unit[4]].append(unit)
            for i, (warehouse_id, units) in enumerate(sorted(by_warehouse.items())):
                shipment = Shipment(order_id=request.order_id, warehouse_id=warehouse_id,
                                    return_request_id=request.id, carrier=chosen.code,
                                    tracking_number=tracking if i == 0 else f"{tracking}-{i + 1}",
                                    created_at=now, packed_at=now, shipped_at=now,
                                    expected_delivery=chosen.expected_delivery(now))
                session.add(shipment)
                await session.flush()
                for line_id, product_id, sku, qty, _ in units:
                    await self._take(session, product_id, warehouse_id, sku, qty)
                    session.add(ShipmentLine(shipment_id=shipment.id, order_line_id=line_id,
                                             quantity=qty))
            await self._tell(session, request, "replacement_shipped", carrier=chosen.code,
                             tracking_number=tracking,
                             expected=chosen.expected_delivery(now).isoformat())
            return await self._view(session, request)

    async def close(self, return_id: int, actor: str, satisfied: bool | None = None) -> ReturnView:
        """Close a finished request, with the customer's satisfaction when known."""
        if satisfied is not None and not isinstance(satisfied, bool):
            raise InvalidInput(field="satisfied", reason="not_a_bool")
        return await self._step(return_id, "close", None, {"satisfied": satisfied})

    # reading -----------------------------------------------------------------------------
    async def for_order(self, order_id: int, customer_id: int | None = None) -> list[ReturnView]:
        """The order's requests, oldest first; another customer's order is NotFound."""
        async with self.ctx.db.read() as session:
            order = await load_order(session, order_id, customer_id)
            rows = await session.scalars(_OF_ORDER, {"order_id": order.id})
            return [await self._view(session, r) for r in rows.all()]

    async def get(self, return_id: int, customer_id: int | None = None) -> ReturnView:
        """One request; another customer's is NotFound."""
        async with self.ctx.db.read() as session:
            return await self._view(session, await self._load(session, return_id, customer_id))

    # steps -------------------------------------------------------------------------------
    async def _step(self, return_id: int, action: str, template: str | None,
                    fields: dict[str, Any] | None = None, **params: Any) -> ReturnView:
        async with self.ctx.db.write() as session:
            request = await self._load(session, return_id)
            await self._move(session, request, action, **(fields or {}))
            if template:
                await self._tell(session, request, template, **params)
            return await self._view(session, request)

    async def _load(self, session: AsyncSession, return_id: int,
                    customer_id: int | None = None) -> ReturnRequest:
        request = await session.get(ReturnRequest, identifier(return_id, "return_id"))
        if request is None or (customer_id is not None and request.customer_id != customer_id):
            raise NotFound(what="return_request")
        return request

    async def _move(self, session: AsyncSession, request: ReturnRequest, action: str,
                    **fields: Any) -> None:
        """Compare-and-set status (and refunded amount); a lost race is InvalidTransition."""
        to = _target(action, request)
        result = await session.execute(
            update(ReturnRequest)
            .where(ReturnRequest.id == request.id, ReturnRequest.status == request.status,
                   ReturnRequest.refunded_amount == request.refunded_amount)
            .values(status=to, updated_at=self.ctx.clock.now(), **fields)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidTransition(action=action, status=request.status)
        await session.refresh(request)

    async def _set(self, session: AsyncSession, request: ReturnRequest, **fields: Any) -> None:
        await session.execute(update(ReturnRequest).where(ReturnRequest.id == request.id)
                              .values(**fields).execution_options(synchronize_session=False))
        await session.refresh(request)

    async def _units(self, session: AsyncSession,
                     request: ReturnRequest) -> list[tuple[int, int, str, int, int]]:
        """(order line, product, sku, quantity, warehouse it left from) of the request's units."""
        shipped = await session.execute(
            select(ShipmentLine.order_line_id, Shipment.warehouse_id)
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(Shipment.order_id == request.order_id, Shipment.return_request_id.is_(None))
            .order_by(Shipment.id.desc()))
        committed = await session.execute(
            select(StockReservation.order_line_id, StockReservation.warehouse_id)
            .where(StockReservation.order_id == request.order_id,
                   StockReservation.status == ReservationStatus.COMMITTED)
            .order_by(StockReservation.id.desc()))
        # The first shipment (else committed reservation) of a line wins: later rows overwrite.
        origin = dict([*committed.all(), *shipped.all()])
        fallback = await session.scalar(
            select(Order.warehouse_id).where(Order.id == request.order_id))
        rows = await session.execute(
            select(OrderLine.id, OrderLine.product_id, OrderLine.sku, ReturnLine.quantity)
            .join(ReturnLine, ReturnLine.order_line_id == OrderLine.id)
            .where(ReturnLine.return_request_id == request.id).order_by(OrderLine.product_id))
        units = [(line, product, sku, qty, origin.get(line, fallback))
                 for line, product, sku, qty in rows]
        if any(u[4] is None for u in units):
            raise InvalidTransition(action="restock", status="no_warehouse")
        return units  # type: ignore[return-value]

    @staticmethod
    async def _take(session: AsyncSession, product_id: int, warehouse_id: int, sku: str,
                    qty: int) -> None:
        """Take free units off the shelf with one conditional update, or OutOfStock."""
        taken = await session.execute(
            update(Stock).where(Stock.product_id == product_id, Stock.warehouse_id == warehouse_id,
                                Stock.on_hand - Stock.reserved >= qty)
            .values(on_hand=Stock.on_hand - qty))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            free = await session.scalar(select(Stock.on_hand - Stock.reserved).where(
                Stock.product_id == product_id, Stock.warehouse_id == warehouse_id))
            raise OutOfStock(sku=sku, available=int(free or 0))

    async def _tell(self, session: AsyncSession, request: ReturnRequest, template: str,
                    **params: Any) -> None:
        customer = await session.get(Customer, request.customer_id)
        number = await session.scalar(select(Order.number).where(Order.id == request.order_id))
        if customer is not None:
            notifications.tell_customer(session, customer, template, self.ctx.clock.now(),
                                        request.order_id, order_number=number,
                                        return_id=request.id, **params)

    async def refundable(self, return_id: int) -> int:
        """What is left to refund on the request's order."""
        async with self.ctx.db.read() as session:
            return await _refundable(session, (await self._load(session, return_id)).order_id)

    async def _view(self, session: AsyncSession, request: ReturnRequest) -> ReturnView:
        number = await session.scalar(select(Order.number).where(Order.id == request.order_id))
        rows = await session.execute(
            select(OrderLine, ReturnLine.quantity)
            .join(ReturnLine, ReturnLine.order_line_id == OrderLine.id)
            .where(ReturnLine.return_request_id == request.id).order_by(OrderLine.id))
        return ReturnView(
            request.id, request.order_id, number or "", request.customer_id, request.kind,
            request.status, request.reason, tuple(request.photos or ()), request.merchant_note,
            request.restocked, request.refunded_amount, request.satisfied, request.created_at,
            request.updated_at,
            tuple(ReturnLineView(ln.id, ln.product_id, ln.sku, ln.name_en, ln.name_zh,
                                 ln.unit_price, qty) for ln, qty in rows),
            await _refundable(session, request.order_id))


async def _refundable(session: AsyncSession, order_id: int) -> int:
    """Captured less refunded on the order."""
    return await ledger.captured(session, order_id) - await ledger.refunded(session, order_id)
