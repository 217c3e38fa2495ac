"""The merchant runs orders from the admin group through the sandbox, by pressing card buttons.

Alerts arrive as order cards; every merchant step is a button (and a typed reason, tracking
number or amount); the customer hears about it in their own chat; the database is checked after.
The fixture fails a test on any Bot API call the sandbox refused.
"""
from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from models import Order, OrderEvent, Refund, ReturnRequest, Stock
from sandbox.client import SandboxChat, SandboxMessage
from services.orders.dto import PlacedOrder
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.shop import buyer, pay, place

pytestmark = pytest.mark.usefixtures("framework")  # on aiogram and on python-telegram-bot


def card_of(chat: SandboxChat, number: str) -> SandboxMessage:
    """The (latest) order card of an order in the admin chat."""
    cards = [m for m in chat.bot_messages if f"Order No. {number}</b>" in (m.get("_html") or "")
             or f"Order No. {number}\n" in (m.text or "")]
    assert cards, [m.text for m in chat.bot_messages]
    return cards[-1]


async def card_shown(chat: SandboxChat, number: str, contains: str) -> SandboxMessage:
    """Wait until the order's card (sent or edited) shows `contains`."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        cards = [m for m in chat.bot_messages
                 if f"Order No. {number}\n" in (m.text or "") and contains in (m.text or "")]
        if cards:
            return cards[-1]
        assert asyncio.get_running_loop().time() < deadline, [m.text for m in chat.bot_messages]
        await chat.state.wait_changed(0.2)


async def paid_order(shop: ShopUnderTest, telegram_id: int, items: dict[int, int]) -> PlacedOrder:
    """The customer placed and paid (their own steps are tested elsewhere)."""
    placed = await place(shop.services, await buyer(shop.services, telegram_id), items)
    await pay(shop.services, placed)
    return placed


async def test_from_placed_to_completed_all_from_the_admin_chat(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(WAIT)
    boss = shop.admin_chat.as_user(shop.merchant)
    order = await paid_order(shop, li.user.id, {shop.data.tea: 2})
    card = await card_shown(boss, order.number, "is paid")
    assert "💳 Order No." in (card.text or "") and "2 × Green tea (TEA-1)" in (card.text or "")
    assert "Recipient: Li Lei, 138 0013 8000" in (card.text or "")

    await press(boss, "✅ Confirm", card.message_id)
    card = await edited(boss, card.message_id, "Status: Awaiting shipment")
    await press(boss, "🏬 Warehouse", card.message_id)
    await edited(boss, card.message_id, "Suggested: Shanghai (SH)")
    answer = await press(boss, "Shanghai (SH)", card.message_id)
    assert "ships from Shanghai (SH)" in (answer.text or "")
    await edited(boss, card.message_id, "Warehouse: Shanghai (SH)")

    answer = await press(boss, "📦 Pack and print slip", card.message_id)
    assert "packed: 1 slip to print" in (answer.text or "")
    slips = boss.documents
    assert len(slips) == 1 and slips[0]["file_name"] == f"slip-{order.number}.pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(slips[0]["content"])).pages)
    assert order.number in text

    await press(boss, "🚚 Ship", card.message_id)
    await edited(boss, card.message_id, "Which carrier")
    await press(boss, "Manual delivery", card.message_id)
    await new_message(boss, "Send the tracking number")
    await boss.send("M" * 200)
    await new_message(boss, "Please send a tracking number of up to 40")
    await boss.send(" MD 2026 0001 ")
    await new_message(boss, "tracking number MD20260001. The customer was told.")
    shipped = await new_message(li, "MD20260001")  # the customer hears carrier and tracking number
    assert "on its way with Manual delivery" in (shipped.text or "")
    await edited(boss, card.message_id, "Status: Shipped")
    assert "🚫 Cancel and refund" not in card_of(boss, order.number).buttons

    await press(boss, "📬 Mark delivered", card.message_id)
    await edited(boss, card.message_id, "Status: Delivered")
    await new_message(li, "was delivered")
    await press(li, "📦 Open the order")
    await press(li, "✅ Confirm receipt")

    async with shop.services.ctx.db.read() as s:
        saved = await s.get(Order, order.id)
        assert saved is not None and saved.status == "completed"
        steps = (await s.execute(select(OrderEvent.to_status, OrderEvent.actor)
                                 .where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))).all()
        merchant = f"admin:{shop.merchant.user.id}"
        assert [(to, actor == merchant) for to, actor in steps[2:]] == [
            ("awaiting_shipment", True), ("shipped", True), ("delivered", True), ("completed", False)]
        tea = await s.get(Stock, (shop.data.tea, shop.data.sh))
        assert tea is not None and (tea.on_hand, tea.reserved) == (8, 0)
    # One card per order: the paid alert moved it to the bottom, later steps edited it.
    assert sum(f"Order No. {order.number}\n" in (m.text or "") for m in boss.bot_messages) == 1


async def test_a_return_from_request_to_refund(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(WAIT)
    svc, boss = shop.services, shop.admin_chat.as_user(shop.merchant)
    order = await paid_order(shop, li.user.id, {shop.data.tea: 2})
    await svc.orders.confirm(order.id, "admin:1")
    await svc.orders.ship(order.id, "admin:1", "sandbox", "SF1")
    await svc.orders.mark_delivered(order.id, "admin:1")
    customer = await buyer(svc, li.user.id)
    line = (await svc.orders.detail(order.id)).lines[0].id
    photo = (await li.send_photo()).get("photo")[-1]["file_id"]  # a photo Telegram has
    request = await svc.returns.request(customer.id, order.id, "return", "The tin is dented",
                                        [(line, 1)], [photo])
    card = await new_message(boss, f"After-sales request No. {request.id}")
    assert "The tin is dented" in (card.text or "") and "Photos: 1" in (card.text or "")

    await press(boss, "✅ Approve", card.message_id)
    await edited(boss, card.message_id, "Status: Approved")
    await press(boss, "📥 Goods received", card.message_id)
    await press(boss, "♻️ Yes, restock", card.message_id)
    await edited(boss, card.message_id, "Goods received and put back on sale.")
    await press(boss, "💸 Refund", card.message_id)
    await new_message(boss, "How much should be refunded")  # any amount: reply to it
    await press(boss, "💸 Refund CN¥50.00", card.message_id)  # the items' value: on the card
    await edited(boss, card.message_id, "Refunded: CN¥50.00")
    await new_message(li, "CN¥50.00 was refunded")

    async with svc.ctx.db.read() as s:
        saved = await s.get(ReturnRequest, request.id)
        assert saved is not None and (saved.status, saved.refunded_amount, saved.restocked) == (
            "refunded", 5000, True)
        refunds = (await s.scalars(select(Refund))).all()
        assert [(r.amount, r.status, r.return_request_id) for r in refunds] == [
            (5000, "succeeded", request.id)]
        tea = await s.get(Stock, (shop.data.tea, shop.data.sh))
        assert tea is not None and (tea.on_hand, tea.reserved) == (9, 0)


async def test_a_non_admin_in_the_group_is_refused_and_logged(
        shop: ShopUnderTest, caplog: pytest.LogCaptureFixture) -> None:
    boss = shop.admin_chat.as_user(shop.merchant)
    order = await paid_order(shop, shop.customer("Li").user.id, {shop.data.tea: 1})
    card = await card_shown(boss, order.number, "is paid")
    mallory = shop.sandbox.user("Mallory").in_chat(shop.admin_chat)
    with caplog.at_level(logging.WARNING, logger="handlers.admin"):
        answer = await press(mallory, "✅ Confirm", card.message_id)
        assert answer.text == "Sorry, only the shop's admins can do that here." and answer.show_alert
        await mallory.command("/orders")
        await new_message(mallory, "only the shop's admins")
    assert (await shop.services.orders.detail(order.id)).status == "awaiting_review"
    assert caplog.text.count("non-admin") == 2


async def test_a_stale_card_answers_with_the_current_state(shop: ShopUnderTest) -> None:
    boss = shop.admin_chat.as_user(shop.merchant)
    order = await paid_order(shop, shop.customer("Li").user.id, {shop.data.tea: 1})
    card = await card_shown(boss, order.number, "is paid")
    await shop.services.orders.confirm(order.id, "system:auto_review")  # no alert: the card lags
    answer = await press(boss, "✅ Confirm", card.message_id)
    assert answer.show_alert and answer.text == (
        f"This card was out of date: order No. {order.number} is now Awaiting shipment. "
        "Nothing was changed.")
    card = await edited(boss, card.message_id, "Status: Awaiting shipment")
    assert "📦 Pack and print slip" in card.buttons and "✅ Confirm" not in card.buttons
    async with shop.services.ctx.db.read() as s:
        events = (await s.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))).all()
    assert [e.to_status for e in events][-1] == "awaiting_shipment" and len(events) == 3


async def test_two_admins_pressing_at_once(shop: ShopUnderTest) -> None:
    deputy = shop.sandbox.user("Deputy")
    shop.settings = replace(shop.settings, admin_user_ids=frozenset(
        {shop.merchant.user.id, deputy.user.id}))
    await shop.restart()
    boss, second = shop.admin_chat.as_user(shop.merchant), deputy.in_chat(shop.admin_chat)
    order = await paid_order(shop, shop.customer("Li").user.id, {shop.data.tea: 1})
    card = await card_shown(boss, order.number, "is paid")
    answers = await asyncio.gather(press(boss, "✅ Confirm", card.message_id),
                                   press(second, "✅ Confirm", card.message_id))
    texts = sorted(a.text or "" for a in answers)
    assert texts == sorted([f"✅ Order No. {order.number} confirmed.",
                            (f"Already done by someone else: order No. {order.number} is now "
                             "Awaiting shipment.")])
    async with shop.services.ctx.db.read() as s:
        events = (await s.scalars(select(OrderEvent).where(
            OrderEvent.order_id == order.id, OrderEvent.to_status == "awaiting_shipment"))).all()
    assert len(events) == 1
