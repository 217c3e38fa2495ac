"""The whole customer journey through the sandbox, by clicking as a person does:
/start -> catalog -> product -> cart -> checkout -> pay -> (merchant ships) -> receipt -> review.

Once in English paying with the sandbox provider's link, once in Chinese with Telegram
Payments. The merchant's steps go through the services here (the admin chat has its own tests).
The database is checked at the end; the e2e fixture fails the test on any refused Bot API call.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot.runtimes import Framework
from handlers.i18n import Translator
from models import Order, OrderEvent, Payment, Review, Stock
from sandbox.client import CallbackAnswer, SandboxMessage, SandboxUser
from sandbox.server.actions import ActionError
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.test_checkout import pay_page

WAIT = 10.0
MERCHANT = "admin:journey"
PEOPLE = {
    "en": {"code": "en", "name": "Li Lei", "category": "Home", "product": "Green tea",
           "region": "Shanghai", "city": "Shanghai", "street": "88 Nanjing Road",
           "delivery": "Standard", "method": "sandbox", "review": "Lovely tea, fast delivery 🍵"},
    "zh_CN": {"code": "zh-hans", "name": "李雷", "category": "家居", "product": "绿茶",
              "region": "上海", "city": "上海", "street": "南京路 88 号 🏠",
              "delivery": "标准快递", "method": "telegram", "review": "茶很好，发货很快 🍵"},
}


@pytest.fixture
async def shop(tmp_path: Path, framework: Framework) -> AsyncIterator[ShopUnderTest]:
    """The running shop with the sandbox link, Telegram Payments and cash enabled, on each
    framework."""
    async with running_shop(tmp_path, payment_methods=("sandbox", "telegram", "cod"),
                            framework=framework) as running:
        yield running
        assert running.refused_requests() == []


async def said(person: SandboxUser, pattern: str) -> SandboxMessage:
    """The next bot message matching `pattern` (a regex)."""
    return await person.wait_for_message(WAIT, lambda m: re.search(pattern, m.text or "") is not None)


async def shown(person: SandboxUser, text: str) -> None:
    """Wait until some bot message (new or edited) shows `text`."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not any(text in (m.text or "") or text in str(m.get("reply_markup"))
                  for m in person.bot_messages):
        assert asyncio.get_running_loop().time() < deadline, f"never shown: {text!r}"
        await asyncio.sleep(0.05)


def pay_links(message: SandboxMessage) -> list[str]:
    """The payment links of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["url"] for row in rows for b in row if "/pay/sandbox" in b.get("url", "")]


async def click(person: SandboxUser, label: str) -> object:
    """Press the button whose text contains `label` once it is on screen (edits come after
    the callback answer, so the button may appear a moment later)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        try:
            return await person.click(label, timeout=WAIT)
        except ActionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def pay_with_link(shop: ShopUnderTest, person: SandboxUser) -> None:
    """Open the "Pay now" link (on the placed order's message) and press Pay on the provider's page."""
    await shown(person, "/pay/sandbox")
    url = next(u for m in person.bot_messages for u in pay_links(m))
    link = urlsplit(url)
    async with pay_page(shop) as browser:
        page = await browser.get(f"{link.path}?{link.query}")
        assert page.status == 200
        form = dict(part.split("=", 1) for part in link.query.split("&"))
        done = await browser.post("/pay/sandbox/confirm", data={**form, "action": "pay"})
        assert done.status == 200


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_from_start_to_a_reviewed_order(shop: ShopUnderTest, language: str) -> None:
    p, t = PEOPLE[language], Translator(language, "Asia/Shanghai")
    person = shop.customer(p["name"], language_code=p["code"], phone_number="+8613800138000")

    await person.command("/start")
    await said(person, re.escape(t("start.welcome", shop="Test Shop", name=p["name"])[:12]))
    await click(person, t("menu.catalog"))
    await said(person, ".")
    await click(person, p["category"])
    await click(person, p["product"])
    await shown(person, t("catalog.add"))  # the list became the product's card
    answer = await click(person, t("catalog.add_n", qty=2))
    assert isinstance(answer, CallbackAnswer)
    assert answer.text == t("catalog.added", qty=2, name=p["product"])
    await said(person, re.escape(t.plural("catalog.added_message", 2, qty=2, name=p["product"],
                                          total=t.money(10000, "CNY"))))
    await click(person, t("catalog.checkout"))

    await said(person, re.escape(t("checkout.ask.recipient")[:8]))
    await person.send(p["name"])
    await said(person, re.escape(t("checkout.ask.phone")[:6]))
    await click(person, t("checkout.share_phone"))
    for step, value in (("region", p["region"]), ("city", p["city"]), ("line", p["street"])):
        await said(person, re.escape(t(f"checkout.ask.{step}")[:6]))
        await person.send(value)
    await said(person, re.escape(t("checkout.ask.postcode")[:6]))
    await click(person, t("checkout.skip"))
    await click(person, p["delivery"])
    await click(person, t(f"checkout.method.{p['method']}"))
    await click(person, t("checkout.confirm"))

    if p["method"] == "sandbox":
        await pay_with_link(shop, person)
    else:
        invoice = await person.wait_for_message(WAIT, lambda m: m.invoice is not None)
        await person.pay(invoice.message_id)
    async with shop.services.ctx.db.read() as s:
        order = (await s.scalars(select(Order))).one()
    if p["method"] == "telegram":  # the bot's own answer to successful_payment
        await said(person, re.escape(t("payment.received", number=order.number,
                                       amount=t.money(order.total, "CNY"))))
    else:  # the outbox's "payment received" message
        await said(person, re.escape(t("notify.order_paid", order_number=order.number,
                                       amount_text=t.money(order.total, "CNY"))))

    svc = shop.services
    await svc.orders.confirm(order.id, MERCHANT)
    await svc.orders.ship(order.id, MERCHANT, "sandbox", "SF 2026 0001")
    await said(person, "SF20260001")
    await svc.orders.mark_delivered(order.id, MERCHANT)
    await said(person, re.escape(order.number))

    await click(person, t("menu.orders"))
    await click(person, order.number)
    answer = await click(person, t("orders.btn_received"))
    assert isinstance(answer, CallbackAnswer)
    assert answer.text == t("orders.received", number=order.number)
    await click(person, "5⭐")
    await shown(person, t("orders.review_ask", stars="⭐⭐⭐⭐⭐", max=1000).split(".")[0])
    await person.send(p["review"])
    await said(person, re.escape(t("orders.review_thanks")))

    async with shop.services.ctx.db.read() as s:
        order = await s.get(Order, order.id)
        assert order is not None and order.status == "completed"
        assert order.recipient_name == p["name"] and order.phone == "+8613800138000"
        assert order.total == 2 * 5000 + 1000
        payment = (await s.scalars(select(Payment))).one()
        assert (payment.provider, payment.amount) == (p["method"], order.total)
        review = (await s.scalars(select(Review))).one()
        assert (review.rating, review.text) == (5, p["review"])
        tea = await s.get(Stock, (shop.data.tea, shop.data.sh))
        assert tea is not None and (tea.on_hand, tea.reserved) == (8, 0)
        steps = (await s.scalars(select(OrderEvent.to_status).where(OrderEvent.order_id == order.id)
                                 .order_by(OrderEvent.id))).all()
        assert steps == ["pending_payment", "awaiting_review", "awaiting_shipment", "shipped",
                         "delivered", "completed"]


async def test_a_restart_in_the_middle_of_checkout_resumes_at_the_same_step(shop: ShopUnderTest) -> None:
    t = Translator("en", "Asia/Shanghai")
    li = shop.customer("Li", phone_number="+8613800138000")
    customer = await shop.services.customers.ensure(li.id, "Li", None, "en")
    await shop.services.cart.add(customer.id, shop.data.tea, 1)
    await li.command("/checkout")
    await said(li, re.escape(t("checkout.ask.recipient")[:8]))
    await li.send("Li Lei")
    await said(li, re.escape(t("checkout.ask.phone")[:6]))
    await click(li, t("checkout.share_phone"))
    await said(li, re.escape(t("checkout.ask.region")[:6]))

    await shop.restart()  # the bot process is replaced; the draft lives in the database

    await li.send("Shanghai")
    await said(li, re.escape(t("checkout.ask.city")[:6]))
    await li.send("Shanghai")
    await said(li, re.escape(t("checkout.ask.line")[:6]))
    await li.send("88 Nanjing Road")
    await said(li, re.escape(t("checkout.ask.postcode")[:6]))
    await click(li, t("checkout.skip"))
    await click(li, "Standard")
    await click(li, t("checkout.method.sandbox"))
    await click(li, t("checkout.confirm"))
    await shown(li, "with the button below")
    async with shop.services.ctx.db.read() as s:
        order = (await s.scalars(select(Order))).one()
    assert (order.recipient_name, order.region, order.address_line) == ("Li Lei", "Shanghai",
                                                                        "88 Nanjing Road")
