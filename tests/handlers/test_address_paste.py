"""A whole address pasted at the first address step, in the conversation core: what is shown,
what is asked, the ✏️ buttons, and wrong presses (the sandbox tests in tests/e2e drive the same
flow through Telegram's copy)."""
from __future__ import annotations

from services.container import Services
from tests.handlers.chat import CoreChat
from tests.handlers.test_checkout import fill_cart, orders_of, state_of
from tests.shop import ShopData

PASTE = "Alice Wang, +86 138 0013 8000, 100 Century Ave, Pudong, Shanghai 200120"


async def test_a_full_paste_is_shown_whole_with_a_button_per_field(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    assert "or paste the whole address" in chat.last_text
    await chat.send(PASTE)
    screen = chat.last_text
    assert "Please check the delivery address" in screen
    for shown in ("Alice Wang", "138 0013 8000", "Shanghai", "100 Century Ave, Pudong", "200120"):
        assert shown in screen
    assert {"✅ Use this address", "✏️ Name", "✏️ Phone", "✏️ Province", "✏️ City",
            "✏️ Street", "✏️ Postcode"} <= set(chat.buttons())
    await chat.click("Use this address")
    assert "How should we deliver" in chat.last_text
    state = await state_of(svc, chat)  # the paste's notes are gone: the draft stays as small
    assert set(state.data) <= {"draft", "address", "address_id", "delivery", "payment", "key"}
    await chat.click("Standard delivery")
    await chat.click("Pay online")
    assert "Alice Wang" in chat.last_text and "100 Century Ave, Pudong" in chat.last_text
    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    assert (order.recipient_name, order.phone, order.region, order.city, order.address_line,
            order.postcode) == ("Alice Wang", "+8613800138000", "Shanghai", "Shanghai",
                                "100 Century Ave, Pudong", "200120")


async def test_wrong_presses_on_the_check_screen_change_nothing(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.press("fix:city")  # before any paste: an old screen's button
    assert chat.answers[-1].alert and "no longer valid" in chat.answers[-1].text
    await chat.press("ck:use")
    assert chat.answers[-1].alert
    assert (await state_of(svc, chat)).name == "checkout.recipient"
    await chat.send(PASTE)
    await chat.press("fix:quantity")  # forged: no such field
    assert chat.answers[-1].alert
    await chat.press("fix:" + "x" * 40)  # forged: too long for the codec
    assert (await state_of(svc, chat)).name == "checkout.address_check"
    await chat.send("hello")  # text at a screen of buttons: the same screen again
    assert "Please check the delivery address" in chat.last_text
    await chat.click("Use this address")
    await chat.press("ck:use")  # the same button twice: the second is stale
    assert chat.answers[-1].alert
    assert (await state_of(svc, chat)).name == "checkout.delivery"


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
    screen = chat.last_text
    assert "Please check the delivery address" in screen and "100 Century Ave, Pudong" in screen
    assert "Alice Wang" in screen and "138 0013 8000" in screen and "200120" in screen


async def test_a_name_alone_starts_the_field_by_field_address(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("Li Lei")
    assert "phone number" in chat.last_text
    await chat.send("+86 138 0013 8000")
    await chat.send("Shanghai")
    assert "Which city" in chat.last_text  # one field at a time, as before


async def test_only_a_phone_asks_the_rest_one_by_one_then_shows_the_whole(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("13800138000")
    first, ask = chat.texts
    assert "138 0013 8000" in first and "Who will receive" in ask and "paste" not in ask
    for value, next_ask in (("Li Lei", "province"), ("Shanghai", "city"), ("Shanghai", "street"),
                            ("88 Nanjing Road", "Please check the delivery address")):
        await chat.send(value)
        assert next_ask in chat.last_text
    await chat.click("✏️ Postcode")
    assert "postcode" in chat.last_text
    await chat.click("Skip")  # back to the whole address, nothing else asked
    assert "Please check the delivery address" in chat.last_text
    await chat.click("Use this address")
    assert "How should we deliver" in chat.last_text


async def test_a_street_alone_or_nothing_valid_is_read_as_the_name_as_before(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await chat.command("/checkout")
    await chat.send("1" * 1000)  # a "street" too long to keep: nothing of it is taken
    assert chat.texts == ["Please send the recipient's name (up to 64 characters)."]
    await chat.send("12345")  # a number alone is no address: the name step takes it
    assert "phone number" in chat.last_text
    assert (await state_of(svc, chat)).data["draft"] == {"recipient": "12345"}
