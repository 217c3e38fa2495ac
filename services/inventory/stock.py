"""Stock moves on the caller's session: reserve, release exactly once, commit on shipping, restock.

Every change is one conditional UPDATE whose row count is checked: correct on SQLite and
PostgreSQL alike (SELECT ... FOR UPDATE is a no-op on SQLite). Rows are touched in
(product_id, warehouse_id) order so that concurrent multi-line orders cannot deadlock.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import OrderLine, Product, ReservationStatus, Stock, StockReservation, Warehouse
from services import notifications
from services.errors import OutOfStock
from services.inventory.allocation import Need, Pick, WarehouseInfo, plan, rank
from services.rules import ShopRules

MAX_PLAN_ATTEMPTS = 5


def free_units_of(product_id: Any) -> Any:
    """A correlated scalar subquery: units free to sell of `product_id` (a column), over every
    active warehouse (`available_by_product` folded into the caller's query)."""
    return (select(func.coalesce(func.sum(Stock.on_hand - Stock.reserved), 0))
            .join(Warehouse, Warehouse.id == Stock.warehouse_id)
            .where(Stock.product_id == product_id, Warehouse.active.is_(True))
            .scalar_subquery())


# Statements of every order placed, built once (values are bound parameters): building and
# hashing a statement for SQLAlchemy's compiled cache costs more than SQLite running it.
_AVAILABLE = (
    select(Stock.product_id, func.sum(Stock.on_hand - Stock.reserved))
    .join(Warehouse, Warehouse.id == Stock.warehouse_id)
    .where(Stock.product_id.in_(bindparam("ids", expanding=True)), Warehouse.active.is_(True))
    .group_by(Stock.product_id)
)
_ACTIVE_WAREHOUSES = (select(Warehouse.id, Warehouse.region, Warehouse.latitude,
                             Warehouse.longitude, Warehouse.priority)
                      .where(Warehouse.active.is_(True)))
_FREE_BY_WAREHOUSE = select(Stock.product_id, Stock.warehouse_id,
                            Stock.on_hand - Stock.reserved).where(
    Stock.product_id.in_(bindparam("ids", expanding=True)))
_STOCK = Stock.__table__  # a Core UPDATE: no Stock object lives in these sessions to keep in step
_TAKE = (
    update(_STOCK)
    .where(
        _STOCK.c.product_id == bindparam("pick_product"),
        _STOCK.c.warehouse_id == bindparam("pick_warehouse"),
        _STOCK.c.on_hand - _STOCK.c.reserved >= bindparam("pick_quantity"),
    )
    .values(reserved=_STOCK.c.reserved + bindparam("pick_quantity"))
)
_LOW_STOCK = (  # each product taken from, with its free units left
    select(Product.id, Product.sku, Product.name_en, Product.name_zh,
           Product.low_stock_threshold, free_units_of(Product.id))
    .where(Product.id.in_(bindparam("ids", expanding=True)))
)


async def available_by_product(session: AsyncSession, product_ids: list[int]) -> dict[int, int]:
    """Units free to sell per product, over every active warehouse."""
    if not product_ids:
        return {}
    rows = await session.execute(_AVAILABLE, {"ids": list(product_ids)})
    found = {pid: int(free or 0) for pid, free in rows}
    return {pid: found.get(pid, 0) for pid in product_ids}


async def _warehouses(session: AsyncSession) -> list[WarehouseInfo]:
    return [WarehouseInfo(*row) for row in await session.execute(_ACTIVE_WAREHOUSES)]


async def _free_units(session: AsyncSession, product_ids: list[int]) -> dict[tuple[int, int], int]:
    rows = await session.execute(_FREE_BY_WAREHOUSE, {"ids": product_ids})
    return {(p, w): int(free) for p, w, free in rows}


async def _take(session: AsyncSession, pick: Pick) -> bool:
    result = await session.execute(_TAKE, {"pick_product": pick.product_id,
                                           "pick_warehouse": pick.warehouse_id,
                                           "pick_quantity": pick.quantity})
    return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]


async def reserve(
    session: AsyncSession,
    order_id: int,
    needs: list[Need],
    region_name: str,
    rules: ShopRules,
    now: datetime,
) -> list[Pick]:
    """Reserve every line or raise OutOfStock; a lost race re-plans inside a savepoint."""
    ranked = rank(await _warehouses(session), rules.region(region_name), region_name)
    product_ids = sorted({n.product_id for n in needs})
    for _attempt in range(MAX_PLAN_ATTEMPTS):
        picks = plan(needs, ranked, await _free_units(session, product_ids))
        ordered = sorted(picks, key=lambda p: (p.product_id, p.warehouse_id))
        if len(ordered) == 1:  # one guarded UPDATE: when it loses, nothing was taken
            if await _take(session, ordered[0]):
                break
            continue
        async with session.begin_nested() as savepoint:
            if all([await _take(session, p) for p in ordered]):
                break
            await savepoint.rollback()
    else:
        raise OutOfStock(sku=needs[0].sku, available=0)
    session.add_all(
        StockReservation(
            order_id=order_id,
            order_line_id=p.line_id,
            product_id=p.product_id,
            warehouse_id=p.warehouse_id,
            quantity=p.quantity,
            created_at=now,
        )
        for p in picks
    )
    taken: dict[int, int] = {}
    for p in picks:
        taken[p.product_id] = taken.get(p.product_id, 0) + p.quantity
    await warn_if_low(session, rules, taken, now)
    return picks


async def warn_if_low(session: AsyncSession, rules: ShopRules, taken: dict[int, int],
                      now: datetime) -> None:
    """Alert the merchant when taking `taken` units (per product) crossed its low-stock line.

    Read after the conditional updates, so of two concurrent takers only the one that crossed
    the line alerts: once per crossing, again only after a restock lifted it.
    """
    products = await session.execute(_LOW_STOCK, {"ids": sorted(taken)})
    for product_id, sku, name_en, name_zh, threshold, free in products:
        left = int(free or 0)
        if left + taken[product_id] >= threshold > left:
            notifications.tell_admins(session, rules, "alert_low_stock", now, None,
                                      sku=sku, name_en=name_en, name_zh=name_zh,
                                      available=left, threshold=threshold)


async def _close(session: AsyncSession, order_id: int, to: str, now: datetime) -> int:
    """Close the order's active reservations as `to`; each row flips once under compare-and-set."""
    live = (
        await session.scalars(
            select(StockReservation)
            .where(
                StockReservation.order_id == order_id,
                StockReservation.status == ReservationStatus.ACTIVE,
            )
            .order_by(StockReservation.product_id, StockReservation.warehouse_id)
        )
    ).all()
    closed = 0
    for r in live:
        flipped = await session.execute(
            update(StockReservation)
            .where(StockReservation.id == r.id, StockReservation.status == ReservationStatus.ACTIVE)
            .values(status=to, closed_at=now)
            .execution_options(synchronize_session=False)
        )
        if flipped.rowcount != 1:  # type: ignore[attr-defined]
            continue
        values = {"reserved": Stock.reserved - r.quantity}
        if to == ReservationStatus.COMMITTED:
            values["on_hand"] = Stock.on_hand - r.quantity
        await session.execute(
            update(Stock)
            .where(Stock.product_id == r.product_id, Stock.warehouse_id == r.warehouse_id)
            .values(**values)
        )
        closed += r.quantity
    return closed


async def release(session: AsyncSession, order_id: int, now: datetime) -> int:
    """Give the order's reserved units back to sale; a second call releases nothing."""
    return await _close(session, order_id, ReservationStatus.RELEASED, now)


async def commit(session: AsyncSession, order_id: int, now: datetime) -> int:
    """The goods leave the warehouse: reserved and on-hand both drop."""
    return await _close(session, order_id, ReservationStatus.COMMITTED, now)


async def fully_reserved(session: AsyncSession, order_id: int) -> bool:
    """True when the order still holds every unit of its lines in active reservations (one
    query: the lines' units and the held units side by side)."""
    return bool(await session.scalar(_FULLY_RESERVED, {"order_id": order_id}))


_FULLY_RESERVED = select(
    select(func.coalesce(func.sum(StockReservation.quantity), 0))
    .where(StockReservation.order_id == bindparam("order_id"),
           StockReservation.status == ReservationStatus.ACTIVE).scalar_subquery()
    >= select(func.coalesce(func.sum(OrderLine.quantity), 0))
    .where(OrderLine.order_id == bindparam("order_id")).scalar_subquery())


async def add_on_hand(session: AsyncSession, product_id: int, warehouse_id: int, qty: int) -> None:
    """Put units on the shelf, creating the stock row on first delivery to a warehouse."""
    result = await session.execute(
        update(Stock)
        .where(Stock.product_id == product_id, Stock.warehouse_id == warehouse_id)
        .values(on_hand=Stock.on_hand + qty)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(Stock(product_id=product_id, warehouse_id=warehouse_id, on_hand=qty))
        await session.flush()
