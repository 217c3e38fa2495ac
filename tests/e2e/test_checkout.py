"""A customer checks out and pays through the sandbox: the real aiogram bot, as a person would.

Two ways to pay: the sandbox provider's link (the pay page, over HTTP) and Telegram Payments
(the sandbox's own invoice flow: the bot answers the pre-checkout query, then gets
successful_payment). The fixture fails the test if the sandbox refused any Bot API call.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.paypage import PREFIX, pay_page_app
from models import Order
from models import Payment as PaymentRow
from sandbox.client import CallbackAnswer, PaymentError, SandboxChat, SandboxMessage, SandboxUser
from services.clock import FakeClock
from services.payments.cod import CashOnDelivery
from services.payments.providers import ProviderRegistry
from services.payments.sandbox import SandboxProvider
from services.payments.telegram import TelegramPayments
from tests.conftest import ADMIN_CHAT, PAYMENT_SECRET, TEST_RULES, make_context
from tests.databases import open_test_database
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.shop import ShopData, seed_shop

WAIT = 10.0
PHONE = "+8613800138000"


async def new_message(chat: SandboxChat, contains: str) -> SandboxMessage:
    """The next bot message whose text contains `contains`."""
    return await chat.wait_for_message(WAIT, lambda m: contains in (m.text or ""))


async def edited(chat: SandboxChat, message_id: int, contains: str) -> SandboxMessage:
    """The message once an edit has put `contains` into it."""
    deadline = time.monotonic() + WAIT
    while True:
        msg = next((m for m in chat.bot_messages if m.message_id == message_id), None)
        if msg is not None and contains in (msg.text or ""):
            return msg
        if time.monotonic() > deadline:
            raise TimeoutError(f"message {message_id} never showed {contains!r}: {msg and msg.text!r}")
        await chat.state.wait_changed(deadline - time.monotonic())


async def press(chat: SandboxChat, label: str) -> CallbackAnswer:
    """Press an inline button; the bot must answer it."""
    answer = await chat.click(label, timeout=WAIT)
    assert isinstance(answer, CallbackAnswer), f"{label!r} was not answered: {answer!r}"
    return answer


async def with_cart(shop: ShopUnderTest, person: SandboxUser, data: ShopData) -> None:
    """The person has 2 teas in the cart (the cart's own flow is tested elsewhere)."""
    customer = await shop.services.customers.ensure(person.id, person.first_name, None, "en")
    await shop.services.cart.add(customer.id, data.tea, 2)


async def check_out(person: SandboxUser, payment: str) -> SandboxMessage:
    """From /checkout to the placed order, a typed address and the shared phone; the review."""
    await person.command("/checkout")
    await new_message(person, "Who will receive")
    await person.send("😀" * 3)  # an emoji name is a name
    await new_message(person, "phone number")
    await person.send("12345")
    await new_message(person, "valid phone number")
    await person.click("📱 Share my phone number", timeout=WAIT)
    await new_message(person, "Phone number: +8613800138000")
    for ask, value in (("province", "Shanghai"), ("city", "Shanghai"), ("street", "x" * 5000)):
        await new_message(person, ask)
        await person.send(value)
    await new_message(person, "3 to 256 characters")
    await person.send("88 Nanjing Road")
    prompt = await new_message(person, "postcode")
    await press(person, "Skip")
    await edited(person, prompt.message_id, "How should we deliver")
    await press(person, "Standard delivery")
    await edited(person, prompt.message_id, "How would you like to pay")
    await press(person, payment)
    return await edited(person, prompt.message_id, "Please check your order")


def refused_outside_admin_chat(shop: ShopUnderTest) -> list[tuple[str, object, str | None]]:
    """Refused Bot API calls, except merchant alerts to the admin chat the sandbox lacks.

    The harness configures ADMIN_CHAT but creates no such group in the sandbox, so the alerts
    the outbox sender delivers for new and paid orders cannot arrive there.
    """
    return [(e.method, e.params.get("chat_id"), e.description) for e in shop.refused_requests()
            if str(e.params.get("chat_id")) != str(ADMIN_CHAT)]


async def orders_of(shop: ShopUnderTest) -> list[Order]:
    """Every order."""
    async with shop.services.ctx.db.read() as session:
        return list((await session.scalars(select(Order))).all())


@asynccontextmanager
async def pay_page(shop: ShopUnderTest) -> AsyncIterator[TestClient]:
    """The pay page served over HTTP, as bot/web.py mounts it."""
    provider = shop.services.ctx.payments.get("sandbox")
    assert isinstance(provider, SandboxProvider)
    root = web.Application()
    root.add_subapp(PREFIX, pay_page_app(shop.services, provider))
    async with TestClient(TestServer(root)) as client:
        yield client


async def test_checkout_and_pay_through_the_link(shop: ShopUnderTest) -> None:
    li = shop.customer("Li", phone_number=PHONE)
    await with_cart(shop, li, shop.data)
    review = await check_out(li, "Pay online")
    assert "Total: CN¥110.00" in (review.text or "")
    await press(li, "Confirm order")
    placed = await edited(li, review.message_id, "Order No.")
    assert placed.buttons == []  # nothing left to press twice
    payment = await new_message(li, "to pay")
    url = next(b["url"] for row in payment["reply_markup"]["inline_keyboard"] for b in row if "url" in b)
    link = urlsplit(url)
    (order,) = await orders_of(shop)
    assert order.number in (placed.text or "") and order.status == "pending_payment"

    async with pay_page(shop) as client:
        page = await client.get(f"{link.path}?{link.query}")
        assert page.status == 200 and order.number in await page.text()
        form = dict(part.split("=", 1) for part in link.query.split("&"))
        for _ in range(2):  # a double click on Pay
            paid = await client.post("/pay/sandbox/confirm", data={**form, "action": "pay"})
            assert paid.status == 200 and "Paid" in await paid.text()
    (order,) = await orders_of(shop)
    assert order.status == "awaiting_review"
    async with shop.services.ctx.db.read() as session:
        assert len((await session.scalars(select(PaymentRow))).all()) == 1
    answer = await press(li, "Check payment")
    assert answer.text == f"Order No. {order.number} is paid. Thank you!"
    assert refused_outside_admin_chat(shop) == []


@pytest.fixture
async def telegram_shop(tmp_path: Path) -> AsyncIterator[ShopUnderTest]:
    """The running shop with Telegram Payments enabled (its own database, seeded here)."""
    own = tmp_path / "telegram"
    own.mkdir()
    async with open_test_database("sqlite", own) as db:
        clock = FakeClock()
        rules = replace(TEST_RULES, payment_methods=("sandbox", "telegram", "cod"))
        providers = ProviderRegistry([SandboxProvider(PAYMENT_SECRET, "http://pay.test"),
                                      TelegramPayments(), CashOnDelivery()])
        context = replace(make_context(db, rules, clock), payments=providers)
        data = await seed_shop(db)
        async with running_shop(tmp_path, rules=rules, context=context) as running:
            running.data, running.clock = data, clock
            yield running
            assert refused_outside_admin_chat(running) == []


async def test_checkout_and_pay_with_telegram_payments(telegram_shop: ShopUnderTest) -> None:
    shop = telegram_shop
    li = shop.customer("Li", phone_number=PHONE)
    await with_cart(shop, li, shop.data)
    await check_out(li, "Telegram Payments")
    await press(li, "Confirm order")
    invoice = await li.wait_for_message(WAIT, lambda m: m.invoice is not None)
    (order,) = await orders_of(shop)
    assert invoice.invoice and invoice.invoice["total_amount"] == order.total == 11000
    await new_message(li, "Please pay by")
    paid = await li.pay(invoice.message_id)  # aiogram answers the pre-checkout query
    assert paid["successful_payment"]["invoice_payload"] == order.number
    await new_message(li, f"received for order No. {order.number}")
    (order,) = await orders_of(shop)
    assert order.status == "awaiting_review"
    async with shop.services.ctx.db.read() as session:
        (payment,) = (await session.scalars(select(PaymentRow))).all()
    assert payment.provider == "telegram" and payment.amount == 11000
    with pytest.raises(PaymentError, match="no longer waiting for payment"):
        await li.pay(invoice.message_id)  # the same invoice again: refused before any money moves


async def test_pre_checkout_refused_when_the_time_is_up(telegram_shop: ShopUnderTest) -> None:
    shop = telegram_shop
    li = shop.customer("Li", phone_number=PHONE)
    await with_cart(shop, li, shop.data)
    await check_out(li, "Telegram Payments")
    await press(li, "Confirm order")
    invoice = await li.wait_for_message(WAIT, lambda m: m.invoice is not None)
    shop.clock.advance(minutes=31)
    with pytest.raises(PaymentError, match="time to pay for this order has run out"):
        await li.pay(invoice.message_id)
    async with shop.services.ctx.db.read() as session:
        assert (await session.scalars(select(PaymentRow))).all() == []
