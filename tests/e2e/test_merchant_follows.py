"""The merchant's card follows the customer: every customer action that changes an order edits
its card in the admin group at once (no Refresh needed), reviews show on the card, a low rating
is an alert that needs attention, and a shipped order can always be marked delivered.

Through the sandbox: the customer presses buttons in their chat, the merchant in the admin
group; the fixture fails a test on any Bot API call the sandbox refused.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select

from models import Order, OrderEvent, OutboxMessage, Stock
from sandbox.client import SandboxChat, SandboxMessage, SandboxUser
from services.inventory import stock
from services.orders.dto import PlacedOrder
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.e2e.test_admin_orders import card_shown, paid_order
from tests.shop import buyer, pay, place

ADMIN = "admin:1"


async def customer(shop: ShopUnderTest, name: str = "Li") -> SandboxUser:
    """A customer who said /start."""
    person = shop.customer(name)
    await person.command("/start")
    await person.wait_for_message(WAIT)
    return person


async def shipped(shop: ShopUnderTest, person: SandboxUser, carrier: str = "sandbox") -> PlacedOrder:
    """Two teas bought, paid, confirmed and shipped by the merchant's services."""
    order = await paid_order(shop, person.user.id, {shop.data.tea: 2})
    await shop.services.orders.confirm(order.id, ADMIN)
    await shop.services.orders.ship(order.id, ADMIN, carrier, "SF1001")
    return order


async def delivered(shop: ShopUnderTest, person: SandboxUser) -> tuple[PlacedOrder, SandboxChat]:
    """An order the sandbox carrier delivered, its card in the admin group following it."""
    order = await shipped(shop, person)
    await shop.outbox_settled()
    shop.clock.advance(days=3)
    await shop.services.tracking.poll()
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "(reported by the carrier)")
    assert "Status: Delivered" in (card.text or "")
    return order, boss


async def until(chat: SandboxChat, message_id: int, shows: Callable[[str], bool]) -> SandboxMessage:
    """The message once an edit made its text pass `shows`."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        msg = next((m for m in chat.bot_messages if m.message_id == message_id), None)
        if msg is not None and shows(msg.text or ""):
            return msg
        assert asyncio.get_running_loop().time() < deadline, msg and msg.text
        await chat.state.wait_changed(0.2)


async def open_order(person: SandboxUser, order: PlacedOrder) -> int:
    """The customer opens the order from the delivery notice; the card's message id."""
    notice = await person.wait_for_message(WAIT, lambda m: "was delivered" in (m.text or ""))
    await press(person, "📦 Open the order", notice.message_id)
    await edited(person, notice.message_id, f"Order No. {order.number}")
    return notice.message_id


async def test_a_sandbox_carrier_parcel_can_be_marked_delivered_from_the_card(
        shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order = await paid_order(shop, li.user.id, {shop.data.tea: 1})
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid")
    await press(boss, "✅ Confirm", card.message_id)
    await press(boss, "🚚 Ship", card.message_id)
    await press(boss, "Sandbox Express", card.message_id)
    await new_message(boss, "Send the tracking number")
    await boss.send("SB 0001")
    card = await edited(boss, card.message_id, "Status: Shipped")
    assert "📬 Mark delivered" in card.buttons  # tracked, yet the merchant may say it arrived

    answer = await press(boss, "📬 Mark delivered", card.message_id)
    assert answer.text == f"📬 Order No. {order.number} marked delivered."
    await edited(boss, card.message_id, "Status: Delivered")
    await new_message(li, "was delivered")
    async with shop.services.ctx.db.read() as s:
        saved = await s.get(Order, order.id)
        assert saved is not None and saved.status == "delivered" and saved.receipt_deadline
        actors = (await s.scalars(select(OrderEvent.actor).where(
            OrderEvent.order_id == order.id, OrderEvent.to_status == "delivered"))).all()
    assert actors == [f"admin:{shop.merchant.user.id}"]


async def test_a_confirmed_receipt_edits_the_card_without_refresh(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, boss = await delivered(shop, li)
    card = await card_shown(boss, order.number, "Status: Delivered")
    mine = await open_order(li, order)
    await press(li, "✅ Confirm receipt", mine)

    card = await edited(boss, card.message_id, "Status: Completed")
    assert "✅ The customer confirmed receipt of order No." in (card.text or "")
    assert [m.message_id for m in boss.bot_messages if order.number in (m.text or "")] == [
        card.message_id]  # edited in place: nothing new to scroll past


async def test_every_review_shows_on_the_card_with_stars_and_words(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, boss = await delivered(shop, li)
    mine = await open_order(li, order)
    await press(li, "✅ Confirm receipt", mine)
    card = await card_shown(boss, order.number, "Status: Completed")
    await press(li, "5⭐", mine)
    await new_message(li, "Tell us more")
    await li.send("Lovely tea <3, fast delivery 🍵")
    await new_message(li, "Thank you for your review")

    card = await edited(boss, card.message_id, "Review: ⭐⭐⭐⭐⭐ 5/5 · Lovely tea <3, fast delivery 🍵")
    assert f"⭐ Order No. {order.number} was reviewed: 5/5." in (card.text or "")
    assert "Low rating" not in (card.text or "")
    await press(boss, "🔄 Refresh", card.message_id)  # the review stays on the card
    card = await until(boss, card.message_id, lambda text: "was reviewed" not in text)
    assert "Review: ⭐⭐⭐⭐⭐ 5/5 · Lovely tea <3, fast delivery 🍵" in (card.text or "")


async def test_a_low_rating_is_an_alert_that_moves_the_card_down(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, boss = await delivered(shop, li)
    mine = await open_order(li, order)
    await press(li, "✅ Confirm receipt", mine)
    old = await card_shown(boss, order.number, "Status: Completed")
    await press(li, "1⭐", mine)
    prompt = await new_message(li, "Tell us more")
    await press(li, "Skip", prompt.message_id)

    card = await new_message(boss, f"⚠️ Low rating on order No. {order.number}: 1/5.")
    assert "⚠️ Low rating: ⭐ 1/5 · (no comment)" in (card.text or "")
    assert card.message_id > old.message_id
    assert old.message_id not in [m.message_id for m in boss.bot_messages]  # moved, not doubled


async def test_asking_for_a_return_edits_the_order_card(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, boss = await delivered(shop, li)
    card = await card_shown(boss, order.number, "Status: Delivered")
    svc = shop.services
    line = (await svc.orders.detail(order.id)).lines[0].id
    mine = await open_order(li, order)
    await press(li, "↩️ Return, exchange or refund", mine)
    await press(li, "Exchange", mine)
    await press(li, "➕", mine)
    await press(li, "✅ Done", mine)
    await new_message(li, "describe the reason")
    await li.send("Wrong size")
    prompt = await new_message(li, "photos")
    await press(li, "Skip photos", prompt.message_id)
    await new_message(li, "received")

    await new_message(boss, "After-sales request No. 1 · order No.")  # its own card
    card = await edited(boss, card.message_id, "↩️ After-sales: Exchange, request No. 1")
    assert "↩️ The customer asked for after-sales on order No." in (card.text or "")
    request = (await svc.returns.for_order(order.id))[0]
    assert [(ln.order_line_id, ln.quantity) for ln in request.lines] == [(line, 1)]


async def out_of_stock(shop: ShopUnderTest, person: SandboxUser) -> PlacedOrder:
    """Paid, but the one scarf reserved was found damaged before the payment arrived."""
    svc = shop.services
    placed = await place(svc, await buyer(svc, person.user.id), {shop.data.last: 1})
    async with svc.ctx.db.write() as s:
        await stock.release(s, placed.id, svc.ctx.clock.now())
        row = await s.get(Stock, (shop.data.last, shop.data.sh))
        assert row is not None
        row.on_hand = 0
    assert (await pay(svc, placed)).status == "out_of_stock"
    return placed


async def test_waiting_for_the_restock_is_told_once_and_shown_on_the_card(
        shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order = await out_of_stock(shop, li)
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid but out of stock")
    notice = await li.wait_for_message(WAIT, lambda m: "ran out of stock" in (m.text or ""))
    await press(li, "📦 Open the order", notice.message_id)
    await edited(li, notice.message_id, "Status: Out of stock")
    await press(li, "⏳ Wait for restock", notice.message_id)
    await new_message(li, "Thank you for your patience")
    again = await press(li, "⏳ Wait for restock", notice.message_id)  # a double press
    assert "Thank you for your patience" in (again.text or "")

    card = await edited(boss, card.message_id, "⏳ The customer waits for the restock.")
    assert "chose to wait for the restock" in (card.text or "")
    await shop.send_outbox()
    async with shop.services.ctx.db.read() as s:
        alerts = (await s.scalars(select(OutboxMessage.template).where(
            OutboxMessage.order_id == order.id, OutboxMessage.audience == "admin"))).all()
        events = (await s.scalars(select(OrderEvent.to_status).where(
            OrderEvent.order_id == order.id).order_by(OrderEvent.id))).all()
    assert alerts.count("alert_customer_waits") == 1
    assert events == ["pending_payment", "out_of_stock", "out_of_stock"]
    assert sum("Thank you for your patience" in (m.text or "") for m in li.bot_messages) == 1
    # The customer's timeline lists status changes only.
    await li.command("/orders")
    listing = await new_message(li, "Tap an order")
    await press(li, order.number, listing.message_id)
    mine = await edited(li, listing.message_id, "History")
    assert (mine.text or "").count("Out of stock") == 2  # the status line and one timeline row


async def test_a_customer_cancelling_out_of_stock_edits_the_card(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order = await out_of_stock(shop, li)
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid but out of stock")
    notice = await li.wait_for_message(WAIT, lambda m: "ran out of stock" in (m.text or ""))
    await press(li, "📦 Open the order", notice.message_id)
    await edited(li, notice.message_id, "Status: Out of stock")
    await press(li, "❌ Cancel and refund", notice.message_id)
    card = await edited(boss, card.message_id, "Status: Cancelled")
    assert "was cancelled by the customer" in (card.text or "")


async def test_a_receipt_confirmed_automatically_edits_the_card(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, boss = await delivered(shop, li)
    card = await card_shown(boss, order.number, "(reported by the carrier)")
    await shop.outbox_settled()
    shop.clock.advance(days=8)
    assert await shop.services.sweeps.auto_complete() == 1
    card = await edited(boss, card.message_id, "Status: Completed")
    assert "was confirmed automatically" in (card.text or "")
