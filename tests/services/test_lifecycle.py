"""The happy path through every state of the order lifecycle, on SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from models import OrderEvent, OutboxMessage, Payment, Stock, StockReservation
from services.container import Services
from services.errors import InvalidTransition
from tests.conftest import ADMIN_CHAT, make_context
from tests.shop import ShopData, buyer, pay, place


async def stock_of(svc: Services, product_id: int) -> list[tuple[int, int, int]]:
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(Stock.warehouse_id, Stock.on_hand, Stock.reserved)
                               .where(Stock.product_id == product_id).order_by(Stock.warehouse_id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def outbox(svc: Services) -> list[tuple[str, int, str]]:
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(OutboxMessage.audience, OutboxMessage.chat_id,
                                      OutboxMessage.template).order_by(OutboxMessage.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_online_order_from_checkout_to_archive(svc: Services, shop: ShopData, clock) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.tea: 2, shop.mug: 1})
    assert placed.status == "pending_payment" and placed.created
    assert placed.total == 2 * 5000 + 2500 + 1000
    assert await stock_of(svc, shop.tea) == [(shop.sh, 10, 2)]
    assert (await svc.cart.view(customer.id)).is_empty

    assert (await pay(svc, placed)).status == "awaiting_review"
    await svc.orders.confirm(placed.id, "admin:1")
    shipments = await svc.orders.pack(placed.id, "admin:1")
    assert len(shipments) == 1 and shipments[0].warehouse_id == shop.sh
    await svc.orders.ship(placed.id, "admin:1", "sandbox", " SF 1234 5678 ")
    assert await stock_of(svc, shop.tea) == [(shop.sh, 8, 0)]

    await svc.orders.mark_delivered(placed.id, "carrier:sandbox")
    await svc.orders.confirm_receipt(customer.id, placed.id)
    clock.advance(days=16)
    assert await svc.sweeps.archive_completed() == 1

    detail = await svc.orders.detail(placed.id, customer.id)
    assert detail.status == "archived" and detail.paid == placed.total
    assert [e.to_status for e in detail.events] == [
        "pending_payment", "awaiting_review", "awaiting_shipment", "shipped", "delivered",
        "completed", "archived",
    ]
    assert detail.shipments[0].tracking_number == "SF12345678"
    sent = await outbox(svc)
    # The checkout answered in the chat with the payment step: no second "placed" message.
    assert ("customer", 1001, "order_placed") not in sent
    assert ("admin", ADMIN_CHAT, "alert_new_order") in sent
    assert ("customer", 1001, "order_shipped") in sent


async def test_cash_on_delivery_is_reviewed_and_captured_on_delivery(svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.mug: 1}, payment="cod")
    assert placed.status == "awaiting_review" and placed.payment_deadline is None
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "manual", "VAN-7")
    await svc.orders.mark_delivered(placed.id, "admin:1")
    detail = await svc.orders.detail(placed.id)
    assert detail.status == "delivered" and detail.paid == placed.total


async def test_review_off_goes_straight_to_shipment(svc: Services, shop: ShopData, db, clock) -> None:
    from services.container import build_services

    fast = build_services(make_context(db, replace(svc.ctx.rules, review_required=False), clock))
    placed = await place(fast, await buyer(fast), {shop.tea: 1})
    assert (await pay(fast, placed)).status == "awaiting_shipment"


async def test_unpaid_order_expires_and_releases_stock(svc: Services, shop: ShopData, clock) -> None:
    placed = await place(svc, await buyer(svc), {shop.last: 1})
    clock.advance(minutes=25)
    assert await svc.sweeps.remind_unpaid() == 1
    assert await svc.sweeps.remind_unpaid() == 0
    assert await svc.sweeps.expire_unpaid() == 0
    clock.advance(minutes=6)
    assert await svc.sweeps.expire_unpaid() == 1
    assert await svc.sweeps.expire_unpaid() == 0
    assert await stock_of(svc, shop.last) == [(shop.sh, 1, 0)]
    assert (await svc.orders.detail(placed.id)).status == "expired"


async def test_payment_after_expiry_is_refunded_and_order_stays_expired(
    svc: Services, shop: ShopData, clock
) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    clock.advance(minutes=31)
    await svc.sweeps.expire_unpaid()
    outcome = await pay(svc, placed)
    assert outcome.status == "expired" and outcome.refunded == placed.total
    detail = await svc.orders.detail(placed.id)
    assert detail.status == "expired" and detail.paid == detail.refunded == placed.total
    assert ("admin", ADMIN_CHAT, "alert_payment_problem") in await outbox(svc)


async def test_customer_cancels_paid_order_gets_refund(svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.tea: 3})
    await pay(svc, placed)
    await svc.orders.cancel_by_customer(customer.id, placed.id, "changed my mind")
    detail = await svc.orders.detail(placed.id)
    assert detail.status == "cancelled" and detail.refunded == placed.total
    assert await stock_of(svc, shop.tea) == [(shop.sh, 10, 0)]


async def test_shipped_order_cannot_be_cancelled(svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.tea: 1})
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "sandbox", "SF1")
    with pytest.raises(InvalidTransition):
        await svc.orders.cancel_by_customer(customer.id, placed.id)
    with pytest.raises(InvalidTransition):
        await svc.orders.cancel_by_merchant(placed.id, "admin:1", "oops")
    assert (await svc.orders.detail(placed.id)).status == "shipped"


async def test_auto_complete_after_receipt_window_with_reminder(svc: Services, shop: ShopData, clock) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.tea: 1})
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "sandbox", "SF1")
    await svc.orders.mark_delivered(placed.id, "admin:1")
    clock.advance(days=5, hours=23)
    assert await svc.sweeps.auto_complete() == 0
    assert await svc.sweeps.remind_receipt() == 0
    clock.advance(hours=2)
    assert await svc.sweeps.remind_receipt() == 1
    assert await svc.sweeps.auto_complete() == 0
    clock.advance(days=1)
    assert await svc.sweeps.auto_complete() == 1
    assert (await svc.orders.detail(placed.id)).status == "completed"


async def test_lost_reservation_at_payment_means_out_of_stock_then_restock(
    svc: Services, shop: ShopData
) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.last: 1})
    async with svc.ctx.db.write() as s:  # the merchant's stock count found the scarf damaged
        from services.inventory import stock

        await stock.release(s, placed.id, svc.ctx.clock.now())
        row = await s.get(Stock, (shop.last, shop.sh))
        row.on_hand = 0
    assert (await pay(svc, placed)).status == "out_of_stock"
    result = await svc.inventory.restock("LAST-1", "SH", 3, "admin:1")
    assert result.reallocated_orders == (placed.number,)
    assert (await svc.orders.detail(placed.id)).status == "awaiting_review"
    assert await stock_of(svc, shop.last) == [(shop.sh, 3, 1)]


async def test_same_payment_event_twice_counts_once(svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    first = await pay(svc, placed, charge_id="ch_same")
    again = await pay(svc, placed, charge_id="ch_same")
    assert not first.duplicate and again.duplicate
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Payment.id))) == 1
        assert await s.scalar(select(func.count(OrderEvent.id))) == 2
        assert await s.scalar(select(func.count(StockReservation.id))) == 1
