"""What the merchant does in the admin chat that the order services do not already offer.

The card of an order (its detail, the customer and the actions its current state allows), the
choice of the warehouse that ships it, a partial refund, the shipping slips, and where each card
sits in the admin chat so it is edited in place.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    AdminCard,
    Customer,
    Order,
    OrderLine,
    ReservationStatus,
    ReturnRequest,
    Review,
    Shipment,
    Stock,
    StockReservation,
    Warehouse,
)
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidInput, InvalidTransition, NotFound, OutOfStock
from services.inventory import stock
from services.inventory.allocation import WarehouseInfo, distance_km, rank
from services.orders import queries
from services.orders.dto import OrderDetail
from services.payments import ledger
from services.returns import FLOW, ReturnView
from services.validation import MAX_ID, identifier, quantity

# Order card actions, in the order their buttons appear.
CONFIRM, REJECT, WAREHOUSE, PACK, SLIP, SHIP, DELIVER, CANCEL, REFUND = (
    "confirm", "reject", "warehouse", "pack", "slip", "ship", "deliver", "cancel", "refund")
BEFORE_SHIPPING = (S.AWAITING_REVIEW, S.AWAITING_SHIPMENT)
NOTHING_PAID = (S.PENDING_PAYMENT, S.EXPIRED)
# Return card actions: the service's FLOW names, with both refund flavours as one button.
RETURN_ACTIONS = {"approve": "approve", "reject": "reject", "receive": "receive",
                  "refund_goods": "refund", "refund_only": "refund",
                  "ship_replacement": "replace", "close": "close"}


@dataclass(frozen=True)
class CardReview:
    """The customer's stars and words on the order."""

    rating: int
    text: str


@dataclass(frozen=True)
class CardReturn:
    """An after-sales request of the order (its own card follows its steps)."""

    id: int
    kind: str


@dataclass(frozen=True)
class OrderCard:
    """An order as the merchant's card shows it, with the buttons its state allows."""

    order: OrderDetail
    customer_name: str
    customer_username: str | None
    warehouse: str
    packed: bool
    refundable: int
    actions: tuple[str, ...]
    last_actor: str
    review: CardReview | None = None
    returns: tuple[CardReturn, ...] = ()


@dataclass(frozen=True)
class WarehouseOption:
    """A warehouse the order could ship from."""

    id: int
    code: str
    name: str
    distance_km: float
    priority: int
    can_serve: bool
    current: bool
    suggested: bool


@dataclass(frozen=True)
class CardRef:
    """Where a card sits in the admin chat."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Slip:
    """A shipping slip PDF, one per parcel."""

    filename: str
    content: bytes
    parcel_index: int
    parcel_count: int


@dataclass(frozen=True)
class PartialRefund:
    """What a partial refund did."""

    order_number: str
    asked: int
    refunded: int
    refundable: int
    currency: str


def return_key(return_id: int) -> int:
    """The admin_cards key of a return request's card: negative, apart from order ids."""
    return -return_id


def return_actions(view: ReturnView) -> tuple[str, ...]:
    """The buttons a return request's current status allows."""
    found = [RETURN_ACTIONS[action] for action, (table, kinds) in FLOW.items()
             if view.kind in kinds and view.status in table]
    if view.refundable <= 0:  # everything paid went back already
        found = [action for action in found if action != "refund"]
    return tuple(dict.fromkeys(found))


def allowed_actions(status: str, packed: bool, refundable: int) -> tuple[str, ...]:
    """The card's buttons for an order in `status` (the services refuse the rest anyway).

    A shipped order can always be marked delivered by hand: a carrier's tracking may lag,
    stall or never report (the merchant hears from the customer first).
    """
    actions: list[str] = []
    if status == S.AWAITING_REVIEW:
        actions += [CONFIRM, REJECT]
    if status in BEFORE_SHIPPING and not packed:
        actions.append(WAREHOUSE)
    if status == S.AWAITING_SHIPMENT:
        actions += [SLIP if packed else PACK, SHIP]
    if status == S.SHIPPED:
        actions.append(DELIVER)
    if status in (*BEFORE_SHIPPING, S.OUT_OF_STOCK):
        actions.append(CANCEL)
    if refundable > 0 and status not in (S.OUT_OF_STOCK, S.CANCELLED):
        actions.append(REFUND)
    return tuple(actions)


class MerchantService:
    """The merchant's order work that is not a plain status transition."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # the card ----------------------------------------------------------------------------
    async def card(self, order_id: int) -> OrderCard:
        """The order's card data; NotFound for an unknown id."""
        async with self.ctx.db.read() as session:
            order = await queries.load_order(session, order_id)
            detail = await queries.detail(session, order)
            customer = await session.get(Customer, order.customer_id)
            warehouse = (await session.get(Warehouse, order.warehouse_id) if order.warehouse_id
                         else None)
            parcels = [s for s in detail.shipments if not s.is_replacement]
            refundable = detail.paid - detail.refunded
            review = (await session.execute(select(Review.rating, Review.text).where(
                Review.order_id == order.id).order_by(Review.id).limit(1))).first()
            returns = await session.execute(select(ReturnRequest.id, ReturnRequest.kind).where(
                ReturnRequest.order_id == order.id).order_by(ReturnRequest.id))
            return OrderCard(
                detail, customer.name if customer else "", customer.username if customer else None,
                f"{warehouse.name} ({warehouse.code})" if warehouse else "", bool(parcels),
                refundable, allowed_actions(detail.status, bool(parcels), refundable),
                detail.events[-1].actor if detail.events else "",
                CardReview(*review) if review else None, tuple(CardReturn(*r) for r in returns))

    # the warehouse -----------------------------------------------------------------------
    async def warehouse_options(self, order_id: int) -> list[WarehouseOption]:
        """Active warehouses nearest first; the suggested one can serve every line."""
        async with self.ctx.db.read() as session:
            order = await queries.load_order(session, order_id)
            needs = await self._needs(session, order.id)
            rows = (await session.scalars(
                select(Warehouse).where(Warehouse.active.is_(True)))).all()
            infos = {w.id: w for w in rows}
            region = self.ctx.rules.region(order.region)
            ranked = rank([WarehouseInfo(w.id, w.region, w.latitude, w.longitude, w.priority)
                           for w in rows], region, order.region)
            free = await self._free(session, order.id, list(needs))
            options, suggested = [], None
            for info in ranked:
                serves = all(free.get((p, info.id), 0) >= q for p, q in needs.items())
                suggested = info.id if serves and suggested is None else suggested
                w = infos[info.id]
                options.append(WarehouseOption(
                    w.id, w.code, w.name, round(distance_km(info, region, order.region)),
                    w.priority, serves, w.id == order.warehouse_id, w.id == suggested))
            return options

    async def choose_warehouse(self, order_id: int, warehouse_id: int, actor: str) -> OrderCard:
        """Ship the whole order from one warehouse: its stock is reserved there instead."""
        identifier(warehouse_id, "warehouse_id")
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id)
            warehouse = await session.get(Warehouse, warehouse_id)
            if warehouse is None or not warehouse.active:
                raise NotFound(what="warehouse")
            await self._claim_for_warehouse(session, order, warehouse.id)
            needs = await self._needs(session, order.id)
            now = self.ctx.clock.now()
            await stock.release(session, order.id, now)
            for product_id, qty in sorted(needs.items()):
                await self._take(session, product_id, warehouse.id, qty)
            lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                           .order_by(OrderLine.id))).all()
            session.add_all(StockReservation(order_id=order.id, order_line_id=ln.id,
                                             product_id=ln.product_id, warehouse_id=warehouse.id,
                                             quantity=ln.quantity, created_at=now) for ln in lines)
        return await self.card(order_id)

    async def _claim_for_warehouse(self, session: AsyncSession, order: Order,
                                   warehouse_id: int) -> None:
        """Compare-and-set the order's warehouse: a concurrent change or transition loses."""
        if order.status not in BEFORE_SHIPPING:
            raise InvalidTransition(action="warehouse", status=order.status)
        packed = await session.scalar(select(Shipment.id).where(
            Shipment.order_id == order.id, Shipment.return_request_id.is_(None)).limit(1))
        if packed is not None:
            raise InvalidTransition(action="warehouse", status="packed")
        claimed = await session.execute(
            update(Order).where(Order.id == order.id, Order.status == order.status,
                                Order.warehouse_id.is_not_distinct_from(order.warehouse_id))
            .values(warehouse_id=warehouse_id, updated_at=self.ctx.clock.now())
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            current = await session.scalar(select(Order.status).where(Order.id == order.id))
            raise InvalidTransition(action="warehouse", status=current or "unknown")

    @staticmethod
    async def _needs(session: AsyncSession, order_id: int) -> dict[int, int]:
        """Units per product of the order."""
        needs: dict[int, int] = defaultdict(int)
        for product_id, qty in await session.execute(
                select(OrderLine.product_id, OrderLine.quantity)
                .where(OrderLine.order_id == order_id)):
            needs[product_id] += qty
        return dict(needs)

    @staticmethod
    async def _free(session: AsyncSession, order_id: int,
                    product_ids: list[int]) -> dict[tuple[int, int], int]:
        """Free units per (product, warehouse), counting the order's own reservations as free."""
        free = {(p, w): on_hand - reserved for p, w, on_hand, reserved in await session.execute(
            select(Stock.product_id, Stock.warehouse_id, Stock.on_hand, Stock.reserved)
            .where(Stock.product_id.in_(product_ids)))}
        for r in (await session.scalars(select(StockReservation).where(
                StockReservation.order_id == order_id,
                StockReservation.status == ReservationStatus.ACTIVE))).all():
            free[(r.product_id, r.warehouse_id)] = (free.get((r.product_id, r.warehouse_id), 0)
                                                    + r.quantity)
        return free

    @staticmethod
    async def _take(session: AsyncSession, product_id: int, warehouse_id: int, qty: int) -> None:
        """Reserve with one conditional update, or OutOfStock (the transaction is rolled back)."""
        taken = await session.execute(
            update(Stock).where(Stock.product_id == product_id, Stock.warehouse_id == warehouse_id,
                                Stock.on_hand - Stock.reserved >= qty)
            .values(reserved=Stock.reserved + qty))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            free = await session.scalar(select(Stock.on_hand - Stock.reserved).where(
                Stock.product_id == product_id, Stock.warehouse_id == warehouse_id))
            sku = await session.scalar(
                select(OrderLine.sku).where(OrderLine.product_id == product_id))
            raise OutOfStock(sku=sku or "", available=int(free or 0))

    # money -------------------------------------------------------------------------------
    async def refund_part(self, order_id: int, amount: int, actor: str) -> PartialRefund:
        """Refund part of what the customer paid, at most what is left; the card is updated.

        The provider is called once this decision committed; what is left afterwards tells
        what went back (a refusal gives the money back to the refundable amount).
        """
        asked = quantity(amount, maximum=MAX_ID, field="amount")
        async with self.ctx.db.write() as session:
            order = await queries.load_order(session, order_id)
            if order.status in NOTHING_PAID:
                raise InvalidTransition(action="refund", status=order.status)
            left = (await ledger.captured(session, order.id)
                    - await ledger.refunded(session, order.id))
            if asked > left:
                raise InvalidInput(field="amount", reason="over_refundable", refundable=left)
            if await ledger.refund(session, self.ctx, order, asked, reason="partial refund",
                                   actor=actor):
                notifications.tell_admins(session, self.ctx.rules, "alert_refunded",
                                          self.ctx.clock.now(), order.id, order_number=order.number,
                                          amount=asked, currency=order.currency, actor=actor)
            number, currency = order.number, order.currency
        async with self.ctx.db.read() as session:
            now_left = await ledger.captured(session, order_id) - await ledger.refunded(session,
                                                                                        order_id)
        return PartialRefund(number, asked, left - now_left, now_left, currency)

    # slips -------------------------------------------------------------------------------
    async def slips(self, order_id: int) -> list[Slip]:
        """One printable PDF per parcel of the order (packed first); NotFound when none."""
        # reportlab (~0.2 s to import, ~10 MiB) only once a slip is asked for.
        from services.shipping.slip import build_slip_data, render_slip

        async with self.ctx.db.read() as session:
            order = await queries.load_order(session, order_id)
            parcels = (await session.scalars(select(Shipment.id).where(
                Shipment.order_id == order.id, Shipment.return_request_id.is_(None))
                .order_by(Shipment.id))).all()
        if not parcels:
            raise NotFound(what="shipment")
        slips = []
        for shipment_id in parcels:
            data = await build_slip_data(self.ctx, order_id, shipment_id)
            suffix = f"-{data.parcel_index}" if data.parcel_count > 1 else ""
            slips.append(Slip(f"slip-{data.order_number}{suffix}.pdf", render_slip(data),
                              data.parcel_index, data.parcel_count))
        return slips

    # where cards sit ---------------------------------------------------------------------
    async def card_ref(self, key: int) -> CardRef | None:
        """The message of an order's card (key = order id) or a return's (return_key)."""
        async with self.ctx.db.read() as session:
            row = await session.get(AdminCard, key)
            return CardRef(row.chat_id, row.message_id) if row else None

    async def remember_card(self, key: int, chat_id: int, message_id: int) -> None:
        """The card now sits in this message (the latest wins)."""
        now = self.ctx.clock.now()
        insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
        stmt = insert(AdminCard).values(order_id=key, chat_id=chat_id, message_id=message_id,
                                        updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["order_id"],
            set_={"chat_id": chat_id, "message_id": message_id, "updated_at": now})
        async with self.ctx.db.write() as session:
            await session.execute(stmt)
