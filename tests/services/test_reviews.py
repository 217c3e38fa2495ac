"""Reviews: once per completed order, per product, low ratings alerted; SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, Review
from services.container import Services
from services.customers import CustomerView
from services.errors import InvalidInput, InvalidTransition, NotFound
from services.orders.dto import PlacedOrder
from tests.conftest import ADMIN_CHAT
from tests.shop import ShopData, buyer, pay, place

ADMIN = "admin:1"


@pytest.fixture
async def customer(svc: Services) -> CustomerView:
    return await buyer(svc)


async def received(svc: Services, customer: CustomerView, items: dict[int, int],
                   confirm: bool = True) -> PlacedOrder:
    """An order delivered and (by default) confirmed received by the customer."""
    placed = await place(svc, customer, items)
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, ADMIN)
    await svc.orders.ship(placed.id, ADMIN, "sandbox", "SF1")
    await svc.orders.mark_delivered(placed.id, ADMIN)
    if confirm:
        await svc.orders.confirm_receipt(customer.id, placed.id)
    return placed


async def alerts(svc: Services) -> list[tuple[int, dict[str, object]]]:
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(OutboxMessage.chat_id, OutboxMessage.params)
                               .where(OutboxMessage.template == "alert_low_rating"))
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_completed_order_is_reviewed_once_per_product(svc: Services, shop: ShopData,
                                                            customer: CustomerView) -> None:
    order = await received(svc, customer, {shop.tea: 2, shop.mug: 1})
    reviews = await svc.reviews.review(customer.id, order.id, 5, "  Lovely tea, sturdy mug ")
    assert sorted(r.product_id for r in reviews) == sorted([shop.tea, shop.mug])
    assert {(r.rating, r.text, r.customer_name) for r in reviews} == {
        (5, "Lovely tea, sturdy mug", customer.name)}
    assert await alerts(svc) == []

    with pytest.raises(InvalidInput) as again:
        await svc.reviews.review(customer.id, order.id, 1, "changed my mind")
    assert again.value.params == {"field": "review", "reason": "already_reviewed"}
    assert [r.rating for r in await svc.reviews.for_product(shop.tea)] == [5]


async def test_low_rating_alerts_the_merchant(svc: Services, shop: ShopData,
                                              customer: CustomerView) -> None:
    order = await received(svc, customer, {shop.tea: 1})
    await svc.reviews.review(customer.id, order.id, 2, "Tasted of dust")
    assert await alerts(svc) == [(ADMIN_CHAT, {"order_number": order.number, "rating": 2,
                                               "text": "Tasted of dust"})]


async def test_newest_reviews_of_a_product_first(svc: Services, shop: ShopData, clock) -> None:
    for telegram_id, stars in ((3001, 4), (3002, 3), (3003, 5)):
        someone = await buyer(svc, telegram_id)
        order = await received(svc, someone, {shop.mug: 1})
        await svc.reviews.review(someone.id, order.id, stars)
        clock.advance(minutes=1)
    assert [r.rating for r in await svc.reviews.for_product(shop.mug, limit=2)] == [5, 3]
    with pytest.raises(InvalidInput):
        await svc.reviews.for_product(shop.mug, limit=10_000)


async def test_only_own_completed_orders_with_a_valid_rating(svc: Services, shop: ShopData,
                                                             customer: CustomerView) -> None:
    delivered = await received(svc, customer, {shop.tea: 1}, confirm=False)
    with pytest.raises(InvalidTransition):
        await svc.reviews.review(customer.id, delivered.id, 5)
    order = await received(svc, customer, {shop.mug: 1})
    stranger = await buyer(svc, 2002)
    with pytest.raises(NotFound):
        await svc.reviews.review(stranger.id, order.id, 5)
    for bad in (0, 6, "5", 4.5, True, None):
        with pytest.raises(InvalidInput) as refused:
            await svc.reviews.review(customer.id, order.id, bad)  # type: ignore[arg-type]
        assert refused.value.params["field"] == "rating"
    with pytest.raises(InvalidInput) as long:
        await svc.reviews.review(customer.id, order.id, 4, "x" * 1001)
    assert long.value.params["field"] == "text"
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Review.id))) == 0


async def test_two_reviews_at_once_one_is_kept(svc: Services, shop: ShopData,
                                               customer: CustomerView) -> None:
    order = await received(svc, customer, {shop.tea: 1, shop.mug: 1})
    results = await asyncio.gather(svc.reviews.review(customer.id, order.id, 5, "great"),
                                   svc.reviews.review(customer.id, order.id, 1, "awful"),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["InvalidInput", "list"]
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Review.id))) == 2
        assert await s.scalar(select(func.count(func.distinct(Review.rating)))) == 1
