"""My orders through the conversation core: list, card, cancel, receipt, reviews, out of stock.

Merchant steps are driven through the services, as the admin chat would drive them.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from handlers.events import AnswerCallback, EditText, SendText
from handlers.i18n import Translator
from handlers.router import Conversation
from models import OrderEvent, Review, Stock
from services.clock import FakeClock
from services.container import Services
from services.inventory import stock
from services.orders.dto import PlacedOrder
from tests.handlers.chat import CoreChat
from tests.shop import ShopData, buyer, pay, place

ADMIN = "admin:1"


async def shipped(svc: Services, items: dict[int, int], telegram_id: int = 1001) -> PlacedOrder:
    """An order paid, confirmed and handed to the sandbox carrier."""
    placed = await place(svc, await buyer(svc, telegram_id), items)
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, ADMIN)
    await svc.orders.ship(placed.id, ADMIN, "sandbox", "SF1001")
    return placed


async def delivered(svc: Services, items: dict[int, int], telegram_id: int = 1001) -> PlacedOrder:
    """An order that reached the customer."""
    placed = await shipped(svc, items, telegram_id)
    await svc.orders.mark_delivered(placed.id, ADMIN)
    return placed


async def completed(svc: Services, items: dict[int, int], telegram_id: int = 1001) -> PlacedOrder:
    """An order whose receipt the customer confirmed."""
    placed = await delivered(svc, items, telegram_id)
    customer = await buyer(svc, telegram_id)
    await svc.orders.confirm_receipt(customer.id, placed.id)
    return placed


async def status(svc: Services, order_id: int) -> str:
    return (await svc.orders.detail(order_id)).status


def shown(chat: CoreChat) -> list[str]:
    """Texts of the buttons sent or edited in the last turn."""
    return [b.text for r in chat.last for row in getattr(getattr(r, "keyboard", None), "rows", ())
            for b in row]


def alert(chat: CoreChat) -> str:
    """The text of the last turn's one callback answer, which must be an alert."""
    answers = chat.answers
    assert len(answers) == 1 and answers[0].alert, chat.last
    return answers[0].text


async def test_no_orders_offers_the_catalog(chat: CoreChat) -> None:
    await chat.command("/start")
    await chat.click("📦 My orders")
    assert "no orders yet" in chat.last_text
    assert "🛍 Open the catalog" in chat.buttons()


async def test_list_then_card_with_timeline_and_tracking(
        chat: CoreChat, svc: Services, shop: ShopData, clock: FakeClock) -> None:
    pending = await place(svc, await buyer(svc), {shop.mug: 1})
    order = await shipped(svc, {shop.tea: 2})
    clock.advance(hours=13)
    assert await svc.tracking.poll()
    await chat.command("/orders")
    assert "Your orders" in chat.last_text
    en = Translator("en", "Asia/Shanghai")
    when = en.when((await svc.orders.detail(order.id)).created_at)
    assert chat.buttons()[0] == f"No. {order.number} · Shipped · {en.money(order.total, 'CNY')} · {when}"
    assert chat.buttons()[1].startswith(f"No. {pending.number} · Awaiting payment · ")
    await chat.click(f"No. {order.number}")
    card = chat.last_text
    assert isinstance(chat.last[0], EditText)  # the list turns into the card in place
    assert f"Order No. {order.number}" in card and "Status: <b>Shipped</b>" in card
    assert "Green tea × 2 — CN¥100.00" in card and "Total: " in card and "Paid: " in card
    assert "Li Lei, 138 0013 8000" in card and "88 Nanjing Road" in card
    assert "Payment: Online payment" in card
    timeline = card.split("History")[1]
    for word in ("Awaiting payment", "Awaiting review", "Awaiting shipment", "Shipped"):
        assert word in timeline
    assert "Sandbox Express" in card and "<code>SF1001</code>" in card
    assert "picked up by the carrier (Sandbox depot)" in card and "in transit (Sandbox hub)" in card
    assert "out for delivery" not in card
    assert "❌ Cancel order" not in chat.buttons() and "✅ Confirm receipt" not in chat.buttons()
    await chat.click("« My orders")
    assert "Your orders" in chat.last_text


async def test_unpaid_order_shows_pay_now_link(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    await chat.press(f"order:{placed.id}")
    card = chat.last[0]
    assert isinstance(card, EditText) and card.keyboard is not None
    pay_now = [b for row in card.keyboard.rows for b in row if b.text == "💳 Pay now"]
    assert pay_now and pay_now[0].url and pay_now[0].url.startswith("http://pay.test/pay/sandbox?")
    assert "Please pay by" in card.text


async def test_order_list_pages(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc)
    for _ in range(10):
        await place(svc, customer, {shop.tea: 1})
    first = await place(svc, customer, {shop.mug: 1})
    await chat.command("/orders")
    assert "1/2" in chat.buttons() and "▶️" in chat.buttons()
    await chat.click("▶️")
    assert "2/2" in chat.buttons() and "◀️" in chat.buttons()
    assert not any(first.number in b for b in chat.buttons())  # newest first: the mug is on page 1
    await chat.press("orders:9999")  # a forged page: the last real page
    assert "2/2" in chat.buttons()


async def test_cancel_asks_first_then_releases_stock(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.last: 1})
    await chat.press(f"order:{placed.id}")
    await chat.click("❌ Cancel order")
    assert chat.last_text == f"Cancel order No. {placed.number}?"
    await chat.click("No, keep it")
    assert await status(svc, placed.id) == "pending_payment"
    assert f"Order No. {placed.number}" in chat.last_text
    await chat.click("❌ Cancel order")
    await chat.click("Yes, cancel it")
    assert await status(svc, placed.id) == "cancelled"
    assert chat.answers[0].text == f"Order No. {placed.number} has been cancelled."
    assert "Status: <b>Cancelled</b>" in chat.last_text
    assert (await svc.catalog.product(shop.last)).available == 1


async def test_cancel_of_paid_order_mentions_and_makes_the_refund(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    await pay(svc, placed)
    await chat.press(f"cancel:{placed.id}")
    assert "will be refunded" in chat.last_text
    await chat.click("Yes, cancel it")
    detail = await svc.orders.detail(placed.id)
    assert detail.status == "cancelled" and detail.refunded == detail.total
    assert "Refunded: " in chat.last_text


async def test_cancel_refused_once_shipped_also_from_a_stale_button(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    await pay(svc, placed)
    await chat.press(f"order:{placed.id}")
    await chat.click("❌ Cancel order")  # the confirmation is on screen ...
    await svc.orders.confirm(placed.id, ADMIN)
    await svc.orders.ship(placed.id, ADMIN, "sandbox", "SF1")  # ... while the merchant ships
    await chat.click("Yes, cancel it")
    assert "no longer possible" in alert(chat)
    await chat.press(f"cancel:{placed.id}")
    assert alert(chat) == "This order can no longer be cancelled."
    assert "Status: <b>Shipped</b>" in chat.last_text  # the card shows where the order is now
    assert await status(svc, placed.id) == "shipped"
    assert (await svc.orders.detail(placed.id)).refunded == 0


async def test_confirm_receipt_double_click_completes_once(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await delivered(svc, {shop.tea: 1})
    await chat.press(f"order:{placed.id}")
    assert "Receipt is confirmed automatically" in chat.last_text
    await chat.click("✅ Confirm receipt")
    assert "is complete" in chat.answers[0].text
    assert "Status: <b>Completed</b>" in chat.last_text
    assert "5⭐" in chat.buttons()
    await chat.press(f"received:{placed.id}")  # the second click of a double click
    assert "no longer possible" in alert(chat)
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.order_id == placed.id, OrderEvent.to_status == "completed")) == 1


async def test_five_stars_with_text_reach_the_product_card(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await completed(svc, {shop.tea: 1, shop.mug: 1})
    await chat.press(f"order:{placed.id}")
    await chat.click("5⭐")
    assert "You gave ⭐⭐⭐⭐⭐" in chat.last_text and "Skip" in chat.buttons()
    await chat.send("Lovely tea, & a <b>sturdy</b> mug!")
    assert "Thank you for your review" in chat.texts[0]
    [card] = [r for r in chat.last if isinstance(r, SendText)]  # one message: thanks + card
    assert card.text.startswith("Thank you for your review") and "Order No." in card.text
    assert "↩️ Return, exchange or refund" in shown(chat) and "5⭐" not in shown(chat)  # no stars now
    tea = await svc.catalog.product(shop.tea)
    assert tea.rating == 5.0 and tea.review_count == 1
    assert tea.reviews[0].text == "Lovely tea, & a <b>sturdy</b> mug!"
    assert (await svc.catalog.product(shop.mug)).review_count == 1
    await chat.press(f"rate:{placed.id}:4")  # a second review
    assert alert(chat) == "You have already reviewed this order. Thank you!"
    await chat.send("another text")
    assert "I can help you shop" in chat.last_text  # no review step left behind
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Review.id))) == 2


async def test_review_skip_and_emoji_text(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    first = await completed(svc, {shop.tea: 1})
    second = await completed(svc, {shop.mug: 1})
    await chat.press(f"rate:{first.id}:3")
    await chat.click("Skip")
    assert "Thank you for your review" in chat.texts[0]
    await chat.press(f"rate:{second.id}:4")
    await chat.send("🍵👍😀" * 10)
    assert (await svc.catalog.product(shop.tea)).reviews[0].text == ""
    mug = await svc.catalog.product(shop.mug)
    assert mug.rating == 4.0 and mug.reviews[0].text == "🍵👍😀" * 10
    await chat.press(f"revskip:{second.id}")  # Skip again, after the review was saved
    assert "no longer valid" in alert(chat)


async def test_review_bad_inputs(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await completed(svc, {shop.tea: 1})
    for stars in (0, 6, 99):
        await chat.press(f"rate:{placed.id}:{stars}")
        assert "no longer valid" in alert(chat)
    not_done = await delivered(svc, {shop.mug: 1})
    await chat.press(f"rate:{not_done.id}:5")
    assert "confirm receipt first" in alert(chat)
    await chat.press(f"rate:{placed.id}:2")
    await chat.send("x" * 5000)
    assert "5000 characters" in chat.last_text and "under 1000" in chat.last_text
    await chat.send_photo()
    assert "as a text message" in chat.last_text
    await chat.send("   ")
    assert "as a text message" in chat.last_text
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Review.id))) == 0
    await chat.send("y" * 1000)
    assert (await svc.catalog.product(shop.tea)).rating == 2.0


async def test_another_customers_order_is_not_found_and_unchanged(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    theirs_pending = await place(svc, await buyer(svc, 2002), {shop.tea: 1})
    theirs_delivered = await delivered(svc, {shop.mug: 1}, telegram_id=2002)
    theirs_done = await completed(svc, {shop.mug: 1}, telegram_id=2002)
    forged = [f"order:{theirs_pending.id}", f"cancel:{theirs_pending.id}",
              f"cancelok:{theirs_pending.id}", f"oos:{theirs_pending.id}:cancel",
              f"received:{theirs_delivered.id}", f"rate:{theirs_done.id}:5",
              f"ret:{theirs_delivered.id}", f"retk:{theirs_delivered.id}:return",
              "order:999999", "cancelok:999999"]
    for data in forged:
        await chat.press(data)
        assert alert(chat) == "Sorry, I could not find that order.", data
    assert await status(svc, theirs_pending.id) == "pending_payment"
    assert await status(svc, theirs_delivered.id) == "delivered"
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Review.id))) == 0


async def _out_of_stock(svc: Services, shop: ShopData) -> PlacedOrder:
    """Paid, but the reserved scarf was found damaged before the payment arrived."""
    placed = await place(svc, await buyer(svc), {shop.last: 1})
    async with svc.ctx.db.write() as s:
        await stock.release(s, placed.id, svc.ctx.clock.now())
        row = await s.get(Stock, (shop.last, shop.sh))
        assert row is not None
        row.on_hand = 0
    assert (await pay(svc, placed)).status == "out_of_stock"
    return placed


async def test_out_of_stock_wait_then_restock(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await _out_of_stock(svc, shop)
    await chat.press(f"order:{placed.id}")
    assert "Status: <b>Out of stock</b>" in chat.last_text
    assert "⏳ Wait for restock" in chat.buttons() and "❌ Cancel order" not in chat.buttons()
    await chat.click("⏳ Wait for restock")
    assert "as soon as the items of order" in chat.last_text
    assert await status(svc, placed.id) == "out_of_stock"
    await svc.inventory.restock("LAST-1", "SH", 1, ADMIN)
    await chat.click("❌ Cancel and refund")  # a stale button after the restock
    assert "no longer waiting for stock" in alert(chat)
    assert await status(svc, placed.id) == "awaiting_review"
    await chat.press(f"oos:{placed.id}:maybe")
    assert "no longer valid" in alert(chat)


async def test_out_of_stock_cancel_refunds(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await _out_of_stock(svc, shop)
    await chat.press(f"order:{placed.id}")
    await chat.click("❌ Cancel and refund")
    detail = await svc.orders.detail(placed.id)
    assert detail.status == "cancelled" and detail.refunded == detail.total > 0
    assert "Status: <b>Cancelled</b>" in chat.last_text


async def test_chinese_card(conversation: Conversation, svc: Services, shop: ShopData,
                            clock: FakeClock) -> None:
    chat = CoreChat(conversation, user_id=3003, language_code="zh-hans")
    await chat.command("/start")
    await chat.click("🌐")
    await chat.click("简体中文")
    placed = await shipped(svc, {shop.tea: 1}, telegram_id=3003)
    await chat.send("📦 我的订单")
    assert "我的订单" in chat.last_text
    await chat.click(re.compile("已发货"))
    card = chat.last_text
    for words in (f"订单号 {placed.number}", "状态：<b>已发货</b>", "绿茶 × 1", "待付款", "待审核",
                  "待发货", "运单号 <code>SF1001</code>", "支付方式：在线支付"):
        assert words in card, words
    await svc.orders.mark_delivered(placed.id, ADMIN)
    await chat.click("« 我的订单")
    await chat.click(re.compile("已送达"))
    await chat.click("✅ 确认收货")
    assert "状态：<b>已完成</b>" in chat.last_text
    await chat.click("4⭐")
    await chat.send("很好喝！")
    assert any("感谢您的评价" in t for t in chat.texts)


async def test_every_press_is_answered(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    placed = await delivered(svc, {shop.tea: 1})
    for data in (f"order:{placed.id}", "orders:0", f"received:{placed.id}", f"rate:{placed.id}:5",
                 f"revskip:{placed.id}"):
        replies = await chat.press(data)
        assert sum(isinstance(r, AnswerCallback) for r in replies) == 1, data
        assert all(len(r.text) <= 4096 for r in replies if isinstance(r, (SendText, EditText)))


async def test_stars_pressed_twice_ask_for_words_once(chat: CoreChat, svc: Services,
                                                      shop: ShopData) -> None:
    placed = await completed(svc, {shop.tea: 1})
    await chat.press(f"rate:{placed.id}:4")
    assert "Tell us more" in chat.last_text
    replies = await chat.press(f"rate:{placed.id}:4")
    assert [type(r).__name__ for r in replies] == ["AnswerCallback"]
    await chat.press(f"rate:{placed.id}:2")  # another choice asks again, for two stars
    assert chat.last_text.startswith("You gave ⭐⭐. Tell us more")
