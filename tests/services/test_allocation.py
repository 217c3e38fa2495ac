"""Warehouse allocation: by stock, then distance to the address region, then priority; split last."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from models import StockReservation
from services.container import Services
from services.errors import OutOfStock
from services.inventory.allocation import Need, WarehouseInfo, plan, rank
from services.rules import Region
from tests.shop import ADDRESS, ShopData, buyer, pay, place

SH = WarehouseInfo(1, "Shanghai", 31.23, 121.47, priority=1)
GD = WarehouseInfo(2, "Guangdong", 23.13, 113.26, priority=2)
BEIJING = Region("BJ", ("Beijing",), 39.90, 116.40)
SHENZHEN = Region("GD", ("Guangdong",), 23.13, 113.26)


def test_nearest_first_then_priority() -> None:
    assert [w.id for w in rank([SH, GD], SHENZHEN, "Guangdong")] == [2, 1]
    assert [w.id for w in rank([GD, SH], BEIJING, "Beijing")] == [1, 2]  # Shanghai is nearer
    twin = WarehouseInfo(3, "Shanghai", 31.23, 121.47, priority=0)
    assert [w.id for w in rank([SH, twin], None, "Mars")] == [3, 1]


def test_one_warehouse_that_can_serve_everything_beats_a_nearer_split() -> None:
    needs = [Need(1, 10, "A", 2), Need(2, 20, "B", 1)]
    stock = {(10, 2): 2, (20, 1): 5, (10, 1): 3}  # GD lacks B; SH has both
    picks = plan(needs, rank([SH, GD], SHENZHEN, "Guangdong"), stock)
    assert {p.warehouse_id for p in picks} == {1}


def test_split_only_when_no_single_warehouse_can_serve() -> None:
    needs = [Need(1, 10, "A", 4)]
    picks = plan(needs, [SH, GD], {(10, 1): 3, (10, 2): 3})
    assert [(p.warehouse_id, p.quantity) for p in picks] == [(1, 3), (2, 1)]
    with pytest.raises(OutOfStock) as info:
        plan([Need(1, 10, "A", 7)], [SH, GD], {(10, 1): 3, (10, 2): 3})
    assert info.value.params == {"sku": "A", "available": 6}


async def reservations(svc: Services, order_id: int) -> list[tuple[int, int]]:
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(StockReservation.warehouse_id, StockReservation.quantity)
                               .where(StockReservation.order_id == order_id)
                               .order_by(StockReservation.warehouse_id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_order_ships_from_the_nearest_warehouse(svc: Services, shop: ShopData) -> None:
    guangzhou = replace(ADDRESS, region="广东", city="广州")
    order = await place(svc, await buyer(svc), {shop.mug: 2}, address=guangzhou)
    assert await reservations(svc, order.id) == [(shop.gd, 2)]
    order = await place(svc, await buyer(svc, 2), {shop.mug: 2})  # Shanghai address
    assert await reservations(svc, order.id) == [(shop.sh, 2)]


async def test_order_splits_across_warehouses_and_packs_two_shipments(svc: Services, shop: ShopData) -> None:
    order = await place(svc, await buyer(svc), {shop.mug: 7})
    assert await reservations(svc, order.id) == [(shop.sh, 5), (shop.gd, 2)]
    await pay(svc, order)
    await svc.orders.confirm(order.id, "admin:1")
    shipments = await svc.orders.pack(order.id, "admin:1")
    assert sorted(s.warehouse_id for s in shipments) == [shop.sh, shop.gd]
