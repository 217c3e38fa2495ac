"""A customer checks out and pays through the sandbox: the real aiogram bot, as a person would.

Two ways to pay: the sandbox provider's link (the pay page, over HTTP) and Telegram Payments
(the sandbox's own invoice flow: the bot answers the pre-checkout query, then gets
successful_payment). The fixture fails the test if the sandbox refused any Bot API call.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.paypage import PREFIX, pay_page_app
from bot.runtimes import Framework
from models import Address, Order
from models import Payment as PaymentRow
from sandbox.client import PaymentError, SandboxMessage, SandboxUser
from sandbox.server import actions
from services.payments.sandbox import SandboxProvider
from services.postal import format_phone
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.shop import ShopData

pytestmark = pytest.mark.usefixtures("framework")  # on aiogram and on python-telegram-bot

PHONE = "+8613800138000"





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
    await new_message(person, "Phone number: 138 0013 8000")
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
    placed = await edited(li, review.message_id, "is placed")
    assert "Confirm order" not in placed.buttons  # nothing left to press twice
    url = next(b["url"] for row in placed["reply_markup"]["inline_keyboard"] for b in row if "url" in b)
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


@pytest.fixture
async def telegram_shop(tmp_path: Path, framework: Framework) -> AsyncIterator[ShopUnderTest]:
    """The running shop with Telegram Payments enabled (on both frameworks)."""
    async with running_shop(tmp_path, payment_methods=("sandbox", "telegram", "cod"),
                            framework=framework) as running:
        yield running
        assert running.refused_requests() == []


async def test_checkout_and_pay_with_telegram_payments(telegram_shop: ShopUnderTest) -> None:
    shop = telegram_shop
    li = shop.customer("Li", phone_number=PHONE)
    await with_cart(shop, li, shop.data)
    await check_out(li, "Telegram Payments")
    await press(li, "Confirm order")
    invoice = await li.wait_for_message(WAIT, lambda m: m.invoice is not None)
    (order,) = await orders_of(shop)
    assert invoice.invoice and invoice.invoice["total_amount"] == order.total == 11000
    placed = next(m for m in li.bot_messages if "is placed" in (m.text or ""))
    assert "invoice below" in (placed.text or "") and placed.message_id < invoice.message_id
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


async def address_with_shared_phone(person: SandboxUser) -> SandboxMessage:
    """From /checkout to the review: a typed address, the phone shared with the button."""
    await person.command("/checkout")
    await new_message(person, "Who will receive")
    await person.send("Sam Lee")
    await new_message(person, "phone number")
    await person.click("📱 Share my phone number", timeout=WAIT)
    for ask, value in (("province", "Shanghai"), ("city", "Shanghai"), ("street", "88 Nanjing Road")):
        await new_message(person, ask)
        await person.send(value)
    prompt = await new_message(person, "postcode")
    await press(person, "Skip")
    await edited(person, prompt.message_id, "How should we deliver")
    await press(person, "Standard delivery")
    await edited(person, prompt.message_id, "How would you like to pay")
    await press(person, "Pay online")
    return await edited(person, prompt.message_id, "Please check your order")


@pytest.mark.parametrize("plus", [False, True], ids=["as-telegram-sends-it", "app-adds-plus"])
@pytest.mark.parametrize(("number", "e164"), [
    ("14155550123", "+14155550123"), ("447911123456", "+447911123456"),
    ("8613800138000", "+8613800138000")], ids=["US", "UK", "CN"])
async def test_a_shared_phone_is_taken_in_international_form(
        shop: ShopUnderTest, number: str, e164: str, plus: bool) -> None:
    li = shop.customer("Li", phone_number=number, client_adds_plus=plus)
    await with_cart(shop, li, shop.data)
    review = await address_with_shared_phone(li)
    sent = [m for m in li.messages if "contact" in m]
    assert sent[-1]["contact"]["phone_number"] == ("+" if plus else "") + number
    shown = format_phone(e164, shop.services.ctx.rules.default_phone_region)  # as people write it
    assert f"Phone number: {shown}" in " ".join(m.text or "" for m in li.bot_messages)
    await press(li, "Confirm order")
    await edited(li, review.message_id, "Order No.")
    (order,) = await orders_of(shop)
    assert order.phone == e164
    async with shop.services.ctx.db.read() as session:
        (saved,) = (await session.scalars(select(Address))).all()
    assert saved.phone == e164


async def test_someone_elses_contact_is_refused(shop: ShopUnderTest) -> None:
    li = shop.customer("Li", phone_number="14155550123")
    await with_cart(shop, li, shop.data)
    await li.command("/checkout")
    await new_message(li, "Who will receive")
    await li.send("Sam Lee")
    await new_message(li, "phone number")
    friend = {"phone_number": "447911123456", "first_name": "Sam", "user_id": li.id + 1}
    actions.user_send(li.state, li.bot, li.actor, li.chat, {"contact": friend})  # a forwarded card
    await new_message(li, "your own phone number")
    async with shop.services.ctx.db.read() as session:
        assert (await session.scalars(select(Address))).all() == []
