"""A whole address pasted at the first address step, in the conversation core: what is shown,
what is asked, the ✏️ buttons, and wrong presses (the sandbox tests in tests/e2e drive the same
flow through Telegram's copy)."""
from __future__ import annotations

from services.container import Services
from tests.handlers.chat import CoreChat
from tests.handlers.test_checkout import fill_cart, orders_of, state_of
from tests.shop import ShopData

PASTE = "Alice Wang, +86 138 0013 8000, 100 Century Ave, Pudong, Shanghai 200120"
FIXES = ["✏️ Name", "✏️ Phone", "✏️ Province", "✏️ City", "✏️ Street", "✏️ Postcode"]
SMALL = {"draft", "address", "address_id", "delivery", "payment", "key"}


async def test_a_full_paste_is_shown_whole_and_the_checkout_goes_on(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    assert "or paste the whole address" in chat.last_text
    await chat.send(PASTE)
    shown, ask = chat.texts
    assert "Delivery address" in shown
    for value in ("Alice Wang", "138 0013 8000", "Shanghai", "100 Century Ave, Pudong", "200120"):
        assert value in shown
    assert "How should we deliver" in ask
    assert set(FIXES) <= set(chat.buttons())
    state = await state_of(svc, chat)  # taken, and the paste's notes gone: the draft as small
    assert state.name == "checkout.delivery" and set(state.data) <= SMALL
    await chat.click("Standard delivery")
    await chat.click("Pay online")
    assert "Alice Wang" in chat.last_text and "100 Century Ave, Pudong" in chat.last_text
    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    assert (order.recipient_name, order.phone, order.region, order.city, order.address_line,
            order.postcode) == ("Alice Wang", "+8613800138000", "Shanghai", "Shanghai",
                                "100 Century Ave, Pudong", "200120")
    await chat.click("✏️ City")  # the order is placed: the old address's buttons do nothing
    assert chat.answers[-1].alert and "no longer valid" in chat.answers[-1].text


async def test_a_field_changed_from_the_review_comes_back_to_the_review(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send(PASTE)
    await chat.click("Standard delivery")
    await chat.click("Pay online")
    assert "Please check your order" in chat.last_text
    await chat.click("✏️ Phone")
    assert "phone number" in chat.last_text
    await chat.send("+86 139 1234 5678")
    assert "Delivery address" in chat.texts[-2] and "139 1234 5678" in chat.texts[-2]
    assert "Please check your order" in chat.last_text and "139 1234 5678" in chat.last_text
    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    assert order.phone == "+8613912345678" and order.address_line == "100 Century Ave, Pudong"


async def test_wrong_presses_change_nothing(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.press("fix:city")  # no address yet: an old screen's button
    assert chat.answers[-1].alert and "no longer valid" in chat.answers[-1].text
    assert (await state_of(svc, chat)).name == "checkout.recipient"
    await chat.send(PASTE)
    await chat.press("fix:quantity")  # forged: no such field
    assert chat.answers[-1].alert
    await chat.press("fix:" + "x" * 40)  # forged: too long for the codec
    state = await state_of(svc, chat)
    assert state.name == "checkout.delivery" and state.data["address"]["city"] == "Shanghai"
    await chat.click("✏️ City")
    assert "✏️ Street" not in chat.buttons()  # the address became the question
    await chat.press("fix:line")  # pressed from an older screen while the city is asked
    assert chat.answers[-1].alert
    assert (await state_of(svc, chat)).name == "checkout.city"
    await chat.send("Shanghai")
    assert "How should we deliver" in chat.last_text


async def test_a_refused_field_is_asked_again_with_the_reason(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    street = "100 Century Avenue" + " Building" * 30  # 288 characters: longer than a street may be
    await chat.send(f"Alice Wang, +86 138 0013 8000, {street}, Pudong, Shanghai 200120")
    first, ask = chat.texts
    assert "This is what I found" in first and "Alice Wang" in first and "not found" in first
    assert ask == "Please send the street address (3 to 256 characters)."
    await chat.send("100 Century Ave, Pudong")
    shown = chat.texts[0]
    assert "Delivery address" in shown and "100 Century Ave, Pudong" in shown
    assert "Alice Wang" in shown and "138 0013 8000" in shown and "200120" in shown
    assert "How should we deliver" in chat.last_text


async def test_a_name_alone_starts_the_field_by_field_address(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("Li Lei")
    assert "phone number" in chat.last_text
    await chat.send("+86 138 0013 8000")
    await chat.send("Shanghai")
    assert "Which city" in chat.last_text  # one field at a time, as before


async def test_only_a_phone_asks_the_rest_one_by_one(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("13800138000")
    first, ask = chat.texts
    assert "138 0013 8000" in first and "Who will receive" in ask and "paste" not in ask
    for value, next_ask in (("Li Lei", "province"), ("Shanghai", "city"), ("Shanghai", "street"),
                            ("88 Nanjing Road", "How should we deliver")):
        await chat.send(value)
        assert next_ask in chat.last_text
    await chat.click("✏️ Postcode")
    assert "postcode" in chat.last_text
    await chat.click("Skip")  # the address again in place of the question, then on below it
    shown, ask = chat.texts
    assert "Delivery address" in shown and "88 Nanjing Road" in shown
    assert "How should we deliver" in ask


async def test_a_street_alone_or_nothing_valid_is_read_as_the_name_as_before(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("1" * 1000)  # a "street" too long to keep: nothing of it is taken
    assert chat.texts == ["Please send the recipient's name (up to 64 characters)."]
    await chat.send("12345")  # a number alone is no address: the name step takes it
    assert "phone number" in chat.last_text
    assert (await state_of(svc, chat)).data["draft"] == {"recipient": "12345"}
