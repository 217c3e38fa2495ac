"""The admin chat's order cards, alerts and buttons through the conversation core.

Events come from the admin group (a supergroup whose id is the shop's admin chat); the alerts are
the outbox rows the services queued, composed by the admin AlertComposer as the sender would.
"""
from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from handlers.admin.alerts import AdminAlerts
from handlers.events import (
    AnswerCallback,
    DeleteMessage,
    EditText,
    Event,
    Reply,
    SendDocument,
    SendText,
)
from handlers.router import Conversation
from handlers.turn import Settings
from models import Order, OutboxMessage, Refund, Stock, StockReservation
from services.container import Services
from services.orders.dto import PlacedOrder
from services.outbox import OutgoingMessage
from tests.conftest import ADMIN_CHAT
from tests.handlers.chat import CoreChat, _message_ids, _update_ids
from tests.shop import ShopData, buyer, pay, place

ADMIN, SECOND, STRANGER = 9001, 9002, 9003
SETTINGS = Settings(shop_name="Test Shop", admin_user_ids=frozenset({ADMIN, SECOND}),
                    admin_chat_id=ADMIN_CHAT, telegram_provider_token="TEST:provider")


class AdminChat(CoreChat):
    """One person in the admin group."""

    def _event(self, kind: str, **fields: Any) -> Event:
        return Event(kind=kind, update_id=next(_update_ids), user=self.user,  # type: ignore[arg-type]
                     chat_id=ADMIN_CHAT, chat_type="supergroup", message_id=next(_message_ids),
                     **fields)

    def alert(self) -> str:
        """The last turn's callback answer, which must be an alert."""
        answers = self.answers
        assert len(answers) == 1 and answers[0].alert, self.last
        return answers[0].text


@pytest.fixture
def conversation(svc: Services) -> Conversation:
    return Conversation(svc, SETTINGS)


@pytest.fixture
def admin(conversation: Conversation, shop: ShopData) -> AdminChat:
    return AdminChat(conversation, ADMIN, "Boss")


async def paid_order(svc: Services, items: dict[int, int], telegram_id: int = 1001) -> PlacedOrder:
    placed = await place(svc, await buyer(svc, telegram_id), items)
    await pay(svc, placed)
    return placed


async def alerts(svc: Services, composer: AdminAlerts, remember: bool = True) -> list[Reply]:
    """Compose every pending admin outbox row (and tell the composer ids as the sender would)."""
    out: list[Reply] = []
    for message in await svc.outbox.claim(100):
        if message.audience != "admin":
            await svc.outbox.mark_sent(message.id)
            continue
        replies = await composer.compose(message)
        for reply in replies:
            if isinstance(reply, SendText) and remember:
                await composer.sent(message, reply, 7000 + message.id)
            elif isinstance(reply, EditText):
                await composer.sent(message, reply, reply.message_id)
        out += replies
        await svc.outbox.mark_sent(message.id)
    return out


async def customer_texts(svc: Services, template: str) -> list[dict[str, Any]]:
    async with svc.ctx.db.read() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.audience == "customer",
                                                           OutboxMessage.template == template))
        return [dict(r.params) for r in rows]


def buttons(reply: Reply) -> list[str]:
    keyboard = getattr(reply, "keyboard", None)
    return [b.text for row in getattr(keyboard, "rows", ()) for b in row]


async def status(svc: Services, order_id: int) -> str:
    return (await svc.orders.detail(order_id)).status


# alerts become cards ---------------------------------------------------------------------

async def test_a_paid_order_alert_is_a_card_with_the_actions_of_its_state(
        svc: Services, shop: ShopData) -> None:
    composer = AdminAlerts(svc, SETTINGS)
    order = await place(svc, await buyer(svc), {shop.tea: 2, shop.mug: 1})
    first = await alerts(svc, composer)
    assert len(first) == 1 and isinstance(first[0], SendText) and first[0].chat_id == ADMIN_CHAT
    assert f"New order No. {order.number}" in first[0].text and "Awaiting payment" in first[0].text
    assert buttons(first[0]) == ["🔄 Refresh"]  # nothing to do before the payment
    before = await svc.merchant.card_ref(order.id)
    assert before is not None

    await pay(svc, order)
    moved = await alerts(svc, composer)  # paid needs attention: the card moves to the bottom
    assert isinstance(moved[0], DeleteMessage) and moved[0].message_id == before.message_id
    card = moved[1]
    assert isinstance(card, SendText)
    for words in ("is paid", f"Order No. {order.number}", "Status: Awaiting review",
                  "Customer: Buyer 1001", "Recipient: Li Lei, 138 0013 8000",
                  "88 Nanjing Road, Shanghai 200001", "2 × Green tea (TEA-1) — CN¥100.00",
                  "1 × Mug (MUG-1) — CN¥25.00", "Total: CN¥135.00", "Paid: CN¥135.00",
                  "Warehouse: Shanghai (SH)"):
        assert words in card.text, words
    assert buttons(card) == ["✅ Confirm", "❌ Reject", "🏬 Warehouse", "🚫 Cancel and refund",
                             "💸 Refund part", "🔄 Refresh"]
    ref = await svc.merchant.card_ref(order.id)
    assert ref is not None and ref.message_id != before.message_id

    await svc.orders.cancel_by_customer((await buyer(svc)).id, order.id, "changed my mind")
    edited = await alerts(svc, composer)  # a cancellation edits the card in place
    assert len(edited) == 1 and isinstance(edited[0], EditText)
    assert edited[0].message_id == ref.message_id and "Status: Cancelled" in edited[0].text
    assert "Reason: changed my mind" in edited[0].text and buttons(edited[0]) == ["🔄 Refresh"]


async def test_an_important_order_is_flagged_and_low_stock_is_a_plain_alert(
        svc: Services, shop: ShopData) -> None:
    composer = AdminAlerts(svc, SETTINGS)
    order = await place(svc, await buyer(svc), {shop.lamp: 1, shop.tea: 8})
    replies = await alerts(svc, composer)
    texts = [r.text for r in replies if isinstance(r, (SendText, EditText))]
    assert any("📉 Low stock: Green tea (TEA-1) has 2 left" in t for t in texts)
    card = [r for r in replies if isinstance(r, (SendText, EditText)) and order.number in r.text][-1]
    assert "⭐ Important" in card.text
    # Two alerts of one order (new + important): one card, edited, not two messages.
    assert sum(isinstance(r, SendText) and order.number in r.text for r in replies) == 1


async def test_cards_of_one_order_composed_at_once_make_one_message(
        svc: Services, shop: ShopData) -> None:
    composer = AdminAlerts(svc, SETTINGS)
    order = await place(svc, await buyer(svc), {shop.lamp: 1})
    rows = [m for m in await svc.outbox.claim(100) if m.audience == "admin"]
    assert len(rows) == 2

    async def deliver(message: OutgoingMessage) -> list[Reply]:
        replies = await composer.compose(message)
        await asyncio.sleep(0.01)  # the Bot API call
        for reply in replies:
            mid = reply.message_id if isinstance(reply, EditText) else 8000 + message.id
            await composer.sent(message, reply, mid)
        return replies

    results = await asyncio.gather(*(deliver(m) for m in rows))
    kinds = sorted(type(r).__name__ for replies in results for r in replies)
    assert kinds == ["EditText", "SendText"], (order.number, kinds)


# the merchant's steps --------------------------------------------------------------------

async def test_every_step_from_the_card(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 2})
    await admin.command("/start")  # any command: the card comes from an alert or /order
    await admin.press(f"ao:{order.id}:card", message_id=500)
    assert f"Order No. {order.number}" in admin.last_text

    await admin.click("✅ Confirm")
    assert admin.answers[0].text == f"✅ Order No. {order.number} confirmed."
    assert await status(svc, order.id) == "awaiting_shipment"
    assert "📦 Pack and print slip" in buttons(admin.last[0]) and "🚚 Ship" in buttons(admin.last[0])

    await admin.click("📦 Pack and print slip")
    documents = [r for r in admin.last if isinstance(r, SendDocument)]
    assert len(documents) == 1 and documents[0].filename == f"slip-{order.number}.pdf"
    pdf = PdfReader(io.BytesIO(documents[0].content))
    assert order.number in "".join(page.extract_text() for page in pdf.pages)
    assert "🖨 Print slip again" in admin.buttons() and "🏬 Warehouse" not in buttons(admin.last[0])

    await admin.click("🚚 Ship")
    assert "Which carrier" in admin.last_text
    await admin.click("Sandbox Express")
    assert "Send the tracking number" in admin.last_text
    await admin.send("  SF 1234 5678 ")
    assert "tracking number SF12345678. The customer was told." in admin.texts[0]
    assert await status(svc, order.id) == "shipped"
    shipped = await customer_texts(svc, "order_shipped")
    assert shipped[0]["carrier"] == "sandbox" and shipped[0]["tracking_number"] == "SF12345678"
    card = admin.last[1]
    assert isinstance(card, EditText) and card.message_id == 500
    assert "🚫 Cancel and refund" not in buttons(card)  # shipped: no cancelling any more
    assert "📬 Mark delivered" in buttons(card)  # tracked, and the merchant may still say so

    await admin.press(f"ao:{order.id}:cancel", message_id=500)  # a forged cancel
    assert "out of date" in admin.alert() and await status(svc, order.id) == "shipped"


async def test_a_manual_carrier_is_marked_delivered_by_hand(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await svc.orders.confirm(order.id, "admin:1")
    await admin.press(f"ao:{order.id}:ship")
    await admin.click("Manual delivery")
    await admin.send("VAN-7")
    await admin.press(f"ao:{order.id}:card")
    await admin.click("📬 Mark delivered")
    assert await status(svc, order.id) == "delivered"
    assert admin.answers[0].text == f"📬 Order No. {order.number} marked delivered."


async def test_tracking_numbers_too_long_or_odd_are_refused_politely(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await svc.orders.confirm(order.id, "admin:1")
    await admin.press(f"aoc:{order.id}:sandbox")
    for bad in ("A" * 200, "SF-12😀", "SF#12"):
        await admin.send(bad)
        assert admin.last_text.startswith("Please send a tracking number of up to 40")
        assert await status(svc, order.id) == "awaiting_shipment"
    await admin.send_photo()
    assert "as a text message" in admin.last_text
    await admin.send("SF-1")
    assert await status(svc, order.id) == "shipped"


async def test_reject_asks_for_a_reason_the_customer_reads(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await admin.press(f"ao:{order.id}:reject", message_id=42)
    assert "Why is order No." in admin.last_text
    await admin.send("x" * 5000)
    assert "under 500 characters" in admin.last_text and await status(svc, order.id) == "awaiting_review"
    await admin.send("Address is outside our area <b>sorry</b> 🙏")
    assert await status(svc, order.id) == "cancelled"
    assert "&lt;b&gt;sorry&lt;/b&gt; 🙏" in admin.texts[0]
    assert isinstance(admin.last[1], EditText) and admin.last[1].message_id == 42
    told = await customer_texts(svc, "order_cancelled")
    assert told[0]["reason"] == "Address is outside our area <b>sorry</b> 🙏"
    assert (await svc.orders.detail(order.id)).refunded == order.total


async def test_cancel_step_can_be_left_and_changes_nothing(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await admin.press(f"ao:{order.id}:cancel")
    await admin.command("/cancel")  # the question carries force_reply, so no Cancel button
    assert admin.last_text == "Nothing was changed."
    await admin.send("just chatting")
    assert admin.last == [] and await status(svc, order.id) == "awaiting_review"


async def test_refund_part_checks_the_amount(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})  # 60.00 paid
    await admin.press(f"ao:{order.id}:refund")
    assert "At most CN¥60.00" in admin.last_text
    # Each refusal says why and what the most is (it used to say "above zero" to all of them).
    for bad, why in (("abc", "“abc” is not an amount"), ("-5", "cannot be negative"),
                     ("0", "more than zero"), ("0.00", "more than zero"),
                     ("1.234", "is not an amount"), ("💸", "“💸” is not an amount"),
                     ("999999999", "more than is left"), ("60.01", "more than is left")):
        await admin.send(bad)
        assert why in admin.last_text and "at most CN¥60.00" in admin.last_text, bad
    await admin.send(" ")
    assert "text message" in admin.last_text
    await admin.send("10.5")
    assert "CN¥10.50 refunded" in admin.texts[0] and "CN¥49.50 left" in admin.texts[0]
    async with svc.ctx.db.read() as s:
        refunds = (await s.scalars(select(Refund))).all()
    assert [(r.amount, r.status) for r in refunds] == [(1050, "succeeded")]
    assert (await customer_texts(svc, "order_refunded"))[0]["amount"] == 1050


async def test_the_warehouse_can_change_only_to_one_with_stock(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.mug: 2})
    await admin.press(f"ao:{order.id}:warehouse")
    assert "Suggested: Shanghai (SH)" in admin.last_text
    assert "• Guangzhou (GD): " in admin.last_text and "everything in stock" in admin.last_text
    await admin.click("Guangzhou (GD)")
    assert "ships from Guangzhou (GD)" in admin.answers[0].text
    async with svc.ctx.db.read() as s:
        held = (await s.scalars(select(StockReservation).where(
            StockReservation.status == "active"))).all()
        assert [(r.warehouse_id, r.quantity) for r in held] == [(shop.gd, 2)]
        assert (await s.get(Stock, (shop.mug, shop.sh))).reserved == 0  # type: ignore[union-attr]

    lamp = await paid_order(svc, {shop.tea: 1}, telegram_id=1002)
    await admin.press(f"aow:{lamp.id}:{shop.gd}")  # the GD warehouse has no tea
    assert "not enough stock" in admin.alert()
    assert (await svc.orders.detail(lamp.id)).warehouse_id == shop.sh


# wrong people, stale cards, races -----------------------------------------------------------

async def test_a_non_admin_is_refused_and_logged(conversation: Conversation, svc: Services,
                                                 shop: ShopData, caplog: pytest.LogCaptureFixture) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    stranger = AdminChat(conversation, STRANGER, "Mallory")
    with caplog.at_level(logging.WARNING):
        await stranger.press(f"ao:{order.id}:confirm")
        assert "only the shop's admins" in stranger.alert()
        await stranger.press(f"aoc:{order.id}:sandbox")
        await stranger.send("SF1")
    assert await status(svc, order.id) == "awaiting_review"
    assert f"non-admin {STRANGER}" in caplog.text and "ao:" in caplog.text


async def test_forged_and_unknown_presses_change_nothing(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await admin.press("ao:999999:confirm")
    assert admin.alert() == "Sorry, I could not find that order."
    await admin.press(f"ao:{order.id}:explode")
    assert "out of date" in admin.alert()
    await admin.press(f"aoc:{order.id}:pigeon")
    assert "out of date" in admin.alert()  # not shippable before review anyway
    await admin.press(f"ao:{order.id}")
    assert admin.answers[0].alert
    await admin.press(f"aow:{order.id}:999")
    assert admin.alert()
    assert await status(svc, order.id) == "awaiting_review"


async def test_a_stale_card_answers_with_the_current_state(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await svc.orders.cancel_by_customer((await buyer(svc)).id, order.id)
    await admin.press(f"ao:{order.id}:confirm", message_id=77)
    assert admin.alert() == (f"This card was out of date: order No. {order.number} is now "
                             "Cancelled. Nothing was changed.")
    card = admin.last[1]
    assert isinstance(card, EditText) and card.message_id == 77 and "Status: Cancelled" in card.text
    assert await status(svc, order.id) == "cancelled"


async def test_two_admins_pressing_confirm_at_once(
        admin: AdminChat, conversation: Conversation, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    second = AdminChat(conversation, SECOND, "Deputy")
    await asyncio.gather(admin.press(f"ao:{order.id}:confirm"),
                         second.press(f"ao:{order.id}:confirm"))
    answers = [a.text for chat in (admin, second) for a in chat.last if isinstance(a, AnswerCallback)]
    assert f"✅ Order No. {order.number} confirmed." in answers
    assert (f"Already done by someone else: order No. {order.number} is now Awaiting shipment."
            in answers)
    async with svc.ctx.db.read() as s:
        assert (await s.get(Order, order.id)).status == "awaiting_shipment"  # type: ignore[union-attr]


async def test_steps_lost_to_another_admin_change_nothing(
        admin: AdminChat, conversation: Conversation, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await admin.press(f"ao:{order.id}:reject")
    second = AdminChat(conversation, SECOND, "Deputy")
    await second.press(f"ao:{order.id}:confirm")
    await admin.send("too far away")
    assert admin.texts[0].startswith("Already done by someone else")
    assert await status(svc, order.id) == "awaiting_shipment"
    await admin.send("another message")
    assert admin.last == []  # the step is over


# returns ------------------------------------------------------------------------------------

async def test_a_return_from_request_to_refund(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    composer = AdminAlerts(svc, SETTINGS)
    order = await paid_order(svc, {shop.tea: 2})
    await svc.orders.confirm(order.id, "admin:1")
    await svc.orders.ship(order.id, "admin:1", "sandbox", "SF1")
    await svc.orders.mark_delivered(order.id, "admin:1")
    customer = await buyer(svc)
    line = (await svc.orders.detail(order.id)).lines[0].id
    request = await svc.returns.request(customer.id, order.id, "return", "Dented <tin>", [(line, 1)],
                                        ["photo-1", "photo-2"])
    cards = [r for r in await alerts(svc, composer) if isinstance(r, SendText)]
    card = cards[-1]
    assert f"After-sales request No. {request.id}" in card.text and "Dented &lt;tin&gt;" in card.text
    assert "Photos: 2" in card.text and "1 × Green tea (TEA-1) — CN¥50.00" in card.text
    assert buttons(card) == ["✅ Approve", "❌ Reject", "🔄 Refresh"]

    await admin.press(f"ar:{request.id}:approve", message_id=300)
    assert "approved" in admin.answers[0].text
    await admin.press(f"ar:{request.id}:approve", message_id=300)  # a double click
    assert "is now Approved" in admin.alert()
    await admin.click("📥 Goods received")
    await admin.click("♻️ Yes, restock")
    await admin.click("💸 Refund")
    await admin.click("💸 Refund CN¥50.00")
    view = await svc.returns.get(request.id)
    assert (view.status, view.refunded_amount, view.restocked) == ("refunded", 5000, True)
    async with svc.ctx.db.read() as s:
        tea = await s.get(Stock, (shop.tea, shop.sh))
        assert tea is not None and (tea.on_hand, tea.reserved) == (9, 0)
        refunds = (await s.scalars(select(Refund))).all()
        assert [(r.amount, r.return_request_id) for r in refunds] == [(5000, request.id)]
    await admin.press(f"ar:{request.id}:close")
    assert (await svc.returns.get(request.id)).status == "closed"


async def test_a_return_rejected_with_a_reason_and_an_exchange_shipped(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 2})
    await svc.orders.confirm(order.id, "admin:1")
    await svc.orders.ship(order.id, "admin:1", "sandbox", "SF1")
    await svc.orders.mark_delivered(order.id, "admin:1")
    customer = await buyer(svc)
    line = (await svc.orders.detail(order.id)).lines[0].id
    first = await svc.returns.request(customer.id, order.id, "return", "meh", [(line, 1)])
    await admin.press(f"ar:{first.id}:reject")
    await admin.send("Opened and used")
    assert (await svc.returns.get(first.id)).merchant_note == "Opened and used"
    swap = await svc.returns.request(customer.id, order.id, "exchange", "wrong flavour", [(line, 1)])
    await admin.press(f"ar:{swap.id}:approve")
    await admin.press(f"ar:{swap.id}:rsn")
    await admin.press(f"ar:{swap.id}:replace")
    await admin.click("Sandbox Express")
    await admin.send("SF 99")
    assert "is on its way" in admin.texts[0]
    assert (await svc.returns.get(swap.id)).status == "replaced"
    await admin.press(f"ar:{swap.id}:refund")
    assert "is now Replacement shipped" in admin.alert()


# languages, repeats and limits ------------------------------------------------------------

async def test_cards_speak_the_admin_language(svc: Services, shop: ShopData) -> None:
    from dataclasses import replace

    from services.container import build_services

    zh = build_services(replace(svc.ctx, rules=replace(svc.ctx.rules, admin_language="zh_CN")))
    order = await paid_order(zh, {shop.tea: 1})
    cards = [r for r in await alerts(zh, AdminAlerts(zh, SETTINGS)) if isinstance(r, SendText)]
    text = cards[-1].text
    assert f"订单号 {order.number}" in text and "状态：待审核" in text and "1 × 绿茶（TEA-1）" in text
    assert buttons(cards[-1])[:2] == ["✅ 审核通过", "❌ 拒绝订单"]
    admin = AdminChat(Conversation(zh, SETTINGS), ADMIN, "老板")
    await admin.press(f"ao:{order.id}:confirm")
    assert admin.answers[0].text == f"✅ 订单 {order.number} 已审核通过。"
    await admin.press(f"ao:{order.id}:confirm")
    assert admin.alert() == f"此卡片已过时：订单 {order.number} 现在是「待发货」。未做任何更改。"


async def test_the_same_press_delivered_twice_acts_once(admin: AdminChat, svc: Services,
                                                        shop: ShopData) -> None:
    order = await paid_order(svc, {shop.tea: 1})
    await admin.press(f"ao:{order.id}:confirm")
    event = Event(kind="callback", update_id=424242, user=admin.user, chat_id=ADMIN_CHAT,
                  chat_type="supergroup", callback_id="cb-x", callback_data=f"ao:{order.id}:refund",
                  callback_message_id=5)
    assert await admin.deliver(event)
    assert await admin.repeat(event) == []
    await admin.send("1")
    await admin.send("1")  # the step ended after the first amount
    async with svc.ctx.db.read() as s:
        assert [r.amount for r in (await s.scalars(select(Refund))).all()] == [100]


async def test_a_huge_order_card_stays_within_telegram_limits(svc: Services, shop: ShopData) -> None:
    from dataclasses import replace

    from handlers.admin.cards.view import TEXT_LIMIT, card_keyboard, card_text
    from handlers.callbacks import decode
    from handlers.i18n import Translator
    from services.orders.dto import LineView

    order = await paid_order(svc, {shop.tea: 1})
    card = await svc.merchant.card(order.id)
    lines = tuple(LineView(i, 1, "S" * 64, "N" * 128 + "<&>", "名" * 128, 10**9, 99)
                  for i in range(30))
    big = replace(card, order=replace(card.order, lines=lines, recipient_name="R" * 64,
                                      address_line="<b>" * 80, cancel_reason="x" * 500),
                  customer_name="C" * 128)
    for language in ("en", "zh_CN"):
        text = card_text(Translator(language, "Asia/Shanghai"), big, svc.ctx, "alert " * 600)
        assert len(text) <= TEXT_LIMIT and text.endswith("…") and "<b><b>" not in text
    for row in card_keyboard(Translator("en", "Asia/Shanghai"), big).rows:
        for button in row:
            assert button.data and len(button.data.encode()) <= 64 and decode(button.data)


async def test_another_card_button_leaves_a_pending_step(admin: AdminChat, svc: Services,
                                                         shop: ShopData) -> None:
    first = await paid_order(svc, {shop.tea: 1})
    other = await paid_order(svc, {shop.mug: 1}, telegram_id=1002)
    await admin.press(f"ao:{first.id}:reject")
    await admin.press(f"ao:{other.id}:card")  # the admin turned to another order
    await admin.send("hello team")
    assert admin.last == [] and await status(svc, first.id) == "awaiting_review"
