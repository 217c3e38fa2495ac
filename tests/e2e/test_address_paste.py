"""The whole address pasted in one message at checkout, through the sandbox on both runtimes, in
English and Chinese: what the customer sees, what is asked, the ✏️ buttons, and the order and
the saved address in the database afterwards. The interactions from /start to a paid order with
a pasted address are counted in tests/e2e/test_fewer_taps.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.i18n import Translator
from models import Address, Order
from sandbox.client import SandboxMessage, SandboxUser
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import edited, new_message, press

pytestmark = pytest.mark.usefixtures("framework")  # on aiogram and on python-telegram-bot

PEOPLE = {
    "en": {"code": "en", "name": "Alice",
           "paste": "Alice Wang, +86 138 0013 8000, 100 Century Ave, Pudong, Shanghai 200120",
           "fields": ("Alice Wang", "+8613800138000", "Shanghai", "Shanghai",
                      "100 Century Ave, Pudong", "200120"),
           "delivery": "Standard delivery"},
    "zh_CN": {"code": "zh-hans", "name": "张三",
              "paste": "张三 13800138000 上海市浦东新区世纪大道100号 200120",
              "fields": ("张三", "+8613800138000", "上海市", "上海市", "浦东新区世纪大道100号",
                         "200120"),
              "delivery": "标准快递"},
}


def texts(language: str) -> Translator:
    return Translator(language, "Asia/Shanghai")


async def checkout_with_cart(shop: ShopUnderTest, language: str) -> tuple[SandboxUser, Translator]:
    """A new customer with a tea in the cart at the first address step (the cart's own flow is
    tested elsewhere)."""
    p, t = PEOPLE[language], texts(language)
    person = shop.customer(p["name"], language_code=p["code"])
    customer = await shop.services.customers.ensure(person.id, p["name"], None, language)
    await shop.services.cart.add(customer.id, shop.data.tea, 1)
    await person.command("/checkout")
    await new_message(person, t("checkout.ask.first")[:10])
    return person, t


async def address_shown(person: SandboxUser, t: Translator) -> tuple[SandboxMessage,
                                                                      SandboxMessage]:
    """The whole address with its ✏️ buttons, and the delivery question below it."""
    shown = await new_message(person, t("checkout.pasted_address", fields="")[:8])
    return shown, await new_message(person, t("checkout.choose_delivery"))


async def place(person: SandboxUser, t: Translator, screen: SandboxMessage, language: str) -> None:
    """Choose delivery and payment on the delivery question's message, confirm."""
    await press(person, PEOPLE[language]["delivery"])
    await edited(person, screen.message_id, t("checkout.choose_payment"))
    await press(person, t("checkout.method.sandbox"))
    await edited(person, screen.message_id, t("checkout.review_line", name="", qty=1,
                                              amount="")[:2])
    await press(person, t("checkout.confirm"))
    await edited(person, screen.message_id, t("checkout.placed", number="", total="")[:6])


async def stored(shop: ShopUnderTest) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The one order's address and every saved address."""
    async with shop.services.ctx.db.read() as session:
        (order,) = (await session.scalars(select(Order))).all()
        saved = (await session.scalars(select(Address))).all()
    return ((order.recipient_name, order.phone, order.region, order.city, order.address_line,
             order.postcode),
            [(a.recipient, a.phone, a.region, a.city, a.line, a.postcode) for a in saved])


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_the_issues_example_pasted_whole(shop: ShopUnderTest, language: str) -> None:
    person, t = await checkout_with_cart(shop, language)
    fields = PEOPLE[language]["fields"]
    await person.send(PEOPLE[language]["paste"])
    shown, screen = await address_shown(person, t)
    for value in (fields[0], "138 0013 8000", fields[2], fields[4], fields[5]):
        assert value in (shown.text or "")
    assert t("checkout.not_read") not in (shown.text or "")
    assert {t(f"checkout.fix.{f}") for f in ("recipient", "phone", "line")} <= set(shown.buttons)
    await place(person, t, screen, language)
    assert await stored(shop) == (fields, [fields])


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_paste_without_the_phone_asks_for_just_that(shop: ShopUnderTest,
                                                            language: str) -> None:
    person, t = await checkout_with_cart(shop, language)
    paste = PEOPLE[language]["paste"].replace("+86 138 0013 8000, ", "").replace(
        "13800138000 ", "")
    await person.send(paste)
    found = await new_message(person, t("checkout.address_read", fields="")[:8])
    assert t("checkout.not_read") in (found.text or "")
    await new_message(person, t("checkout.ask.phone")[:8])
    await person.send("139 1234 5678")
    await new_message(person, t("checkout.phone_saved", phone="139 1234 5678"))
    shown, screen = await address_shown(person, t)
    assert t("checkout.not_read") not in (shown.text or "")
    await place(person, t, screen, language)
    fields = (*PEOPLE[language]["fields"][:1], "+8613912345678", *PEOPLE[language]["fields"][2:])
    assert await stored(shop) == (fields, [fields])


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_one_field_changed_with_its_button(shop: ShopUnderTest, language: str) -> None:
    person, t = await checkout_with_cart(shop, language)
    await person.send(PEOPLE[language]["paste"])
    shown, _ = await address_shown(person, t)
    await press(person, t("checkout.fix.line"), message_id=shown.message_id)
    await edited(person, shown.message_id, t("checkout.ask.line"))
    street = {"en": "200 Century Ave, Pudong", "zh_CN": "浦东新区世纪大道200号"}[language]
    await person.send(street)
    shown, screen = await address_shown(person, t)
    assert street in (shown.text or "")
    await place(person, t, screen, language)
    fields = (*PEOPLE[language]["fields"][:4], street, PEOPLE[language]["fields"][5])
    assert await stored(shop) == (fields, [fields])


async def test_only_a_phone_then_the_rest_one_by_one(shop: ShopUnderTest) -> None:
    person, t = await checkout_with_cart(shop, "zh_CN")
    await person.send("+86 138 0013 8000")
    found = await new_message(person, t("checkout.address_read", fields="")[:8])
    assert "138 0013 8000" in (found.text or "")
    await new_message(person, t("checkout.ask.recipient"))
    for value, step in (("李雷", "region"), ("上海", "city"), ("上海", "line")):
        await person.send(value)
        await new_message(person, t(f"checkout.ask.{step}"))
    await person.send("南京路 88 号 🏠")
    _, screen = await address_shown(person, t)
    await place(person, t, screen, "zh_CN")
    fields = ("李雷", "+8613800138000", "上海", "上海", "南京路 88 号 🏠", "")
    assert await stored(shop) == (fields, [fields])


async def test_texts_that_are_no_address(shop: ShopUnderTest) -> None:
    person, t = await checkout_with_cart(shop, "en")
    await person.send("x" * 5000)  # too long for a name, and no address
    await new_message(person, "Please send the recipient's name (up to 64 characters).")
    await person.send("，。 ...")  # punctuation only: no name
    await new_message(person, "Please send the recipient's name (up to 64 characters).")
    await person.send("😀😀😀")  # an emoji name is a name: the field-by-field steps go on
    await new_message(person, t("checkout.ask.phone")[:10])
    async with shop.services.ctx.db.read() as session:
        assert (await session.scalars(select(Order))).all() == []
    state = await shop.services.conversation.load(person.id)
    assert state.name == "checkout.phone" and state.data["draft"] == {"recipient": "😀😀😀"}

