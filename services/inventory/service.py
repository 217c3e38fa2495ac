"""Merchant stock work: view, restock (re-allocating waiting orders), "notify me" subscriptions."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Customer,
    Order,
    OrderLine,
    Product,
    Stock,
    StockSubscription,
    Warehouse,
)
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import NotFound, OutOfStock
from services.inventory import stock
from services.inventory.allocation import Need
from services.orders.lifecycle import act
from services.validation import clean_text, identifier, quantity

MAX_RESTOCK = 1_000_000


@dataclass(frozen=True)
class StockLevel:
    """A product's units in one warehouse."""

    warehouse_code: str
    warehouse_name: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        """Units free to sell."""
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class RestockResult:
    """What a restock did."""

    sku: str
    warehouse_code: str
    on_hand: int
    reallocated_orders: tuple[str, ...]
    subscribers_told: int


class InventoryService:
    """Stock as the merchant manages it."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def levels(self, sku: str) -> list[StockLevel]:
        """The product's stock per warehouse."""
        code = clean_text(sku, "sku", max_len=64)
        async with self.ctx.db.read() as session:
            product = await session.scalar(select(Product).where(Product.sku == code))
            if product is None:
                raise NotFound(what="product")
            rows = await session.execute(
                select(Warehouse, Stock).outerjoin(
                    Stock, (Stock.warehouse_id == Warehouse.id) & (Stock.product_id == product.id))
                .order_by(Warehouse.priority, Warehouse.id))
            return [StockLevel(w.code, w.name, s.on_hand if s else 0, s.reserved if s else 0)
                    for w, s in rows]

    async def restock(self, sku: str, warehouse_code: str, qty: int, actor: str) -> RestockResult:
        """Add units, then give them to waiting out-of-stock orders (oldest first) and
        subscribers."""
        code = clean_text(sku, "sku", max_len=64)
        quantity(qty, maximum=MAX_RESTOCK)
        async with self.ctx.db.write() as session:
            product = await session.scalar(select(Product).where(Product.sku == code))
            warehouse = await session.scalar(select(Warehouse).where(
                Warehouse.code == clean_text(warehouse_code, "warehouse", max_len=32)))
            if product is None or warehouse is None:
                raise NotFound(what="product" if product is None else "warehouse")
            await stock.add_on_hand(session, product.id, warehouse.id, qty)
            moved = await self._reallocate(session, product.id, actor)
            told = await self._tell_subscribers(session, product)
            on_hand = await session.scalar(select(Stock.on_hand).where(
                Stock.product_id == product.id, Stock.warehouse_id == warehouse.id))
            return RestockResult(product.sku, warehouse.code, int(on_hand or 0), tuple(moved), told)

    async def sweep_back_in_stock(self, actor: str = "system:scheduler") -> int:
        """Stock that came back by any road (a CSV import, a return's restock): give it to waiting
        out-of-stock orders and tell "notify me" subscribers, one product per transaction.

        Idempotent and safe in several processes: orders are claimed with SKIP LOCKED on
        PostgreSQL and moved with compare-and-set, subscribers flipped once. Returns the number
        of orders moved plus subscribers told.
        """
        async with self.ctx.db.read() as session:
            waiting = (select(OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
                       .where(Order.status == S.OUT_OF_STOCK))
            subscribed = (select(StockSubscription.product_id)
                          .where(StockSubscription.notified_at.is_(None)))
            ids = sorted(set((await session.scalars(union(waiting, subscribed))).all()))
            free = await stock.available_by_product(session, ids)
        done = 0
        for product_id in (p for p in ids if free[p] > 0):
            async with self.ctx.db.write() as session:
                product = await session.get(Product, product_id)
                if product is not None:
                    done += len(await self._reallocate(session, product_id, actor))
                    done += await self._tell_subscribers(session, product)
        return done

    async def _reallocate(self, session: AsyncSession, product_id: int, actor: str) -> list[str]:
        now, moved = self.ctx.clock.now(), []
        query = (select(Order).where(
            Order.status == S.OUT_OF_STOCK,
            Order.id.in_(select(OrderLine.order_id).where(OrderLine.product_id == product_id)))
            .order_by(Order.created_at, Order.id))
        if self.ctx.db.is_postgres:
            # Orders another transaction is moving are left to it (or to the next sweep).
            query = query.with_for_update(skip_locked=True)
        waiting = (await session.scalars(query)).all()
        for order in waiting:
            lines = (await session.scalars(
                select(OrderLine).where(OrderLine.order_id == order.id))).all()
            needs = [Need(ln.id, ln.product_id, ln.sku, ln.quantity) for ln in lines]
            try:
                async with session.begin_nested():
                    await stock.reserve(session, order.id, needs, order.region, self.ctx.rules, now)
            except OutOfStock:
                continue  # not enough for this one yet; a younger, smaller order may still fit
            await act(session, order, "reallocate", actor=actor, now=now,
                      review_required=self.ctx.rules.review_required, reason="restocked")
            customer = await session.get(Customer, order.customer_id)
            if customer is not None:
                notifications.tell_customer(session, customer, "order_back_in_stock", now,
                                            order.id, order_number=order.number)
            moved.append(order.number)
        return moved

    async def _tell_subscribers(self, session: AsyncSession, product: Product) -> int:
        now = self.ctx.clock.now()
        free = (await stock.available_by_product(session, [product.id]))[product.id]
        if free <= 0:
            return 0
        subs = (await session.scalars(select(StockSubscription).where(
            StockSubscription.product_id == product.id,
            StockSubscription.notified_at.is_(None)))).all()
        told = 0
        for sub in subs:
            flipped = await session.execute(
                update(StockSubscription).where(StockSubscription.id == sub.id,
                                                StockSubscription.notified_at.is_(None))
                .values(notified_at=now).execution_options(synchronize_session=False))
            customer = await session.get(Customer, sub.customer_id)
            if flipped.rowcount == 1 and customer is not None:  # type: ignore[attr-defined]
                notifications.tell_customer(session, customer, "product_back_in_stock", now,
                                            product_id=product.id, sku=product.sku,
                                            name_en=product.name_en, name_zh=product.name_zh)
                told += 1
        return told

    async def subscribe(self, customer_id: int, product_id: int) -> bool:
        """"Notify me" on a product; True when newly subscribed."""
        identifier(product_id, "product_id")
        async with self.ctx.db.write() as session:
            product = await session.get(Product, product_id)
            if product is None or not product.active:
                raise NotFound(what="product")
            existing = await session.scalar(select(StockSubscription).where(
                StockSubscription.customer_id == customer_id,
                StockSubscription.product_id == product_id))
            if existing is not None:
                if existing.notified_at is None:
                    return False
                existing.notified_at = None
                return True
            session.add(StockSubscription(customer_id=customer_id, product_id=product_id,
                                          created_at=self.ctx.clock.now()))
            return True
