"""What people read, through the sandbox, in both languages: carriers by their names, "placed"
said once, dates in the shop's time zone (and reminders with the time really left), plurals,
addresses and phone numbers as people write them.

The clock starts at 2026-01-05 09:00 UTC: 17:00 in Shanghai, the shop's time zone. The test
shop's carriers are Sandbox Express (沙盒快递, code "sandbox") and Manual delivery ("manual").
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Customer, Order
from sandbox.client import SandboxUser
from services.phone_orders import PhoneOrderRequest
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.e2e.test_admin_orders import card_shown
from tests.e2e.test_journey import click
from tests.shop import buyer, pay, place

# What each person types, and what they must read back.
PEOPLE: dict[str, dict[str, Any]] = {
    "en": {
        "code": "en", "name": "Li Lei", "phone": "+1 650 253 0000", "stored": "+16502530000",
        "address": ("Shanghai", "Shanghai", "100 Century Avenue", "200120"),
        "home": "Home", "tea": "Green tea", "added": "Your cart: 1 item, CN¥50.00.",
        "review": ("👤 Li Lei, +1 650-253-0000", "📍 100 Century Avenue, Shanghai 200120"),
        "delivery": "Standard delivery", "pay": "Pay online", "check": "Please check your order",
        "confirm": "Confirm order",
        "placed": "is placed", "pay_by": "Please pay by 5 Jan 2026, 17:30 with the button below",
        "shipped": ("on its way with Sandbox Express", "Expected delivery: 7 Jan 2026."),
        "orders": "📦 My orders",
        "detail": ("Placed: 7 Dec 2026, 01:30", "Please pay by 7 Dec 2026, 02:00",
                   "• 7 Dec 2026, 01:30 — Awaiting payment"),
        "deliver_to": ("Li Lei, +1 650-253-0000", "100 Century Avenue, Shanghai 200120"),
        "reminder": "will be cancelled in 5 minutes (5 Jan 2026, 17:30)",
        "receipt": "confirmed automatically in 1 hour (12 Jan 2026, 17:25)",
        "phone_order": ("As agreed on the phone", "Please pay by 5 Jan 2026, 17:30"),
    },
    "zh_CN": {
        "code": "zh-hans", "name": "王小明", "phone": "13800138000", "stored": "+8613800138000",
        "address": ("上海", "上海市", "浦东新区世纪大道100号", "200120"),
        "home": "家居", "tea": "绿茶", "added": "购物车：共 1 件，¥50.00。",
        "review": ("👤 王小明，138 0013 8000", "📍 上海市浦东新区世纪大道100号，200120"),
        "delivery": "标准快递", "pay": "在线支付", "check": "请核对您的订单", "confirm": "确认下单",
        "placed": "订单已提交", "pay_by": "请在 2026年1月5日 17:30 前点击下方按钮完成支付",
        "shipped": ("已交由沙盒快递发出", "预计 2026年1月7日 送达"),
        "orders": "📦 我的订单",
        "detail": ("下单时间：2026年12月7日 01:30", "请在 2026年12月7日 02:00 前付款",
                   "• 2026年12月7日 01:30 — 待付款"),
        "deliver_to": ("王小明，138 0013 8000", "上海市浦东新区世纪大道100号，200120"),
        "reminder": "将在5分钟后（2026年1月5日 17:30）自动取消",
        "receipt": "系统将在1小时后（2026年1月12日 17:25）自动确认收货",
        "phone_order": ("按电话中的约定", "请在 2026年1月5日 17:30 前付款"),
    },
}
LANGUAGES = pytest.mark.parametrize("language", ["en", "zh_CN"])


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[ShopUnderTest]:
    """The running shop; every Bot API call it made was valid."""
    async with running_shop(tmp_path) as running:
        yield running
        assert running.refused_requests() == []


async def showing(person: SandboxUser, *parts: str) -> str:
    """The text of the bot's newest message (sent or edited) that shows every part."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = [m.text or "" for m in person.bot_messages if all(p in (m.text or "") for p in parts)]
        if found:
            return found[-1]
        texts = [m.text for m in person.bot_messages][-3:]
        assert asyncio.get_running_loop().time() < deadline, (parts, texts)
        await asyncio.sleep(0.05)


async def person_of(shop: ShopUnderTest, language: str) -> tuple[SandboxUser, dict[str, Any]]:
    """A customer of that language who has said /start."""
    p = PEOPLE[language]
    person = shop.customer(p["name"], language_code=p["code"])
    await person.command("/start")
    await person.wait_for_message(WAIT)
    await buyer(shop.services, person.id, language)
    return person, p


async def to_review(shop: ShopUnderTest, person: SandboxUser, p: dict[str, Any]) -> str:
    """/checkout of one tea with a typed address and phone, up to the review screen."""
    customer = await buyer(shop.services, person.id)
    await shop.services.cart.add(customer.id, shop.data.tea, 1)
    await person.command("/checkout")
    await person.wait_for_message(WAIT)
    for value in (p["name"], p["phone"], *p["address"]):
        await person.send(value)
        await person.wait_for_message(WAIT)
    await click(person, p["delivery"])
    await click(person, p["pay"])
    return await showing(person, p["check"])


async def paid_order(shop: ShopUnderTest, person: SandboxUser, language: str) -> Order:
    """One tea, placed and paid (the customer's own steps are tested elsewhere)."""
    placed = await place(shop.services, await buyer(shop.services, person.id, language),
                         {shop.data.tea: 1})
    await pay(shop.services, placed)
    async with shop.services.ctx.db.read() as s:
        order = await s.get(Order, placed.id)
    assert order is not None
    return order


# --- 1. carriers by name, with the expected delivery date --------------------------------------
@LANGUAGES
async def test_the_shipping_notice_names_the_carrier_and_the_expected_date(
    shop: ShopUnderTest, language: str
) -> None:
    person, p = await person_of(shop, language)
    order = await paid_order(shop, person, language)
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid")
    await press(boss, "✅ Confirm", card.message_id)
    await edited(boss, card.message_id, "Status: Awaiting shipment")
    await press(boss, "🚚 Ship", card.message_id)
    await edited(boss, card.message_id, "Which carrier")
    await press(boss, "Sandbox Express", card.message_id)
    await new_message(boss, "with Sandbox Express")
    await boss.send("SF 1234 5678")
    await new_message(boss, "The customer was told")
    # The merchant's card names it too, never by its code.
    card = await edited(boss, card.message_id, "Status: Shipped")
    assert "Shipped with Sandbox Express, tracking number SF12345678" in (card.text or "")

    await shop.send_outbox()
    shipped = await showing(person, "SF12345678")
    for part in p["shipped"]:  # shipped 17:00 Shanghai time + 2 days 6 hours: the 7th
        assert part in shipped, shipped
    assert "sandbox" not in shipped


# --- 2. "placed" once ----------------------------------------------------------------------------
@LANGUAGES
async def test_order_placed_is_said_once_with_the_payment_right_on_it(
    shop: ShopUnderTest, language: str
) -> None:
    person, p = await person_of(shop, language)
    await to_review(shop, person, p)
    before = len(person.bot_messages)
    await press(person, p["confirm"])
    await showing(person, p["placed"])  # the review became the placed order
    await asyncio.sleep(0.3)  # the rest of the turn's replies have arrived by now
    await shop.send_outbox()
    await asyncio.sleep(0.3)  # and what the outbox had for the customer
    # No payment message of its own, no second "placed" message from the outbox.
    assert [m.text for m in person.bot_messages[before:]] == []
    placed = await showing(person, p["placed"], p["pay_by"])
    message = next(m for m in person.bot_messages if m.text == placed)
    assert any("/pay/sandbox" in b.get("url", "") for row in message["reply_markup"]["inline_keyboard"]
               for b in row)  # "the button below" is right there


# --- 3. dates in the shop's time zone and the reader's locale -----------------------------------
@LANGUAGES
async def test_dates_are_the_shops_clock_in_the_readers_words(shop: ShopUnderTest, language: str) -> None:
    person, p = await person_of(shop, language)
    shop.clock.advance(datetime(2026, 12, 6, 17, 30, tzinfo=UTC) - shop.clock.now())
    # 17:30 on the 6th in UTC is 01:30 on the 7th in Shanghai.
    placed = await place(shop.services, await buyer(shop.services, person.id, language),
                         {shop.data.tea: 1})
    await person.send(p["orders"])
    await click(person, placed.number)
    detail = await showing(person, placed.number, p["detail"][0])
    for part in p["detail"]:
        assert part in detail, detail
    assert "12/7/26" not in detail and "12/6/26" not in detail


@LANGUAGES
async def test_reminders_say_the_time_really_left_when_they_are_sent(
    shop: ShopUnderTest, language: str
) -> None:
    person, p = await person_of(shop, language)
    svc = shop.services
    placed = await place(svc, await buyer(svc, person.id, language), {shop.data.tea: 1})
    shop.clock.advance(minutes=21)  # due at 17:30 Shanghai time: reminded at 17:21
    assert await svc.sweeps.remind_unpaid() == 1
    shop.clock.advance(minutes=4)  # and sent a little later: 5 minutes are left then
    await shop.send_outbox()
    reminder = await showing(person, placed.number, "⏰")
    assert p["reminder"] in reminder, reminder

    await pay(svc, placed)
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "manual", "VAN1")
    await svc.orders.mark_delivered(placed.id, "admin:1")  # at 17:25: confirmed on the 12th
    shop.clock.advance(days=7, hours=-1, minutes=5)  # an hour before that
    assert await svc.sweeps.remind_receipt() == 1
    await shop.send_outbox()
    receipt = await showing(person, placed.number, "⏰", p["receipt"][-10:])
    assert p["receipt"] in receipt, receipt
    assert "tomorrow" not in receipt and "明天" not in receipt


# --- 4. plurals ------------------------------------------------------------------------------------
@LANGUAGES
async def test_counts_read_as_words_say_them(shop: ShopUnderTest, language: str) -> None:
    person, p = await person_of(shop, language)
    await person.command("/catalog")
    shelves = await person.wait_for_message(WAIT)
    await press(person, p["home"], shelves.message_id)
    await edited(person, shelves.message_id, "1/1")
    await press(person, p["tea"], shelves.message_id)
    card = await edited(person, shelves.message_id, "💰")  # the list became the card
    add = next(b for b in card.buttons if b.startswith("🛒 "))
    await press(person, add, card.message_id)
    added = await new_message(person, p["added"])  # "1 item", never "1 pcs"
    assert "pcs" not in (added.text or "")

    order = await paid_order(shop, person, language)
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid")
    await press(boss, "✅ Confirm", card.message_id)
    await edited(boss, card.message_id, "Status: Awaiting shipment")
    answer = await press(boss, "📦 Pack and print slip", card.message_id)
    assert answer.text == f"📦 Order No. {order.number} packed: 1 slip to print."


# --- 5. addresses and phone numbers for people -----------------------------------------------------
@LANGUAGES
async def test_addresses_and_phones_read_as_people_write_them(
    shop: ShopUnderTest, language: str
) -> None:
    person, p = await person_of(shop, language)
    review = await to_review(shop, person, p)
    for part in p["review"]:
        assert part in review, review
    await press(person, p["confirm"])
    await showing(person, p["placed"])
    async with shop.services.ctx.db.read() as s:
        order = (await s.scalars(select(Order))).one()
    assert order.phone == p["stored"]  # stored for machines: E.164
    await person.send(p["orders"])
    await click(person, order.number)
    detail = await showing(person, order.number, p["deliver_to"][0])
    assert p["deliver_to"][1] in detail, detail


# --- a phone order, to a customer who uses the bot ---------------------------------------------
@LANGUAGES
async def test_a_phone_order_tells_its_bot_customer_how_to_pay(
    shop: ShopUnderTest, language: str
) -> None:
    person, p = await person_of(shop, language)
    svc = shop.services
    async with svc.ctx.db.write() as s:  # the customer's phone is known from their profile
        found = await s.scalar(select(Customer).where(Customer.telegram_id == person.id))
        assert found is not None
        found.phone = p["stored"]
    request = PhoneOrderRequest("phone-order-key-0001", p["name"], p["stored"], *p["address"][:3],
                                lines=(("TEA-1", 1),), delivery="standard", payment="link")
    result = await svc.phone_orders.place(request, "admin:1")
    assert result.uses_bot
    await shop.send_outbox()
    told = await showing(person, result.order.number)
    for part in p["phone_order"]:
        assert part in told, told
