"""Races that happen in a real shop: many buyers, double clicks, repeated provider events."""
from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models import Order, OrderEvent, OutboxMessage, Payment, Stock
from services.checkout import CheckoutRequest, new_checkout_key
from services.container import Services
from services.errors import InvalidTransition, OutOfStock
from tests.shop import ADDRESS, ShopData, buyer, pay, place


async def carts(svc: Services, n: int, items: dict[int, int]) -> list[int]:
    """n customers, each with `items` in the cart."""
    ids = []
    for i in range(n):
        customer = await buyer(svc, 5000 + i)
        for product_id, qty in items.items():
            await svc.cart.add(customer.id, product_id, qty)
        ids.append(customer.id)
    return ids


async def checkout_all(svc: Services, customer_ids: list[int]) -> list[object]:
    def request() -> CheckoutRequest:
        return CheckoutRequest(new_checkout_key(), "standard", "sandbox", address=ADDRESS)

    return await asyncio.gather(
        *(svc.checkout.place_order(cid, request()) for cid in customer_ids), return_exceptions=True
    )


async def total_stock(svc: Services, product_id: int) -> tuple[int, int]:
    async with svc.ctx.db.read() as s:
        on_hand, reserved = (await s.execute(
            select(func.sum(Stock.on_hand), func.sum(Stock.reserved)).where(Stock.product_id == product_id)
        )).one()
        return int(on_hand), int(reserved)


async def test_fifty_buyers_for_the_last_unit(svc: Services, shop: ShopData) -> None:
    ids = await carts(svc, 50, {shop.last: 1})
    results = await checkout_all(svc, ids)
    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(placed) == 1
    assert len(refused) == 49 and all(isinstance(r, OutOfStock) for r in refused)
    assert all(r.params["sku"] == "LAST-1" and r.params["available"] == 0 for r in refused)  # type: ignore[union-attr]
    assert await total_stock(svc, shop.last) == (1, 1)


async def test_hundred_buyers_for_ten_units(svc: Services, shop: ShopData) -> None:
    ids = await carts(svc, 100, {shop.tea: 1})
    results = await checkout_all(svc, ids)
    assert sum(not isinstance(r, BaseException) for r in results) == 10
    assert all(isinstance(r, OutOfStock) for r in results if isinstance(r, BaseException))
    assert await total_stock(svc, shop.tea) == (10, 10)


async def test_opposite_line_order_does_not_deadlock(svc: Services, shop: ShopData) -> None:
    first = await carts(svc, 4, {shop.tea: 1, shop.mug: 1})
    second = []
    for i in range(4):  # the same two SKUs put in the cart the other way round
        customer = await buyer(svc, 7000 + i)
        await svc.cart.add(customer.id, shop.mug, 1)
        await svc.cart.add(customer.id, shop.tea, 1)
        second.append(customer.id)
    results = await asyncio.wait_for(checkout_all(svc, first + second), timeout=60)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert await total_stock(svc, shop.tea) == (10, 8)
    assert await total_stock(svc, shop.mug) == (10, 8)


async def test_same_checkout_ten_times_makes_one_order(svc: Services, shop: ShopData) -> None:
    (customer_id,) = await carts(svc, 1, {shop.tea: 2})
    request = CheckoutRequest(new_checkout_key(), "standard", "sandbox", address=ADDRESS)
    results = await asyncio.gather(*(svc.checkout.place_order(customer_id, request) for _ in range(10)))
    assert len({r.number for r in results}) == 1
    assert sum(r.created for r in results) == 1
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Order.id))) == 1
    assert await total_stock(svc, shop.tea) == (10, 2)


async def test_same_payment_event_five_times_in_parallel(svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    async with svc.ctx.db.read() as s:
        before = await s.scalar(select(func.count(OutboxMessage.id)))
    results = await asyncio.gather(*(pay(svc, placed, charge_id="ch_dup") for _ in range(5)))
    assert sum(not r.duplicate for r in results) == 1
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Payment.id))) == 1
        assert await s.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.to_status == "awaiting_review")) == 1
        after = await s.scalar(select(func.count(OutboxMessage.id)))
    assert after - before == 2  # one "order_paid" to the customer, one alert to the merchant


async def test_auto_complete_racing_the_customer_completes_once(svc: Services, shop: ShopData, clock) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.tea: 1})
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "sandbox", "SF1")
    await svc.orders.mark_delivered(placed.id, "admin:1")
    clock.advance(days=7, minutes=1)
    swept, mine = await asyncio.gather(
        svc.sweeps.auto_complete(), svc.orders.confirm_receipt(customer.id, placed.id),
        return_exceptions=True,
    )
    wins = int(swept == 1) + int(not isinstance(mine, BaseException))
    assert wins == 1, (swept, mine)
    assert isinstance(mine, InvalidTransition) or swept == 0
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.to_status == "completed")) == 1


async def test_two_sweeps_at_once_expire_each_order_once(svc: Services, shop: ShopData, clock) -> None:
    ids = await carts(svc, 6, {shop.tea: 1})
    await checkout_all(svc, ids)
    clock.advance(minutes=31)
    counts = await asyncio.gather(svc.sweeps.expire_unpaid(), svc.sweeps.expire_unpaid())
    assert sum(counts) == 6
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.to_status == "expired")) == 6
    assert await total_stock(svc, shop.tea) == (10, 0)
