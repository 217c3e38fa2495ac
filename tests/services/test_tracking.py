"""The tracking sweep with the sandbox carrier, on SQLite and PostgreSQL.

The sandbox parcel's journey, from the shipping time: accepted +1h, in transit +12h, out for
delivery +2d, delivered +2d6h; a tracking number starting with "EXC" hits a delivery problem
after a day and never arrives.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import CarrierEvent, OutboxMessage
from services.clock import FakeClock
from services.container import Services
from services.customers import CustomerView
from services.orders.dto import PlacedOrder
from tests.shop import ShopData, buyer, pay, place

ADMIN = "admin:1"


@pytest.fixture
async def customer(svc: Services) -> CustomerView:
    return await buyer(svc)


async def shipped(svc: Services, customer: CustomerView, items: dict[int, int],
                  tracking: str = "SF1", carrier: str = "sandbox") -> PlacedOrder:
    placed = await place(svc, customer, items)
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, ADMIN)
    await svc.orders.ship(placed.id, ADMIN, carrier, tracking)
    return placed


async def updates(svc: Services, order_id: int) -> list[str]:
    """The codes of the tracking updates queued to the customer, in order."""
    async with svc.ctx.db.read() as s:
        rows = await s.scalars(select(OutboxMessage.params).where(
            OutboxMessage.template == "tracking_update", OutboxMessage.order_id == order_id,
            OutboxMessage.audience == "customer").order_by(OutboxMessage.id))
        return [p["code"] for p in rows]


async def test_parcel_followed_to_the_door(svc: Services, shop: ShopData, customer: CustomerView,
                                           clock: FakeClock) -> None:
    order = await shipped(svc, customer, {shop.tea: 1})
    start = clock.now()
    assert await svc.tracking.poll() == 0
    steps = [(timedelta(hours=1), ["accepted"]),
             (timedelta(hours=12), ["accepted", "in_transit"]),
             (timedelta(days=2), ["accepted", "in_transit", "out_for_delivery"])]
    for at, expected in steps:
        clock.advance(start + at - clock.now())
        assert await svc.tracking.poll() == 1
        assert await svc.tracking.poll() == 0
        assert await updates(svc, order.id) == expected
        assert (await svc.orders.detail(order.id)).status == "shipped"

    clock.advance(hours=6)
    assert await svc.tracking.poll() == 1
    detail = await svc.orders.detail(order.id)
    assert detail.status == "delivered"
    assert detail.receipt_deadline == clock.now() + svc.ctx.rules.auto_confirm_after
    assert detail.events[-1].actor == "carrier:sandbox"
    assert [t.code for t in detail.shipments[0].events] == [
        "accepted", "in_transit", "out_for_delivery", "delivered"]
    assert await updates(svc, order.id) == ["accepted", "in_transit", "out_for_delivery", "delivered"]
    clock.advance(days=1)
    assert await svc.tracking.poll() == 0  # delivered parcels are no longer polled


async def test_delivery_problem_is_told_and_order_stays_shipped(
    svc: Services, shop: ShopData, customer: CustomerView, clock: FakeClock
) -> None:
    order = await shipped(svc, customer, {shop.mug: 1}, tracking="EXC-42")
    clock.advance(days=5)
    assert await svc.tracking.poll() == 3
    assert await updates(svc, order.id) == ["accepted", "in_transit", "exception"]
    assert (await svc.orders.detail(order.id)).status == "shipped"
    assert await svc.tracking.poll() == 0


async def test_concurrent_polls_record_and_tell_each_event_once(
    svc: Services, shop: ShopData, clock: FakeClock
) -> None:
    orders = [await shipped(svc, await buyer(svc, 4000 + i), {shop.tea: 1}, tracking=f"SF{i}")
              for i in range(3)]
    clock.advance(days=3)
    counts = await asyncio.gather(svc.tracking.poll(batch=2), svc.tracking.poll(batch=2))
    assert sum(counts) == 3 * 4
    for order in orders:
        assert await updates(svc, order.id) == ["accepted", "in_transit", "out_for_delivery",
                                                "delivered"]
        detail = await svc.orders.detail(order.id)
        assert detail.status == "delivered"
        assert [e.to_status for e in detail.events].count("delivered") == 1
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(CarrierEvent.id))) == 12
        delivered_msgs = await s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.template == "order_delivered"))
        assert delivered_msgs == 3


async def test_merchant_marked_delivered_first(svc: Services, shop: ShopData,
                                               customer: CustomerView, clock: FakeClock) -> None:
    order = await shipped(svc, customer, {shop.tea: 1})
    clock.advance(hours=13)
    assert await svc.tracking.poll() == 2
    await svc.orders.mark_delivered(order.id, ADMIN)
    clock.advance(days=3)
    assert await svc.tracking.poll() == 0  # the order is no longer shipped: nothing to poll
    assert (await svc.orders.detail(order.id)).events[-1].actor == ADMIN


async def test_carriers_without_tracking_are_not_polled(svc: Services, shop: ShopData,
                                                        customer: CustomerView,
                                                        clock: FakeClock) -> None:
    order = await shipped(svc, customer, {shop.tea: 1}, tracking="VAN-1", carrier="manual")
    clock.advance(days=3)
    assert await svc.tracking.poll() == 0
    assert (await svc.orders.detail(order.id)).status == "shipped"
