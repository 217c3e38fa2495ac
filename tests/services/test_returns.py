"""After-sales: returns, exchanges and refunds through the services, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.i18n import Translator
from handlers.notifications import notice_text
from models import OutboxMessage, Refund, ReturnRequest, Shipment, Stock
from services.clock import FakeClock
from services.container import Services
from services.customers import CustomerView
from services.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    OutOfStock,
    WindowClosed,
)
from services.orders.dto import OrderDetail
from services.rules import ReturnAddress
from tests.conftest import ADMIN_CHAT, TEST_RULES
from tests.shop import ShopData, buyer, pay, place

TEA = 5000
ADMIN = "admin:1"


@pytest.fixture
async def customer(svc: Services) -> CustomerView:
    return await buyer(svc)


async def delivered(svc: Services, customer: CustomerView, items: dict[int, int]) -> OrderDetail:
    """An order the customer paid for and received."""
    placed = await place(svc, customer, items)
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, ADMIN)
    await svc.orders.ship(placed.id, ADMIN, "sandbox", "SF1")
    await svc.orders.mark_delivered(placed.id, ADMIN)
    return await svc.orders.detail(placed.id)


async def on_hand(svc: Services, product_id: int, warehouse_id: int) -> int:
    async with svc.ctx.db.read() as s:
        row = await s.get(Stock, (product_id, warehouse_id))
        return row.on_hand if row else 0


async def outbox(svc: Services, template: str) -> list[tuple[str, int, dict[str, Any]]]:
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(OutboxMessage.audience, OutboxMessage.chat_id,
                                      OutboxMessage.params)
                               .where(OutboxMessage.template == template).order_by(OutboxMessage.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_return_restock_partial_refund_then_the_rest(svc: Services, shop: ShopData,
                                                            customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    line = order.lines[0].id
    assert await on_hand(svc, shop.tea, shop.sh) == 7

    asked = await svc.returns.request(customer.id, order.id, "return", "Leaves are stale",
                                      [(line, 2)], photos=["file-1", "file-2"])
    assert asked.status == "requested" and asked.value == 2 * TEA and asked.photos == ("file-1", "file-2")
    assert [p["return_id"] for _, chat, p in await outbox(svc, "return_requested")
            if chat == ADMIN_CHAT] == [asked.id]

    assert (await svc.returns.approve(asked.id, ADMIN)).status == "approved"
    received = await svc.returns.receive(asked.id, ADMIN, restock=True)
    assert received.status == "received" and received.restocked is True
    assert await on_hand(svc, shop.tea, shop.sh) == 9

    part = await svc.returns.refund(asked.id, ADMIN, 4000)
    assert part.status == "refunded" and part.refunded_amount == 4000
    rest = await svc.returns.refund(asked.id, ADMIN)
    assert rest.refunded_amount == 2 * TEA
    assert (await svc.orders.detail(order.id)).refunded == 2 * TEA

    left = order.total - 2 * TEA
    with pytest.raises(InvalidInput) as over:  # refused before any step: says what is left
        await svc.returns.refund(asked.id, ADMIN, left + 1)
    assert over.value.params == {"field": "amount", "reason": "over_refundable", "refundable": left}
    assert (await svc.returns.get(asked.id)).refunded_amount == 2 * TEA
    assert (await svc.orders.detail(order.id)).refunded == 2 * TEA

    closed = await svc.returns.close(asked.id, f"customer:{customer.id}", satisfied=True)
    assert closed.status == "closed" and closed.satisfied is True
    assert [p["amount"] for _, _, p in await outbox(svc, "return_refunded")] == [4000, 6000]
    assert [r.id for r in await svc.returns.for_order(order.id, customer.id)] == [asked.id]
    with pytest.raises(InvalidTransition):
        await svc.returns.refund(asked.id, ADMIN, 1)


async def test_exchange_ships_a_replacement_from_stock(svc: Services, shop: ShopData,
                                                       customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    asked = await svc.returns.request(customer.id, order.id, "exchange", "Wrong flavour",
                                      [(order.lines[0].id, 1)])
    await svc.returns.approve(asked.id, ADMIN)
    await svc.returns.receive(asked.id, ADMIN, restock=False)
    assert await on_hand(svc, shop.tea, shop.sh) == 7
    with pytest.raises(InvalidTransition):  # received once only
        await svc.returns.receive(asked.id, ADMIN, restock=False)

    done = await svc.returns.ship_replacement(asked.id, ADMIN, "sandbox", "SF 2")
    assert done.status == "replaced"
    assert await on_hand(svc, shop.tea, shop.sh) == 6
    shipments = [s for s in (await svc.orders.detail(order.id)).shipments if s.is_replacement]
    assert len(shipments) == 1 and shipments[0].tracking_number == "SF2"
    assert [p["tracking_number"] for _, _, p in await outbox(svc, "replacement_shipped")] == ["SF2"]
    assert (await svc.returns.close(asked.id, ADMIN, satisfied=None)).status == "closed"


async def test_replacement_without_free_stock_is_out_of_stock(svc: Services, shop: ShopData,
                                                              customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.last: 1})
    asked = await svc.returns.request(customer.id, order.id, "exchange", "Torn", [(order.lines[0].id, 1)])
    await svc.returns.approve(asked.id, ADMIN)
    await svc.returns.receive(asked.id, ADMIN, restock=False)
    with pytest.raises(OutOfStock):
        await svc.returns.ship_replacement(asked.id, ADMIN, "sandbox", "SF3")
    assert (await svc.returns.get(asked.id)).status == "received"
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Shipment.id)).where(
            Shipment.return_request_id == asked.id)) == 0


async def test_refund_only_needs_no_goods_back(svc: Services, shop: ShopData,
                                               customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.mug: 2})
    asked = await svc.returns.request(customer.id, order.id, "refund", "One mug never arrived", [])
    await svc.returns.approve(asked.id, ADMIN)
    with pytest.raises(InvalidTransition):
        await svc.returns.receive(asked.id, ADMIN, restock=True)
    with pytest.raises(InvalidInput) as nothing:  # no lines: the merchant names the amount
        await svc.returns.refund(asked.id, ADMIN)
    assert nothing.value.params["field"] == "amount"
    refunded = await svc.returns.refund(asked.id, ADMIN, 2500)
    assert refunded.status == "refunded" and refunded.refunded_amount == 2500
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(Refund.return_request_id)) == asked.id


async def test_rejection_tells_the_reason_and_frees_the_quantity(svc: Services, shop: ShopData,
                                                                 customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    line = order.lines[0].id
    asked = await svc.returns.request(customer.id, order.id, "return", "Changed my mind", [(line, 3)])
    rejected = await svc.returns.reject(asked.id, ADMIN, "Opened food cannot be returned")
    assert rejected.status == "rejected" and rejected.merchant_note == "Opened food cannot be returned"
    assert await outbox(svc, "return_rejected") == [
        ("customer", customer.telegram_id, {"order_number": order.number, "return_id": asked.id,
                                            "reason": "Opened food cannot be returned"})]
    await svc.returns.close(asked.id, ADMIN)
    again = await svc.returns.request(customer.id, order.id, "return", "Really stale", [(line, 3)])
    assert again.status == "requested"


async def test_bad_requests_are_refused(svc: Services, shop: ShopData, customer: CustomerView,
                                        clock: FakeClock) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    other_order = await delivered(svc, customer, {shop.mug: 1})
    line = order.lines[0].id
    stranger = await buyer(svc, 2002)

    with pytest.raises(NotFound):
        await svc.returns.request(stranger.id, order.id, "return", "mine now", [(line, 1)])
    with pytest.raises(NotFound):
        await svc.returns.for_order(order.id, stranger.id)

    for qty in (0, -1, 10**9, "1", True):
        with _field("quantity"):
            await svc.returns.request(customer.id, order.id, "return", "x", [(line, qty)])
    with _field("order_line_id"):
        await svc.returns.request(customer.id, order.id, "return", "x", [(other_order.lines[0].id, 1)])
    with _field("reason"):
        await svc.returns.request(customer.id, order.id, "return", "x" * 5000, [(line, 1)])
    with _field("reason"):
        await svc.returns.request(customer.id, order.id, "return", "   ", [(line, 1)])
    with _field("photos"):
        await svc.returns.request(customer.id, order.id, "return", "x", [(line, 1)],
                                  photos=[f"p{i}" for i in range(6)])
    with _field("photos"):
        await svc.returns.request(customer.id, order.id, "return", "x", [(line, 1)], photos=["p" * 257])
    with _field("kind"):
        await svc.returns.request(customer.id, order.id, "swap", "x", [(line, 1)])
    with _field("lines"):
        await svc.returns.request(customer.id, order.id, "return", "x", [])

    await svc.returns.request(customer.id, order.id, "return", "first two", [(line, 2)])
    with _field("quantity"):  # 2 + 2 > 3 delivered
        await svc.returns.request(customer.id, order.id, "exchange", "two more", [(line, 2)])
    with _field("quantity"):  # the same line twice in one request adds up
        await svc.returns.request(customer.id, order.id, "return", "sneaky", [(line, 1), (line, 1)])

    clock.advance(svc.ctx.rules.return_window + timedelta(seconds=1))
    with pytest.raises(WindowClosed):
        await svc.returns.request(customer.id, order.id, "return", "late", [(line, 1)])
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(ReturnRequest.id))) == 1


@contextmanager
def _field(field: str) -> Iterator[None]:
    """pytest.raises(InvalidInput) that also checks the field it names."""
    with pytest.raises(InvalidInput) as refused:
        yield
    assert refused.value.params.get("field") == field, refused.value.params


async def test_undelivered_order_cannot_be_returned(svc: Services, shop: ShopData,
                                                    customer: CustomerView) -> None:
    placed = await place(svc, customer, {shop.tea: 1})
    await pay(svc, placed)
    line = (await svc.orders.detail(placed.id)).lines[0].id
    with pytest.raises(InvalidTransition):
        await svc.returns.request(customer.id, placed.id, "refund", "where is it", [(line, 1)])


async def test_out_of_order_step_changes_nothing(svc: Services, shop: ShopData,
                                                 customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    asked = await svc.returns.request(customer.id, order.id, "return", "stale", [(order.lines[0].id, 1)])
    for step in (svc.returns.refund(asked.id, ADMIN, 100), svc.returns.receive(asked.id, ADMIN, True),
                 svc.returns.ship_replacement(asked.id, ADMIN, "sandbox", "SF9"),
                 svc.returns.close(asked.id, ADMIN, True)):
        with pytest.raises(InvalidTransition):
            await step
    after = await svc.returns.get(asked.id, customer.id)
    assert after == asked
    assert (await svc.orders.detail(order.id)).refunded == 0
    assert await on_hand(svc, shop.tea, shop.sh) == 7


async def test_two_merchants_approve_at_once_one_wins(svc: Services, shop: ShopData,
                                                      customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    asked = await svc.returns.request(customer.id, order.id, "return", "stale", [(order.lines[0].id, 1)])
    results = await asyncio.gather(svc.returns.approve(asked.id, "admin:1"),
                                   svc.returns.approve(asked.id, "admin:2"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["InvalidTransition", "ReturnView"]
    assert len(await outbox(svc, "return_approved_goods")) == 1  # no return address set here


async def test_two_concurrent_refunds_pay_once(svc: Services, shop: ShopData,
                                               customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 3})
    asked = await svc.returns.request(customer.id, order.id, "return", "stale", [(order.lines[0].id, 1)])
    await svc.returns.approve(asked.id, ADMIN)
    await svc.returns.receive(asked.id, ADMIN, restock=True)
    results = await asyncio.gather(svc.returns.refund(asked.id, "admin:1"),
                                   svc.returns.refund(asked.id, "admin:2"), return_exceptions=True)
    # The loser either lost the compare-and-set or, serialised after the winner, found nothing left.
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, InvalidTransition | InvalidInput) for r in results
               if isinstance(r, Exception))
    assert (await svc.orders.detail(order.id)).refunded == TEA


@pytest.mark.parametrize("rules", [replace(TEST_RULES, return_addresses=(
    ReturnAddress("SH", "Returns desk, 1 Test Road, Shanghai", "上海市测试路 1 号 退货处"),))])
async def test_approval_says_where_goods_go_back_in_the_customers_language(
        svc: Services, shop: ShopData) -> None:
    wang = await buyer(svc, 3003, "zh_CN")
    order = await delivered(svc, wang, {shop.tea: 2})
    line = order.lines[0].id
    goods = await svc.returns.request(wang.id, order.id, "exchange", "破了", [(line, 1)])
    money = await svc.returns.request(wang.id, order.id, "refund", "少了", [(line, 1)])
    await svc.returns.approve(goods.id, ADMIN)
    await svc.returns.approve(money.id, ADMIN)
    [(_, chat, params)] = await outbox(svc, "return_approved_send")
    assert chat == 3003 and params["return_id"] == goods.id
    text = notice_text(Translator("zh_CN", "Asia/Shanghai"), "return_approved_send", params,
                       svc.ctx)
    assert "请将商品寄回：\n上海市测试路 1 号 退货处\n" in text and order.number in text
    assert [p["return_id"] for _, _, p in await outbox(svc, "return_approved")] == [money.id]


async def test_approval_without_a_return_address_says_the_shop_will_tell(
        svc: Services, shop: ShopData, customer: CustomerView) -> None:
    order = await delivered(svc, customer, {shop.tea: 1})
    asked = await svc.returns.request(customer.id, order.id, "return", "dented",
                                      [(order.lines[0].id, 1)])
    await svc.returns.approve(asked.id, ADMIN)
    [(_, _, params)] = await outbox(svc, "return_approved_goods")
    assert "will message you where to send" in notice_text(
        Translator("en", "Asia/Shanghai"), "return_approved_goods", params, svc.ctx)
