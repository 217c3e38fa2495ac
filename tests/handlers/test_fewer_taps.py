"""Fewer taps to a placed order: "Buy now" on a card, and what a forged or repeated press does."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from handlers.events import (
    AnswerPreCheckout,
    AnswerShipping,
    OrderInfo,
    Payment,
    SendInvoice,
    ShippingAddress,
    ShippingQuery,
)
from handlers.router import Conversation
from models import Order, OrderLine, Product
from services.container import Services, build_services
from services.payments.providers import ProviderRegistry
from services.payments.telegram import TelegramPayments
from tests.handlers.chat import CoreChat
from tests.handlers.test_checkout import orders_of, type_address
from tests.shop import ShopData, buyer, place


async def test_buy_now_checks_out_one_unit_and_leaves_the_cart(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc, chat.user.id)
    await svc.cart.add(customer.id, shop.mug, 3)  # collected earlier, for later
    await chat.press(f"prod:{shop.tea}")
    await chat.click("Buy now")
    assert "Who will receive" in chat.last_text
    await type_address(chat)
    await chat.click("Standard delivery")
    await chat.click("Pay online")
    assert "Green tea × 1" in chat.last_text and "Mug" not in chat.last_text
    assert "Total: CN¥60.00" in chat.last_text
    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    async with svc.ctx.db.read() as session:
        lines = (await session.scalars(select(OrderLine))).all()
    assert [(ln.product_id, ln.quantity) for ln in lines] == [(shop.tea, 1)]
    assert order.total == 6000
    cart = await svc.cart.view(customer.id)
    assert [(ln.product_id, ln.quantity) for ln in cart.lines] == [(shop.mug, 3)]


async def test_buy_now_twice_keeps_one_checkout(chat: CoreChat, svc: Services,
                                                shop: ShopData) -> None:
    await chat.press(f"prod:{shop.tea}")
    await chat.click("Buy now")
    first = chat.last_text
    await chat.click("Buy now")  # a double click
    assert chat.texts == [] and chat.answers[0].text == (
        "Your checkout of this item is already open below.")
    assert chat.last_text == first


async def test_buy_now_on_a_sold_out_or_missing_product(chat: CoreChat, svc: Services,
                                                        shop: ShopData) -> None:
    await chat.press(f"buy:{shop.gone}")  # forged: a sold-out card has no Buy now button
    assert chat.answers[0].text == "Sorry, there is not enough stock (0 left)." and not chat.texts
    await chat.press("buy:999999")  # a product that does not exist
    assert chat.answers[0].text == "Sorry, this product is no longer available."
    for forged in ("buy:-1", "buy:abc", "buy:1:2"):
        await chat.press(forged)
        assert chat.answers[0].text == "This button is no longer valid. Please open the menu again."
    assert await orders_of(svc) == []
    state = await svc.conversation.load(chat.user.id)
    assert not state.name.startswith("checkout")


async def test_buy_now_when_the_last_unit_goes_before_confirm(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await chat.press(f"buy:{shop.last}")
    await type_address(chat)
    await chat.click("Standard delivery")
    await chat.click("Pay online")
    await place(svc, await buyer(svc, 4242), {shop.last: 1})  # somebody takes the last scarf
    await chat.click("Confirm order")
    assert "stock" in (chat.answers[0].text + chat.last_text).lower()
    assert len(await orders_of(svc)) == 1


async def test_only_a_card_in_stock_offers_buy_now(chat: CoreChat, shop: ShopData) -> None:
    await chat.press(f"prod:{shop.tea}")
    assert "⚡ Buy now" in chat.buttons()
    chat.messages.clear()
    await chat.press(f"prod:{shop.gone}")
    assert "⚡ Buy now" not in chat.buttons()


async def test_one_delivery_option_and_one_method_are_not_asked(
        conversation: Conversation, svc: Services, shop: ShopData) -> None:
    rules = svc.ctx.rules
    single = replace(rules, delivery_options=rules.delivery_options[:1],
                     payment_methods=("sandbox",))
    conversation.services = replace(svc, ctx=replace(svc.ctx, rules=single))
    chat = CoreChat(conversation)
    await chat.press(f"buy:{shop.tea}")
    await type_address(chat)
    assert "Please check your order" in chat.last_text  # no delivery, no payment screen
    assert "Standard delivery" in chat.last_text and "Pay online" in chat.last_text
    assert [b for b in chat.buttons() if b.startswith("✏️")] == ["✏️ Address"]


async def test_a_returning_customer_starts_at_the_review(chat: CoreChat, svc: Services,
                                                         shop: ShopData) -> None:
    customer = await buyer(svc, chat.user.id)
    await place(svc, customer, {shop.mug: 1}, delivery="pickup", payment="cod")
    await chat.press(f"buy:{shop.tea}")
    text = chat.last_text
    assert "Please check your order" in text and "Green tea × 1" in text
    assert "Li Lei, 138 0013 8000" in text and "Pick up" in text and "Cash on delivery" in text
    assert {"✏️ Address", "✏️ Delivery", "✏️ Payment", "✅ Confirm order"} <= set(chat.buttons())
    await chat.click("✏️ Delivery")
    await chat.click("Express delivery")  # no cash with express: the one method left is taken
    assert "Please check your order" in chat.last_text and "Pay online" in chat.last_text
    await chat.click("Confirm order")
    orders = await orders_of(svc)
    assert (orders[-1].delivery_option, orders[-1].payment_method) == ("express", "sandbox")


async def delivered_order(svc: Services, telegram_id: int, items: dict[int, int],
                          status: str = "completed") -> int:
    """An order of these items that reached the customer (its history is tested elsewhere)."""
    placed = await place(svc, await buyer(svc, telegram_id), items)
    async with svc.ctx.db.write() as session:
        order = await session.get(Order, placed.id)
        assert order is not None
        order.status = status
    return placed.id


async def test_buy_again_at_todays_prices_and_stock(chat: CoreChat, svc: Services,
                                                    shop: ShopData) -> None:
    order_id = await delivered_order(svc, chat.user.id, {shop.tea: 2, shop.mug: 7, shop.last: 1})
    async with svc.ctx.db.write() as session:
        tea = await session.get(Product, shop.tea)
        assert tea is not None
        tea.price = 5500  # dearer now
        last = await session.get(Product, shop.last)
        assert last is not None
        last.active = False  # no longer sold
    await chat.command("/orders")
    await chat.click("🔁 Buy again: order No.")
    alert = chat.answers[0]
    assert alert.alert and "Last scarf: no longer sold" in alert.text
    assert "Mug: only 3 of 7 left" in alert.text  # 10 mugs, 7 went to the first order
    text = chat.last_text
    assert "Please check your order" in text  # a returning customer: straight to the review
    assert "Green tea × 2 — CN¥110.00" in text and "Mug × 3" in text and "scarf" not in text
    await chat.click("Confirm order")
    orders = await orders_of(svc)
    assert len(orders) == 2 and orders[1].subtotal == 2 * 5500 + 3 * 2500
    assert orders[0].id == order_id


async def test_buy_again_refused_politely(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc, chat.user.id)
    unpaid = await place(svc, customer, {shop.tea: 1})
    theirs = await delivered_order(svc, 4242, {shop.tea: 1})
    sold_out = await delivered_order(svc, chat.user.id, {shop.last: 1})
    await chat.press(f"again:{theirs}")  # someone else's order
    assert chat.answers[0].alert and "could not find that order" in chat.answers[0].text
    await chat.press(f"again:{unpaid.id}")  # not delivered: nothing to buy again yet
    assert chat.answers[0].alert and not chat.texts
    await chat.press(f"again:{sold_out}")
    assert chat.answers[0].text.startswith("Sorry, nothing from order No.")
    assert "Last scarf: sold out for now" in chat.answers[0].text
    for forged in ("again:-5", "again:x", "again:99999999"):
        await chat.press(forged)
        assert chat.answers[0].alert and not chat.texts
    assert len(await orders_of(svc)) == 3
    assert not (await svc.conversation.load(chat.user.id)).name


# --- Telegram's form: shipping and pre-checkout queries as the core sees them --------------
SHANGHAI = ShippingAddress("CN", "上海市", "上海市", "世纪大道100号", "", "200120")
FORM = OrderInfo("张三", "8613800138000", SHANGHAI)


def telegram_only(conversation: Conversation, svc: Services) -> Services:
    """The conversation's services with Telegram Payments as the one way to pay."""
    ctx = replace(svc.ctx, rules=replace(svc.ctx.rules, payment_methods=("telegram",)),
                  payments=ProviderRegistry([TelegramPayments()]))
    conversation.services = build_services(ctx)
    return conversation.services


async def form_invoice(chat: CoreChat, product_id: int) -> SendInvoice:
    """Buy now, Confirm: the invoice with Telegram's form."""
    await chat.press(f"buy:{product_id}")
    await chat.click("Confirm order")
    (invoice,) = [r for r in chat.last if isinstance(r, SendInvoice)]
    assert invoice.form
    return invoice


async def ship_to(chat: CoreChat, payload: str, address: ShippingAddress) -> AnswerShipping:
    await chat.deliver(chat._event("shipping_query", shipping=ShippingQuery("sq1", payload,
                                                                            address)))
    (answer,) = chat.last
    assert isinstance(answer, AnswerShipping)
    return answer


async def pre_checkout(chat: CoreChat, payload: str, total: int, option: str = "standard",
                       info: OrderInfo = FORM) -> AnswerPreCheckout:
    payment = Payment(payload, "CNY", total, "pq1", shipping_option_id=option, order_info=info)
    await chat.deliver(chat._event("pre_checkout", payment=payment))
    (answer,) = chat.last
    assert isinstance(answer, AnswerPreCheckout)
    return answer


async def test_form_queries_of_someone_else_or_forged(conversation: Conversation, svc: Services,
                                                      shop: ShopData) -> None:
    services = telegram_only(conversation, svc)
    li, mallory = CoreChat(conversation, 1001), CoreChat(conversation, 1002)
    invoice = await form_invoice(li, shop.tea)
    answer = await ship_to(mallory, invoice.payload, SHANGHAI)  # someone else's invoice
    assert not answer.ok and answer.error_message == "Sorry, this order could not be found."
    answer = await ship_to(li, "garbage", SHANGHAI)
    assert not answer.ok and answer.options == ()
    refused = await pre_checkout(mallory, invoice.payload, 6000)
    assert not refused.ok and refused.error_message == "Sorry, this order could not be found."
    refused = await pre_checkout(li, invoice.payload, 6000, option="teleport")
    assert not refused.ok and "amount does not match" in (refused.error_message or "")
    refused = await pre_checkout(li, invoice.payload, 1, option="standard")
    assert not refused.ok and "amount does not match" in (refused.error_message or "")
    abroad = OrderInfo("Li", "14155550123", ShippingAddress("US", "CA", "SF", "1 Main", "", "1"))
    refused = await pre_checkout(li, invoice.payload, 6000, info=abroad)
    assert not refused.ok and "address we deliver to" in (refused.error_message or "")
    refused = await pre_checkout(li, invoice.payload, 6000, info=OrderInfo())
    assert not refused.ok and "address we deliver to" in (refused.error_message or "")
    assert await orders_of(services) == []


async def test_the_same_pre_checkout_twice_places_one_order(
        conversation: Conversation, svc: Services, shop: ShopData) -> None:
    services = telegram_only(conversation, svc)
    li = CoreChat(conversation)
    invoice = await form_invoice(li, shop.tea)
    answer = await ship_to(li, invoice.payload, SHANGHAI)
    assert answer.ok and [(o.id, o.amount) for o in answer.options] == [
        ("standard", 1000), ("express", 2500), ("pickup", 0)]
    assert (await ship_to(li, invoice.payload, SHANGHAI)) == answer  # asked again: same answer
    assert (await pre_checkout(li, invoice.payload, 6000)).ok
    assert (await pre_checkout(li, invoice.payload, 6000)).ok  # Telegram asks again: still ok
    (order,) = await orders_of(services)
    assert (order.number, order.total, order.recipient_name, order.phone) == (
        invoice.payload, 6000, "张三", "+8613800138000")
    assert len(await services.customers.addresses(order.customer_id)) == 1


async def test_a_query_delivered_twice_is_answered_once(conversation: Conversation,
                                                        svc: Services, shop: ShopData) -> None:
    services = telegram_only(conversation, svc)
    li = CoreChat(conversation)
    invoice = await form_invoice(li, shop.tea)
    shipping = li._event("shipping_query", shipping=ShippingQuery("sq1", invoice.payload,
                                                                  SHANGHAI))
    assert [type(r) for r in await li.deliver(shipping)] == [AnswerShipping]
    assert await li.repeat(shipping) == []  # the same update again: answered already
    payment = Payment(invoice.payload, "CNY", 6000, "pq1", shipping_option_id="standard",
                      order_info=FORM)
    query = li._event("pre_checkout", payment=payment)
    assert [type(r) for r in await li.deliver(query)] == [AnswerPreCheckout]
    assert await li.repeat(query) == []
    assert len(await orders_of(services)) == 1


async def test_pre_checkout_when_a_product_left_the_shop(conversation: Conversation,
                                                         svc: Services, shop: ShopData) -> None:
    services = telegram_only(conversation, svc)
    li = CoreChat(conversation)
    invoice = await form_invoice(li, shop.tea)
    async with services.ctx.db.write() as session:
        tea = await session.get(Product, shop.tea)
        assert tea is not None
        tea.active = False
    refused = await pre_checkout(li, invoice.payload, 6000)
    assert not refused.ok and "no longer sold" in (refused.error_message or "")
    assert await orders_of(services) == []


async def test_the_forms_name_emoji_or_far_too_long(conversation: Conversation, svc: Services,
                                                    shop: ShopData) -> None:
    services = telegram_only(conversation, svc)
    li = CoreChat(conversation)
    invoice = await form_invoice(li, shop.tea)
    refused = await pre_checkout(li, invoice.payload, 6000, info=replace(FORM, name="张" * 5000))
    assert not refused.ok and "recipient's name" in (refused.error_message or "")
    assert (await pre_checkout(li, invoice.payload, 6000, info=replace(FORM, name="🐼🐼"))).ok
    (order,) = await orders_of(services)
    assert order.recipient_name == "🐼🐼"
