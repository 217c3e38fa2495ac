"""From /start to a paid order in few taps, counted: Telegram's own payment form for a new
customer, "Buy again" for a returning one, in English and in Chinese, on both frameworks.

Every message the customer sends and every button they press counts as one interaction; paying
in Telegram's form (the sandbox's `pay`: fill in or accept the form, choose the delivery, Pay)
counts as one. The database is checked afterwards; the fixture fails the test on any Bot API
call the sandbox refused.
"""
from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runtimes import Framework
from handlers.i18n import Translator
from models import Address, Order, Payment, Product, Stock
from sandbox.client import PaymentError, SandboxMessage, SandboxUser
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import WAIT, press
from tests.e2e.test_journey import click, pay_with_link, said, shown
from tests.shop import place

MERCHANT = "admin:taps"
PEOPLE = {
    "en": {"code": "en", "name": "Alice Wang", "category": "Home", "product": "Green tea",
           "address": {"country_code": "CN", "state": "Shanghai", "city": "Shanghai",
                       "street_line1": "100 Century Ave", "street_line2": "Pudong",
                       "post_code": "200120"},
           "check": "Please check your order", "standard": "Standard delivery"},
    "zh_CN": {"code": "zh-hans", "name": "张三", "category": "家居", "product": "绿茶",
              "address": {"country_code": "CN", "state": "上海市", "city": "上海市",
                          "street_line1": "浦东新区世纪大道100号", "street_line2": "",
                          "post_code": "200120"},
              "check": "请核对您的订单", "standard": "标准快递"},
}
PHONE = "8613800138000"  # as Telegram's form gives it: digits, no "+"
ABROAD = {"country_code": "US", "state": "CA", "city": "San Francisco",
          "street_line1": "1 Market St", "street_line2": "", "post_code": "94105"}


@pytest.fixture
async def shop(tmp_path: Path, framework: Framework) -> AsyncIterator[ShopUnderTest]:
    """A shop that takes Telegram Payments only (so the payment step never shows)."""
    async with running_shop(tmp_path, payment_methods=("telegram",),
                            framework=framework) as running:
        yield running
        assert running.refused_requests() == []


@dataclass
class Counted:
    """A customer whose every message, button press and payment is counted."""

    person: SandboxUser
    t: Translator
    taps: int = 0
    invoice: int = 0  # the last invoice paid (or tried)

    async def command(self, text: str) -> None:
        self.taps += 1
        await self.person.command(text)

    async def click(self, label: str, on: SandboxMessage | None = None) -> Any:
        """Press a button (on this message: an older one may have a button of that name)."""
        self.taps += 1
        if on is not None:
            return await press(self.person, label, on.message_id)
        return await click(self.person, label)

    async def pay(self, address: dict[str, str], option: str | None = None,
                  invoice: int | None = None) -> SandboxMessage:
        """Pay the next invoice (or this one again) on Telegram's form."""
        if invoice is None:
            invoice = (await self.person.wait_for_message(
                WAIT, lambda m: m.invoice is not None)).message_id
        self.invoice = invoice
        self.taps += 1
        return await self.person.pay(invoice, shipping_option_id=option,
                                     shipping_address=address,
                                     order_info={"phone_number": PHONE})


async def card_of(person: SandboxUser, t: Translator, product: str) -> SandboxMessage:
    """The product's card, shown in place of the list it was opened from: the message that
    names it and offers Buy now."""
    label = t("catalog.buy_now")
    deadline = time.monotonic() + WAIT
    while True:
        found = next((m for m in reversed(person.bot_messages)
                      if label in m.buttons and product in (m.text or "")), None)
        if found is not None:
            return found
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the product card never showed"
        await person.state.wait_changed(remaining)


def customer(shop: ShopUnderTest, language: str) -> Counted:
    p = PEOPLE[language]
    person = shop.customer(p["name"], language_code=p["code"], phone_number="+" + PHONE)
    return Counted(person, Translator(language, "Asia/Shanghai"))


async def to_the_form(c: Counted, language: str) -> None:
    """/start, the catalog, the category, the product, Buy now, Confirm: the invoice."""
    p, t = PEOPLE[language], c.t
    await c.command("/start")
    await c.click(t("menu.catalog"))
    await c.click(p["category"])
    await c.click(p["product"])
    await c.click(t("catalog.buy_now"), on=await card_of(c.person, t, p["product"]))
    await said(c.person, p["check"])
    await c.click(t("checkout.confirm"))


async def orders_of(shop: ShopUnderTest) -> list[Order]:
    async with shop.services.ctx.db.read() as session:
        return list((await session.scalars(select(Order).order_by(Order.id))).all())


async def count(shop: ShopUnderTest, model: Any) -> int:
    async with shop.services.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_new_then_returning_customer_in_few_taps(shop: ShopUnderTest,
                                                       language: str) -> None:
    p = PEOPLE[language]
    c = customer(shop, language)
    t = c.t
    await to_the_form(c, language)
    paid = await c.pay(p["address"], option="express")
    assert paid["successful_payment"]["shipping_option_id"] == "express"
    number = paid["successful_payment"]["invoice_payload"]
    await said(c.person, re.escape(t("payment.received", number=number,
                                     amount=t.money(7500, "CNY"))))
    (order,) = await orders_of(shop)
    assert c.taps == 7  # the goal for a new customer through the form: at most 8

    # The shipping query was answered with every delivery option and its fee, in the language.
    (shipping,) = [e for e in shop.sandbox.requests("answerShippingQuery") if e.ok]
    options = [(o["id"], o["title"], [pr["amount"] for pr in o["prices"]])
               for o in shipping.params["shipping_options"]]
    names = {o.code: (o.name_zh if language == "zh_CN" else o.name_en)
             for o in shop.services.ctx.rules.delivery_options}
    assert options == [("standard", names["standard"], [1000]),
                       ("express", names["express"], [2500]), ("pickup", names["pickup"], [0])]

    assert (order.status, order.payment_method, order.total) == ("awaiting_review", "telegram",
                                                                 5000 + 2500)
    assert (order.recipient_name, order.phone, order.delivery_option) == (
        p["name"], "+" + PHONE, "express")
    assert order.city == p["address"]["city"] and order.postcode == "200120"
    async with shop.services.ctx.db.read() as session:
        (saved,) = (await session.scalars(select(Address))).all()
        tea = await session.get(Stock, (shop.data.tea, shop.data.sh))
    assert (saved.recipient, saved.phone, saved.city) == (p["name"], "+" + PHONE, order.city)
    assert tea is not None and (tea.on_hand, tea.reserved) == (10, 1)
    assert await count(shop, Payment) == 1

    # The order arrives; the customer buys the same again, with what they chose last time.
    await shop.services.orders.confirm(order.id, MERCHANT)
    await shop.services.orders.ship(order.id, MERCHANT, "sandbox", "SF1")
    await shop.services.orders.mark_delivered(order.id, MERCHANT)
    c.taps = 0
    await c.command("/start")
    await c.click(t("menu.orders"))
    await c.click(t("orders.btn_again_list", number=order.number))
    await said(c.person, p["check"])
    await c.click(t("checkout.confirm"))
    number = (await c.pay(p["address"]))["successful_payment"]["invoice_payload"]
    assert c.taps == 5  # the goal for a returning customer: at most 5
    await said(c.person, re.escape(t("payment.received", number=number,
                                     amount=t.money(7500, "CNY"))))
    _, again = await orders_of(shop)
    assert (again.recipient_name, again.delivery_option, again.payment_method, again.total) == (
        p["name"], "express", "telegram", 7500)
    assert again.status == "awaiting_review" and await count(shop, Payment) == 2
    assert await count(shop, Address) == 1  # the saved address, not saved twice


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_an_address_the_shop_does_not_serve_is_refused_politely(
        shop: ShopUnderTest, language: str) -> None:
    p = PEOPLE[language]
    c = customer(shop, language)
    await to_the_form(c, language)
    with pytest.raises(PaymentError) as refused:
        await c.pay(ABROAD)
    assert str(refused.value) == c.t("payment.not_served")
    assert await orders_of(shop) == [] and await count(shop, Payment) == 0
    # The same invoice, a second shipping query with an address the shop serves: it goes.
    await c.pay(p["address"], option="standard", invoice=c.invoice)
    (order,) = await orders_of(shop)
    assert (order.total, order.delivery_option) == (5000 + 1000, "standard")
    answers = [e.params["ok"] for e in shop.sandbox.requests("answerShippingQuery") if e.ok]
    assert answers == [False, True]


async def test_pre_checkout_after_a_price_change_or_the_last_unit_gone(
        shop: ShopUnderTest) -> None:
    c = customer(shop, "en")
    await to_the_form(c, "en")
    async with shop.services.ctx.db.write() as session:
        tea = await session.get(Product, shop.data.tea)
        assert tea is not None
        tea.price = 5500
    with pytest.raises(PaymentError, match="a price changed"):
        await c.pay(PEOPLE["en"]["address"])
    assert await orders_of(shop) == [] and await count(shop, Payment) == 0
    with pytest.raises(PaymentError, match="a price changed"):  # and again: still refused
        await c.pay(PEOPLE["en"]["address"], invoice=c.invoice)

    # The last scarf: the invoice goes out, somebody else buys it, then the customer pays.
    await c.command("/start")
    await c.click("🛍")
    await c.click("Home")
    await c.click("Last scarf")
    await c.click("Buy now", on=await card_of(c.person, c.t, "Last scarf"))
    await c.click("Confirm order")
    rival = shop.customer("Rival")
    other = await shop.services.customers.ensure(rival.id, "Rival", None, "en")
    await place(shop.services, other, {shop.data.last: 1}, payment="telegram")
    with pytest.raises(PaymentError, match="just sold out"):
        await c.pay(PEOPLE["en"]["address"])
    (theirs,) = await orders_of(shop)
    assert theirs.customer_id == other.id and await count(shop, Payment) == 0


async def test_buy_now_pressed_twice_opens_one_checkout(shop: ShopUnderTest) -> None:
    c = customer(shop, "en")
    await c.command("/start")
    await c.click("🛍")
    await c.click("Home")
    await c.click("Green tea")
    await c.click("Buy now")
    review = await said(c.person, "Please check your order")
    answer = await c.person.click("Buy now", timeout=WAIT)
    assert getattr(answer, "text", None) == "Your checkout of this item is already open below."
    await c.click("Confirm order")
    await c.person.wait_for_message(WAIT, lambda m: m.invoice is not None)
    reviews = [m for m in c.person.bot_messages if "Please check your order" in (m.text or "")]
    assert [m.message_id for m in reviews] in ([], [review.message_id])
    assert len([m for m in c.person.bot_messages if m.invoice is not None]) == 1


PASTED = {"en": "Alice Wang, +86 138 0013 8000, 100 Century Ave, Pudong, Shanghai 200120",
          "zh_CN": "张三 13800138000 上海市浦东新区世纪大道100号 200120"}


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_new_customer_pasting_the_address_in_the_chat(tmp_path: Path, framework: Framework,
                                                            language: str) -> None:
    """The chat's own checkout (a payment link), the whole address pasted in one message at the
    first address step: at most 10 interactions from /start to the paid order."""
    async with running_shop(tmp_path, payment_methods=("sandbox",),
                            framework=framework) as shop:
        p = PEOPLE[language]
        c = customer(shop, language)
        t = c.t
        await c.command("/start")
        await c.click(t("menu.catalog"))
        await c.click(p["category"])
        await c.click(p["product"])
        await c.click(t("catalog.buy_now"), on=await card_of(c.person, t, p["product"]))
        await said(c.person, re.escape(t("checkout.ask.recipient")[:8]))
        c.taps += 1
        await c.person.send(PASTED[language])
        await said(c.person, re.escape(t("checkout.choose_delivery")))
        await c.click(t("checkout.delivery_button", name=p["standard"], fee=t.money(1000, "CNY")))
        await shown(c.person, p["check"])  # the delivery question becomes the review
        await c.click(t("checkout.confirm"))
        c.taps += 1  # "Pay now", then Pay on the provider's page
        await pay_with_link(shop, c.person)
        assert c.taps <= 10, c.taps
        (order,) = await orders_of(shop)
        await said(c.person, re.escape(order.number))
        async with shop.services.ctx.db.read() as session:
            order = (await session.scalars(select(Order))).one()
            (saved,) = (await session.scalars(select(Address))).all()
        assert order.status == "awaiting_review" and order.phone == "+8613800138000"
        assert order.postcode == "200120" and saved.recipient == order.recipient_name
        assert await count(shop, Payment) == 1
        assert shop.refused_requests() == []
