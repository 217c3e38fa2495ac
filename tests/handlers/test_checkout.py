"""Checkout in the conversation core: address, delivery, payment, review, Confirm exactly once."""
from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from handlers.checkout import review
from handlers.events import AnswerCallback, Button, EditText, ReplyKeyboard, SendText
from handlers.i18n import Translator
from handlers.router import Conversation
from models import Order
from services.cart import CartLineView, CartView
from services.container import Services
from services.conversation import State
from services.customers import CustomerView
from tests.handlers.chat import CoreChat
from tests.shop import ShopData, buyer, place

PHONE = "+86 138 0013 8000"
OTHER_PHONE = "+86 139 0013 9000"


# --- the customer's steps -------------------------------------------------------------------
async def fill_cart(svc: Services, chat: CoreChat, items: dict[int, int]) -> CustomerView:
    """The chat's customer with these products in the cart."""
    customer = await buyer(svc, chat.user.id)
    for product_id, qty in items.items():
        await svc.cart.add(customer.id, product_id, qty)
    return customer


async def type_address(chat: CoreChat, recipient: str = "Li Lei", phone: str | None = PHONE,
                       postcode: str | None = None) -> None:
    """Type a new address (phone None: share the contact; postcode None: Skip)."""
    await chat.send(recipient)
    if phone is None:
        await chat.click("Share my phone number")
    else:
        await chat.send(phone)
    for value in ("Shanghai", "Shanghai", "88 Nanjing Road"):
        await chat.send(value)
    await (chat.click("Skip") if postcode is None else chat.send(postcode))


async def to_review(chat: CoreChat, delivery: str = "Standard delivery",
                    payment: str = "Pay online") -> None:
    """Choose delivery and payment; the review screen follows."""
    await chat.click(delivery)
    await chat.click(payment)
    assert "Please check your order" in chat.last_text


async def checkout_to_review(chat: CoreChat, **choices: str) -> None:
    """/checkout with a typed address, up to the review screen."""
    await chat.command("/checkout")
    await type_address(chat)
    await to_review(chat, **choices)


async def orders_of(svc: Services) -> list[Order]:
    """Every order in the database."""
    async with svc.ctx.db.read() as session:
        return list((await session.scalars(select(Order).order_by(Order.id))).all())


async def state_of(svc: Services, chat: CoreChat) -> State:
    """The chat's stored conversation state."""
    return await svc.conversation.load(chat.user.id)


def order_number(text: str) -> str:
    """The number in "Order No. ..."."""
    found = re.search(r"Order No\. (\d+)", text)
    assert found, text
    return found.group(1)


# --- happy paths -------------------------------------------------------------------------------
async def test_full_checkout_with_a_typed_address(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 2})
    await chat.command("/checkout")
    assert "Who will receive the order" in chat.last_text
    await type_address(chat, postcode="200001")
    assert "How should we deliver" in chat.last_text
    await to_review(chat)
    screen = chat.last_text
    for part in ("Green tea × 2 — CN¥100.00", "Subtotal: CN¥100.00", "CN¥10.00",
                 "Total: CN¥110.00", "Li Lei, 138 0013 8000", "88 Nanjing Road, Shanghai 200001",
                 "Standard delivery", "Pay online (payment link)"):
        assert part in screen
    assert {"✏️ Address", "✏️ Delivery", "✏️ Payment", "✅ Confirm order"} <= set(chat.buttons())

    await chat.click("Confirm order")
    # One message, in place of the review: the order is placed, and how to pay for it.
    (pay,) = [r for r in chat.last if isinstance(r, (SendText, EditText))]
    assert isinstance(pay, EditText)
    number = order_number(pay.text)
    assert "is placed" in pay.text and "Total: CN¥110.00" in pay.text
    assert "Please pay by" in pay.text and "with the button below" in pay.text
    buttons = [b for row in pay.keyboard.rows for b in row]  # type: ignore[union-attr]
    assert buttons[0].url and buttons[0].url.startswith(f"http://pay.test/pay/sandbox?order={number}")
    assert {b.data for b in buttons[1:]} >= {"paylink:1", "order:1"}

    (order,) = await orders_of(svc)
    assert (order.number, order.status, order.total, order.phone, order.postcode) == (
        number, "pending_payment", 11000, "+8613800138000", "200001")
    assert (await svc.cart.view(order.customer_id)).is_empty
    assert [a.line for a in await svc.customers.addresses(order.customer_id)] == ["88 Nanjing Road"]
    assert (await state_of(svc, chat)).name == ""


async def test_checkout_with_the_shared_contact(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.mug: 1})
    await chat.command("/checkout")
    await chat.send("Li Lei")
    keyboard = chat.last[-1].keyboard  # type: ignore[union-attr]
    assert isinstance(keyboard, ReplyKeyboard) and keyboard.rows[0][0].request_contact
    await chat.click("Share my phone number")
    assert "Phone number: 138 0013 8000" in chat.texts[0]  # stored as +8613800138000
    assert "🛍 Catalog" in chat.buttons()  # the main menu is back instead of the share button
    for value in ("Guangdong", "Guangzhou", "1 Tianhe Road"):
        await chat.send(value)
    await chat.click("Skip")
    await to_review(chat, "Pick up at the shop", "Cash on delivery")
    assert "Pick up at the shop): free" in chat.last_text
    await chat.click("Confirm order")
    assert "Order No." in chat.texts[0] and "courier" in chat.texts[0]
    (order,) = await orders_of(svc)
    assert (order.status, order.phone, order.payment_method, order.delivery_fee) == (
        "awaiting_review", "+8613800138000", "cod", 0)


async def test_checkout_with_a_saved_address(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await fill_cart(svc, chat, {})
    await place(svc, customer, {shop.mug: 1})  # saves Li Lei's address
    await svc.cart.add(customer.id, shop.tea, 1)
    await chat.command("/checkout")  # a returning customer starts at the review
    assert "Please check your order" in chat.last_text
    assert "Li Lei, 138 0013 8000" in chat.last_text and "Pay online" in chat.last_text
    await chat.click("✏️ Address")
    assert "Choose a saved address" in chat.last_text
    await chat.click("Li Lei, 88 Nanjing Road, Shanghai")
    assert "Please check your order" in chat.last_text  # delivery and payment still chosen
    assert "Li Lei, 138 0013 8000" in chat.last_text
    await chat.click("Confirm order")
    orders = await orders_of(svc)
    assert len(orders) == 2 and orders[1].address_line == "88 Nanjing Road"
    assert len(await svc.customers.addresses(customer.id)) == 1  # a saved address is not saved twice


async def test_another_customers_saved_address_is_not_found(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    stranger = await buyer(svc, 2002)
    await place(svc, stranger, {shop.mug: 1})
    (theirs,) = await svc.customers.addresses(stranger.id)
    mine = await fill_cart(svc, chat, {})
    await place(svc, mine, {shop.mug: 1})
    await svc.cart.add(mine.id, shop.tea, 1)
    await chat.command("/checkout")
    await chat.click("✏️ Address")
    await chat.press(f"addr:{theirs.id}")
    assert chat.answers[0].alert and "could not find that address" in chat.answers[0].text
    await chat.press("addr:999999")
    assert "could not find that address" in chat.answers[0].text
    assert (await state_of(svc, chat)).name == "checkout.address"
    await chat.click("New address")
    assert "Who will receive" in chat.last_text


async def test_empty_cart_cannot_check_out(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await chat.command("/checkout")
    assert "Your cart is empty" in chat.last_text
    await chat.press("checkout")
    assert chat.answers[0].alert and "Your cart is empty" in chat.answers[0].text
    assert (await state_of(svc, chat)).name == ""


async def test_cart_button_starts_checkout_in_a_new_message(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    replies = await chat.press("checkout", message_id=77)
    assert any(isinstance(r, SendText) and "Who will receive" in r.text for r in replies)
    assert not any(isinstance(r, EditText) for r in replies)  # the cart message stays


# --- every bad value at every step ------------------------------------------------------------
BAD_VALUES = [
    ("recipient", "", "recipient's name"),
    ("recipient", "   ", "recipient's name"),
    ("recipient", "x" * 5000, "up to 64 characters"),
    ("phone", "12345", "valid phone number"),
    ("phone", "😀😀😀", "valid phone number"),
    ("phone", "+86 138 0013 8000 " * 300, "valid phone number"),
    ("region", "x" * 5000, "province or region"),
    ("city", "", "city"),
    ("line", "ab", "3 to 256 characters"),
    ("line", "Nanjing Road " * 400, "3 to 256 characters"),
    ("postcode", "1" * 17, "up to 16 characters"),
]
GOOD_VALUES = {"recipient": "Li Lei", "phone": PHONE, "region": "Shanghai", "city": "Shanghai",
               "line": "88 Nanjing Road", "postcode": "200001"}
FIELDS = list(GOOD_VALUES)


async def _walk_to(chat: CoreChat, field: str) -> None:
    await chat.command("/checkout")
    for name in FIELDS[: FIELDS.index(field)]:
        await chat.send(GOOD_VALUES[name])


@pytest.mark.parametrize(("field", "value", "hint"), BAD_VALUES)
async def test_bad_value_is_asked_again(
    chat: CoreChat, svc: Services, shop: ShopData, field: str, value: str, hint: str
) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await _walk_to(chat, field)
    await chat.send(value)
    assert len(chat.texts) == 1 and hint in chat.texts[0]
    assert (await state_of(svc, chat)).name == f"checkout.{field}"
    await chat.send(GOOD_VALUES[field])  # the right value continues the checkout
    assert (await state_of(svc, chat)).name != f"checkout.{field}"


@pytest.mark.parametrize("field", FIELDS)
async def test_a_photo_where_text_was_asked(chat: CoreChat, svc: Services, shop: ShopData,
                                            field: str) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await _walk_to(chat, field)
    await chat.send_photo()
    assert "as a text message" in chat.last_text
    assert (await state_of(svc, chat)).name == f"checkout.{field}"


async def test_emoji_names_are_fine_but_not_emoji_phones(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("🌸 小美 🌸")
    assert "phone number" in chat.last_text
    await chat.send("📞📞📞")
    assert "valid phone number" in chat.last_text
    await chat.send(PHONE)
    for value in ("Shanghai", "Shanghai", "88 Nanjing Road"):
        await chat.send(value)
    await chat.click("Skip")
    await to_review(chat)
    assert "🌸 小美 🌸, 138 0013 8000" in chat.last_text


async def test_a_contact_of_another_user_is_refused(chat: CoreChat, svc: Services,
                                                    shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await _walk_to(chat, "phone")
    for other in (4242, None):  # another Telegram user, or a phone-book card of no user
        await chat.deliver(chat._event("contact", contact_phone=OTHER_PHONE, contact_user_id=other))
        assert "your own phone number" in chat.last_text
        keyboard = chat.last[-1].keyboard  # type: ignore[union-attr]
        assert isinstance(keyboard, ReplyKeyboard) and keyboard.rows[0][0].request_contact
        assert (await state_of(svc, chat)).name == "checkout.phone"
    await chat.share_contact(PHONE)
    assert (await state_of(svc, chat)).name == "checkout.region"


async def test_user_values_are_html_escaped(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await type_address(chat, recipient="<b>Bob</b> & co")
    await to_review(chat)
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; co" in chat.last_text and "<b>Bob" not in chat.last_text


async def test_text_where_buttons_are_expected(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await type_address(chat)
    await chat.send("standard please")
    assert chat.texts[0] == "Please choose with the buttons below."
    assert "How should we deliver" in chat.texts[1]
    await chat.click("Standard delivery")
    await chat.send_photo()
    assert "How would you like to pay" in chat.last_text
    await chat.click("Pay online")
    await chat.send("x" * 5000)
    assert "Please check your order" in chat.last_text


async def test_forged_and_stale_checkout_buttons(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    for data in ("dlv:standard", "pay:sandbox", "ck:skip", "ck:new", "ck:edit_address", "ck:cancel",
                 "addr:1", "ck:bogus"):
        await chat.press(data)  # outside the checkout: nothing to choose
        assert chat.answers[0].alert and "no longer valid" in chat.answers[0].text
    await chat.command("/checkout")
    await type_address(chat)
    await chat.press("dlv:teleport")
    assert "delivery option is not available" in chat.answers[0].text
    await chat.press("pay:sandbox")  # a payment button before the delivery was chosen
    assert "no longer valid" in chat.answers[0].text
    await chat.click("Standard delivery")
    await chat.press("pay:bitcoin")
    assert "payment method is not available" in chat.answers[0].text
    await chat.press("ck:edit_payment")  # an edit button is only on the review screen
    assert "no longer valid" in chat.answers[0].text
    assert (await state_of(svc, chat)).name == "checkout.payment"
    assert await orders_of(svc) == []


async def test_cancel_keeps_the_cart(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.click("Cancel checkout")
    assert "Checkout cancelled" in chat.texts[0] and "🛍 Catalog" in chat.buttons()
    await chat.command("/checkout")
    await chat.send("Li Lei")
    await chat.send("✖ Cancel checkout")  # the text button of the phone keyboard
    assert "Checkout cancelled" in chat.last_text
    assert (await state_of(svc, chat)).name == ""
    assert not (await svc.cart.view(customer.id)).is_empty


# --- the review screen and its edits -----------------------------------------------------------
async def test_edit_each_part_from_the_review(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await checkout_to_review(chat)
    key = (await state_of(svc, chat)).data["key"]

    await chat.click("✏️ Address")
    await type_address(chat, recipient="Han Meimei", phone=OTHER_PHONE, postcode="510000")
    assert "Han Meimei, 139 0013 9000" in chat.last_text  # straight back to the review

    await chat.click("✏️ Delivery")
    await chat.click("Pick up at the shop")
    assert "Pick up at the shop): free" in chat.last_text and "Total: CN¥50.00" in chat.last_text

    await chat.click("✏️ Payment")
    await chat.click("Cash on delivery")
    assert "Cash on delivery" in chat.last_text
    assert (await state_of(svc, chat)).data["key"] == key  # one checkout, one key

    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    assert (order.recipient_name, order.delivery_option, order.payment_method, order.checkout_key) == (
        "Han Meimei", "pickup", "cod", key)


async def test_edit_address_to_a_saved_one(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await fill_cart(svc, chat, {})
    await place(svc, customer, {shop.mug: 1})
    await svc.cart.add(customer.id, shop.tea, 1)
    await chat.command("/checkout")
    await chat.click("✏️ Address")
    await chat.click("New address")
    await type_address(chat, recipient="Han Meimei")
    assert "Han Meimei" in chat.last_text and "Please check your order" in chat.last_text
    await chat.click("✏️ Address")
    await chat.click("Li Lei, 88 Nanjing Road")
    assert "Li Lei, 138 0013 8000" in chat.last_text and "Please check your order" in chat.last_text


async def test_express_drops_cash_on_delivery(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await checkout_to_review(chat, payment="Cash on delivery")
    await chat.click("✏️ Delivery")
    await chat.click("Express delivery")
    # Cash is not possible any more, and the one method left is taken without asking.
    assert "Express delivery" in chat.last_text and "Pay online" in chat.last_text
    assert "Please check your order" in chat.last_text and "✏️ Payment" not in chat.buttons()[:4]
    await chat.press("pay:cod")  # forged: no payment screen is open
    assert chat.answers[0].alert and "no longer valid" in chat.answers[0].text
    assert (await state_of(svc, chat)).data["payment"] == "sandbox"


async def test_cash_refused_for_a_new_customers_big_order(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    await fill_cart(svc, chat, {shop.lamp: 1})
    await checkout_to_review(chat, payment="Cash on delivery")
    await chat.click("Confirm order")
    assert chat.answers[0].alert and "Cash on delivery is available for first orders" in chat.answers[0].text
    assert await orders_of(svc) == []
    assert (await state_of(svc, chat)).name == "checkout.review"  # still there, to change payment
    await chat.click("✏️ Payment")
    await chat.click("Pay online")
    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    assert order.payment_method == "sandbox" and order.important


async def test_review_fits_telegram_with_a_full_cart() -> None:
    turn = SimpleNamespace(t=Translator("en", "Asia/Shanghai"))
    lines = tuple(CartLineView(i, f"SKU-{i}", "Very long product name " * 8, "", 12345, 99, 100)
                  for i in range(30))
    text = review._lines(turn, CartView(lines, "CNY"))  # type: ignore[arg-type]
    assert len(text) <= review.LINES_BUDGET + 100 and "more" in text.splitlines()[-1]


# --- Confirm exactly once ----------------------------------------------------------------------
async def test_double_click_on_confirm_places_one_order(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await checkout_to_review(chat)
    press = chat._event("callback", callback_id="cb-confirm", callback_data="confirm",
                        callback_message_id=5)
    await chat.deliver(press)
    number = order_number(chat.texts[0])
    assert await chat.repeat(press) == []  # the same update delivered twice
    await chat.press("confirm", message_id=5)  # a second press: another update
    assert chat.answers[0].text == f"Order No. {number} is already placed."
    assert not [r for r in chat.last if isinstance(r, SendText)]
    assert [o.number for o in await orders_of(svc)] == [number]


async def test_concurrent_confirms_place_one_order(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await checkout_to_review(chat)
    presses = [chat._event("callback", callback_id=f"cb{i}", callback_data="confirm",
                           callback_message_id=5) for i in range(2)]
    answers = await asyncio.gather(*(chat.conversation.handle(p) for p in presses))
    numbers = set()
    for replies in answers:  # each press is told the order's number
        shown = [r.text for r in replies if isinstance(r, (EditText, AnswerCallback)) and r.text]
        assert shown
        numbers |= {order_number(text) for text in shown}
    assert len(numbers) == 1
    assert [o.number for o in await orders_of(svc)] == list(numbers)


async def test_stale_confirm_creates_nothing(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.press("confirm")
    assert chat.answers[0].alert and "no longer valid" in chat.answers[0].text
    await checkout_to_review(chat)
    await chat.click("✏️ Delivery")  # the review is left: its Confirm is stale
    await chat.press("confirm")
    assert "no longer valid" in chat.answers[0].text
    await chat.click("Standard delivery")
    await chat.click("Cancel checkout")
    await chat.press("confirm")
    assert "no longer valid" in chat.answers[0].text
    assert await orders_of(svc) == []


async def test_cart_emptied_elsewhere_before_confirm(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await fill_cart(svc, chat, {shop.tea: 1})
    await checkout_to_review(chat)
    await svc.cart.clear(customer.id)
    await chat.click("Confirm order")
    assert "Your cart is empty" in chat.answers[0].text
    assert await orders_of(svc) == []


async def test_restart_mid_checkout_resumes(
    chat: CoreChat, svc: Services, shop: ShopData, conversation: Conversation
) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("Li Lei")
    await chat.send(PHONE)
    restarted = CoreChat(Conversation(svc, conversation.settings), user_id=chat.user.id)
    await restarted.send("Shanghai")
    assert "Which city" in restarted.last_text
    await restarted.send("Shanghai")
    await restarted.send("88 Nanjing Road")
    await restarted.send("200001")
    await to_review(restarted)
    again = CoreChat(Conversation(svc, conversation.settings), user_id=chat.user.id)
    await again.press("confirm")
    (order,) = await orders_of(svc)
    assert (order.recipient_name, order.phone, order.postcode) == ("Li Lei", "+8613800138000", "200001")


async def test_checkout_in_chinese(conversation: Conversation, svc: Services, shop: ShopData) -> None:
    chat = CoreChat(conversation, user_id=3003, language_code="zh-hans")
    await svc.customers.ensure(3003, "小李", None, "zh-hans")
    customer = await svc.customers.ensure(3003, "小李", None, "zh-hans")
    await svc.cart.add(customer.id, shop.tea, 1)
    await chat.command("/checkout")
    assert "收货人" in chat.last_text
    await chat.send("李雷")
    await chat.send("13800138000")  # no country code: the shop's region (CN) is assumed
    for value in ("上海", "上海", "南京路88号"):
        await chat.send(value)
    await chat.click("跳过")
    await chat.click("标准快递")
    await chat.click("在线支付")
    assert "请核对您的订单" in chat.last_text and "绿茶 × 1" in chat.last_text
    await chat.click("确认下单")
    assert "订单已提交" in chat.texts[0] and "请在" in chat.last_text


async def test_saved_state_stays_small(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await type_address(chat, recipient="x" * 64)
    await to_review(chat)
    state = await state_of(svc, chat)
    assert set(state.data) <= {"draft", "address", "address_id", "delivery", "payment", "key"}


def test_buttons_fit_callback_limits() -> None:
    rows = review._buttons(SimpleNamespace(t=Translator("zh_CN", "Asia/Shanghai")))  # type: ignore[arg-type]
    for button in (b for row in rows for b in row):
        assert isinstance(button, Button) and len((button.data or "").encode()) <= 64

