"""Phone and e-mail orders entered by the merchant: the customer by phone, the usual lifecycle."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from models import Customer, Order, OutboxMessage
from services.container import Services
from services.errors import InvalidInput, NotAllowed, NotFound
from services.phone_orders import PhoneOrderRequest
from tests.shop import ShopData, buyer, pay, place

ADMIN = "admin:9001"
REQUEST = PhoneOrderRequest(
    key="phone-key-0001", name="Wang Fang", phone="139 1234 5678", region="Shanghai",
    city="Shanghai", line="1 Huaihai Road", lines=(("TEA-1", 2), ("MUG-1", 1)),
    delivery="standard", payment="cod",
)


async def count(svc: Services, model: type) -> int:
    async with svc.ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_cash_order_for_a_new_phone_customer(svc: Services, shop: ShopData) -> None:
    result = await svc.phone_orders.place(REQUEST, ADMIN)
    assert result.order.created and result.order.status == "awaiting_review"
    assert result.stock_reserved and not result.uses_bot and result.payment_link is None
    detail = await svc.orders.detail(result.order.id)
    assert (detail.channel, detail.phone, detail.recipient_name) == ("phone", "+8613912345678", "Wang Fang")
    assert detail.total == 2 * 5000 + 2500 + 1000
    async with svc.ctx.db.read() as s:
        customer = await s.get(Customer, result.customer_id)
        assert customer is not None and customer.telegram_id is None
        assert customer.phone == "+8613912345678"
        templates = list(await s.scalars(select(OutboxMessage.template)))
    assert templates == ["alert_new_order"]  # no chat to tell the customer in
    # The same order follows the lifecycle: the merchant confirms and ships.
    await svc.orders.confirm(result.order.id, ADMIN)
    await svc.orders.ship(result.order.id, ADMIN, "sandbox", "SF2002")
    assert (await svc.orders.detail(result.order.id)).status == "shipped"


async def test_the_same_key_places_one_order(svc: Services, shop: ShopData) -> None:
    first = await svc.phone_orders.place(REQUEST, ADMIN)
    again = await svc.phone_orders.place(REQUEST, ADMIN)
    assert again.order.id == first.order.id and not again.order.created
    assert await count(svc, Order) == 1


async def test_a_second_order_reuses_the_phone_customer(svc: Services, shop: ShopData) -> None:
    first = await svc.phone_orders.place(REQUEST, ADMIN)
    second = await svc.phone_orders.place(replace(REQUEST, key="phone-key-0002",
                                                  phone="+86 139-1234-5678"), ADMIN)
    assert second.customer_id == first.customer_id
    assert await count(svc, Customer) == 1


async def test_a_bot_user_with_that_phone_gets_the_order(svc: Services, shop: ShopData) -> None:
    li = await buyer(svc, 1001)
    await place(svc, li, {shop.tea: 1})  # their address has +86 138 0013 8000
    result = await svc.phone_orders.place(replace(REQUEST, phone="13800138000",
                                                  payment="link"), ADMIN)
    assert result.customer_id == li.id and result.uses_bot
    assert result.order.status == "pending_payment"
    assert result.payment_link and result.payment_link.startswith("http://pay.test")
    mine, _ = await svc.orders.for_customer(li.id)
    assert result.order.number in [o.number for o in mine]
    async with svc.ctx.db.read() as s:
        told = await s.scalar(select(func.count()).where(
            OutboxMessage.chat_id == 1001, OutboxMessage.template == "order_placed",
            OutboxMessage.order_id == result.order.id))
    assert told == 1
    assert (await pay(svc, result.order)).status == "awaiting_review"


async def test_not_enough_stock_places_a_backorder(svc: Services, shop: ShopData) -> None:
    result = await svc.phone_orders.place(replace(REQUEST, lines=(("GONE-1", 1),),
                                                  payment="link"), ADMIN)
    assert result.order.created and not result.stock_reserved
    assert (await pay(svc, result.order)).status == "out_of_stock"
    moved = await svc.inventory.restock("GONE-1", "SH", 1, ADMIN)
    assert moved.reallocated_orders == (result.order.number,)


async def test_the_same_sku_twice_adds_up(svc: Services, shop: ShopData) -> None:
    result = await svc.phone_orders.place(replace(REQUEST, lines=(("TEA-1", 1), ("TEA-1", 2))), ADMIN)
    detail = await svc.orders.detail(result.order.id)
    assert [(ln.sku, ln.quantity) for ln in detail.lines] == [("TEA-1", 3)]


@pytest.mark.parametrize(("change", "error", "params"), [
    ({"phone": "12"}, InvalidInput, {"field": "phone"}),
    ({"phone": "🙂" * 40}, InvalidInput, {"field": "phone"}),
    ({"name": ""}, InvalidInput, {"field": "recipient"}),
    ({"name": "x" * 5000}, InvalidInput, {"field": "recipient"}),
    ({"line": "x"}, InvalidInput, {"field": "address_line"}),
    ({"lines": ()}, InvalidInput, {"field": "lines"}),
    ({"lines": (("NOPE-1", 1),)}, NotFound, {"what": "product"}),
    ({"lines": (("TEA-1", 0),)}, InvalidInput, {"field": "quantity"}),
    ({"lines": (("TEA-1", -1),)}, InvalidInput, {"field": "quantity"}),
    ({"lines": (("TEA-1", 10**9),)}, InvalidInput, {"field": "quantity"}),
    ({"lines": (("TEA-1", 60), ("TEA-1", 60))}, InvalidInput, {"field": "quantity"}),
    ({"delivery": "teleport"}, InvalidInput, {"field": "delivery"}),
    ({"payment": "bitcoin"}, InvalidInput, {"field": "payment_method"}),
    ({"payment": "cod", "delivery": "express"}, NotAllowed, {"what": "cod_delivery"}),
    ({"email": "not-an-email"}, InvalidInput, {"field": "email"}),
    ({"key": "short"}, InvalidInput, {"field": "checkout_key"}),
])
async def test_bad_input_places_nothing(svc: Services, shop: ShopData, change: dict[str, object],
                                        error: type[Exception], params: dict[str, str]) -> None:
    with pytest.raises(error) as raised:
        await svc.phone_orders.place(replace(REQUEST, **change), ADMIN)  # type: ignore[arg-type]
    assert params.items() <= raised.value.params.items()  # type: ignore[attr-defined]
    assert await count(svc, Order) == 0 and await count(svc, Customer) == 0


async def test_a_customer_checkout_key_is_not_a_phone_order(svc: Services, shop: ShopData) -> None:
    await place(svc, await buyer(svc), {shop.tea: 1}, key="customer-key-01")
    with pytest.raises(NotAllowed):
        await svc.phone_orders.place(replace(REQUEST, key="customer-key-01"), ADMIN)
