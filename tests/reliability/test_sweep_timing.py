"""Time travel: each sweep moves orders and queues its messages at the right moment, not before.

The clock is the injected FakeClock; every test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

from datetime import timedelta

from services.clock import FakeClock
from services.container import Services
from tests.reliability.orders import (
    completed,
    delivered,
    moves,
    out_of_stock,
    placed,
    set_stock,
    shipped,
    status,
    told,
)
from tests.shop import ShopData, buyer


async def test_payment_reminder_then_expiry_at_the_deadline(svc: Services, shop: ShopData,
                                                            clock: FakeClock) -> None:
    [order] = await placed(svc, shop)
    deadline = clock.now() + svc.ctx.rules.payment_deadline
    reminder_at = deadline - svc.ctx.rules.payment_reminder_before
    clock.advance(reminder_at - clock.now() - timedelta(seconds=1))
    assert await svc.sweeps.remind_unpaid() == 0
    assert await told(svc, "payment_reminder") == []

    clock.advance(seconds=1)
    assert await svc.sweeps.remind_unpaid() == 1
    assert await told(svc, "payment_reminder") == [(3000, order.id)]
    assert await svc.sweeps.remind_unpaid() == 0  # once per order

    clock.advance(deadline - clock.now() - timedelta(seconds=1))
    assert await svc.sweeps.expire_unpaid() == 0
    assert await status(svc, order) == "pending_payment" and await told(svc, "order_expired") == []

    clock.advance(seconds=1)
    assert await svc.sweeps.expire_unpaid() == 1
    assert await status(svc, order) == "expired"
    assert await told(svc, "order_expired") == [(3000, order.id)]
    assert await svc.sweeps.expire_unpaid() == 0
    assert await svc.sweeps.remind_unpaid() == 0  # no reminder for an expired order
    assert len(await told(svc, "payment_reminder")) == 1


async def test_no_reminder_for_an_order_paid_in_time(svc: Services, shop: ShopData,
                                                     clock: FakeClock) -> None:
    from tests.shop import pay

    [order] = await placed(svc, shop)
    await pay(svc, order)
    clock.advance(hours=1)
    assert await svc.sweeps.remind_unpaid() == 0 and await svc.sweeps.expire_unpaid() == 0
    assert await told(svc, "payment_reminder") == [] and await told(svc, "order_expired") == []


async def test_receipt_reminder_a_day_before_then_auto_complete(svc: Services, shop: ShopData,
                                                                clock: FakeClock) -> None:
    [order] = await delivered(svc, shop)
    deadline = clock.now() + svc.ctx.rules.auto_confirm_after
    clock.advance(deadline - svc.ctx.rules.receipt_reminder_before - clock.now() - timedelta(seconds=1))
    assert await svc.sweeps.remind_receipt() == 0 and await told(svc, "receipt_reminder") == []

    clock.advance(seconds=1)
    assert await svc.sweeps.remind_receipt() == 1
    assert await told(svc, "receipt_reminder") == [(3000, order.id)]
    assert await svc.sweeps.remind_receipt() == 0

    clock.advance(deadline - clock.now() - timedelta(seconds=1))
    assert await svc.sweeps.auto_complete() == 0
    assert await status(svc, order) == "delivered" and await told(svc, "order_completed") == []

    clock.advance(seconds=1)
    assert await svc.sweeps.auto_complete() == 1
    assert await status(svc, order) == "completed"
    assert await told(svc, "order_completed") == [(3000, order.id)]
    assert await svc.sweeps.auto_complete() == 0


async def test_customer_confirming_first_leaves_nothing_to_the_sweeps(
        svc: Services, shop: ShopData, clock: FakeClock) -> None:
    [order] = await completed(svc, shop)
    clock.advance(days=8)
    assert await svc.sweeps.remind_receipt() == 0 and await svc.sweeps.auto_complete() == 0
    assert await told(svc, "receipt_reminder") == []
    assert await moves(svc, "completed") == 1 and await status(svc, order) == "completed"


async def test_archived_after_the_settlement_period(svc: Services, shop: ShopData,
                                                    clock: FakeClock) -> None:
    [order] = await completed(svc, shop)
    clock.advance(svc.ctx.rules.settlement_period - timedelta(seconds=1))
    assert await svc.sweeps.archive_completed() == 0
    assert await status(svc, order) == "completed"
    clock.advance(seconds=1)
    assert await svc.sweeps.archive_completed() == 1
    assert await status(svc, order) == "archived"
    assert await svc.sweeps.archive_completed() == 0


async def test_tracking_updates_as_the_parcel_moves(svc: Services, shop: ShopData,
                                                    clock: FakeClock) -> None:
    [order] = await shipped(svc, shop)
    start = clock.now()
    # The sandbox carrier: accepted +1h, in transit +12h, out for delivery +2d, delivered +2d6h.
    journey = [(timedelta(hours=1), "accepted"), (timedelta(hours=12), "in_transit"),
               (timedelta(days=2), "out_for_delivery"), (timedelta(days=2, hours=6), "delivered")]
    codes: list[str] = []
    for at, code in journey:
        clock.advance(start + at - timedelta(seconds=1) - clock.now())
        assert await svc.tracking.poll() == 0
        assert len(await told(svc, "tracking_update")) == len(codes)
        clock.advance(seconds=1)
        assert await svc.tracking.poll() == 1
        codes.append(code)
        assert len(await told(svc, "tracking_update")) == len(codes)
    assert await status(svc, order) == "delivered"
    assert await told(svc, "tracking_update") == [(3000, order.id)] * 4


async def test_stock_back_by_any_road_reallocates_and_tells_subscribers(
        svc: Services, shop: ShopData, clock: FakeClock) -> None:
    [order] = await out_of_stock(svc, shop)
    fan = await buyer(svc, 4500)
    assert await svc.inventory.subscribe(fan.id, shop.gone)
    assert await svc.inventory.sweep_back_in_stock() == 0  # nothing came back yet
    assert await status(svc, order) == "out_of_stock"
    assert await told(svc, "order_back_in_stock") == [] and await told(svc, "product_back_in_stock") == []

    clock.advance(hours=3)
    await set_stock(svc, shop.mug, shop.gd, 1)  # a CSV import, not a restock
    await set_stock(svc, shop.gone, shop.sh, 4)
    assert await svc.inventory.sweep_back_in_stock() == 2
    assert await status(svc, order) == "awaiting_review"
    assert await told(svc, "order_back_in_stock") == [(4000, order.id)]
    assert await told(svc, "product_back_in_stock") == [(4500, None)]
    assert await svc.inventory.sweep_back_in_stock() == 0  # each told once


async def test_stock_back_gives_scarce_units_to_the_oldest_order(
        svc: Services, shop: ShopData, clock: FakeClock) -> None:
    first, second = await out_of_stock(svc, shop, 2)
    await set_stock(svc, shop.mug, shop.sh, 1)
    assert await svc.inventory.sweep_back_in_stock() == 1
    assert (await status(svc, first), await status(svc, second)) == ("awaiting_review", "out_of_stock")
    await set_stock(svc, shop.mug, shop.gd, 1)
    assert await svc.inventory.sweep_back_in_stock() == 1
    assert await status(svc, second) == "awaiting_review"
    assert await moves(svc, "awaiting_review") == 2
