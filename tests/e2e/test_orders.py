"""My orders through the sandbox, as a customer lives it: open the order, confirm receipt, review,
ask for a return with a photo; in English and in Chinese. The merchant's steps go through the
services (the admin chat's own tests drive them through Telegram).

The fixture fails the test if the sandbox refused any Bot API call the bot made.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ReturnLine, ReturnRequest
from services.orders.dto import PlacedOrder
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.shop import buyer, pay, place

ADMIN = "admin:1"

LABELS = {
    "en": {"language": "en", "menu": "📦 My orders", "list": "Tap an order to see its details", "card": "Order No.",
           "delivered": "Status: Delivered", "received": "✅ Confirm receipt",
           "done_status": "Status: Completed", "ask_review": "Tell us more",
           "thanks": "Thank you for your review", "return": "↩️ Return, exchange or refund",
           "kind": "Return", "kinds": "What would you like", "item": "Green tea × 1",
           "lines_done": "✅ Done", "ask_reason": "describe the reason", "reason": "The tin is dented",
           "ask_photos": "photos", "photo_added": "Photo 1 of 5 added.",
           "send": "✅ Done (1 photo), send the request", "request": "Request No. {id} received",
           "pay": "💳 Pay now", "timeline": "Awaiting shipment", "tracking": "SF1001"},
    "zh_CN": {"language": "zh-hans", "menu": "📦 我的订单", "list": "点击订单查看详情", "card": "订单号",
              "delivered": "状态：已送达", "received": "✅ 确认收货",
              "done_status": "状态：已完成", "ask_review": "欢迎写下您的评价",
              "thanks": "感谢您的评价", "return": "↩️ 申请退货、换货或退款", "kind": "退货",
              "kinds": "需要什么售后服务", "item": "绿茶 × 1", "lines_done": "✅ 完成",
              "ask_reason": "说明原因", "reason": "茶叶罐被压扁了 😢", "ask_photos": "照片",
              "photo_added": "已添加第 1 张照片", "send": "✅ 完成（1 张照片），提交申请",
              "request": "已收到售后申请 {id}", "pay": "💳 立即付款", "timeline": "待发货",
              "tracking": "SF1001"},
}





async def delivered_order(shop: ShopUnderTest, telegram_id: int) -> PlacedOrder:
    """Two teas bought, paid, confirmed, shipped and delivered by the merchant."""
    svc = shop.services
    placed = await place(svc, await buyer(svc, telegram_id), {shop.data.tea: 2})
    await pay(svc, placed)
    await svc.orders.confirm(placed.id, ADMIN)
    await svc.orders.ship(placed.id, ADMIN, "sandbox", "SF1001")
    await svc.orders.mark_delivered(placed.id, ADMIN)
    return placed


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_open_confirm_review_and_return(shop: ShopUnderTest, language: str) -> None:
    words = LABELS[language]
    li = shop.customer("Li", language_code=words["language"])
    await li.command("/start")
    await li.wait_for_message(WAIT)
    order = await delivered_order(shop, li.user.id)
    unpaid = await place(shop.services, await buyer(shop.services, li.user.id), {shop.data.mug: 1})
    await shop.send_outbox()  # the merchant's steps told the customer; let that settle first

    await li.click(words["menu"])
    listing = await new_message(li, words["list"])
    assert any(order.number in b for b in listing.buttons) and any(unpaid.number in b for b in listing.buttons)
    await press(li, order.number)
    card = await edited(li, listing.message_id, words["card"])
    assert words["delivered"] in (card.text or "")
    assert words["timeline"] in (card.text or "") and words["tracking"] in (card.text or "")

    answer = await press(li, words["received"], message_id=card.message_id)
    assert order.number in (answer.text or "")
    card = await edited(li, card.message_id, words["done_status"])

    await press(li, "5⭐", message_id=card.message_id)
    await new_message(li, words["ask_review"])
    await li.send("👍 " + words["reason"][:4])
    card = await new_message(li, words["thanks"])  # one message: the thanks heads the card
    assert words["return"] in card.buttons
    assert "5⭐" not in card.buttons
    tea = await shop.services.catalog.product(shop.data.tea)
    assert tea.rating == 5.0 and tea.review_count == 1

    await press(li, words["return"], message_id=card.message_id)
    await edited(li, card.message_id, words["kinds"])
    await press(li, words["kind"], message_id=card.message_id)
    await press(li, "➕", message_id=card.message_id)
    await edited(li, card.message_id, words["item"])
    await press(li, words["lines_done"], message_id=card.message_id)
    await new_message(li, words["ask_reason"])
    await li.send(words["reason"])
    await new_message(li, words["ask_photos"])
    await li.send_photo()
    await new_message(li, words["photo_added"])
    await press(li, words["send"])
    async with shop.services.ctx.db.read() as s:
        request = await s.scalar(select(ReturnRequest))
        assert request is not None
        lines = (await s.execute(select(ReturnLine.quantity).where(
            ReturnLine.return_request_id == request.id))).scalars().all()
    assert (request.kind, request.reason, lines) == ("return", words["reason"], [1])
    assert len(request.photos) == 1 and request.photos[0]  # the photo's Telegram file id
    await new_message(li, words["request"].format(id=request.id))

    await li.command("/orders")  # the unpaid order offers its payment link
    listing = await new_message(li, words["list"])
    await press(li, unpaid.number, message_id=listing.message_id)
    card = await edited(li, listing.message_id, unpaid.number)
    pay_button = await li.click(words["pay"], message_id=card.message_id)
    assert isinstance(pay_button, dict) and str(pay_button.get("url", "")).startswith("http://pay.test/")


async def test_someone_elses_order_stays_theirs(shop: ShopUnderTest) -> None:
    wang = shop.customer("Wang")
    await wang.command("/start")
    await wang.wait_for_message(WAIT)
    theirs = await delivered_order(shop, wang.user.id)
    li = shop.customer("Li")
    await li.command("/orders")
    empty = await new_message(li, "no orders yet")
    assert "🛍 Open the catalog" in empty.buttons and theirs.number not in (empty.text or "")
    assert (await shop.services.orders.detail(theirs.id)).status == "delivered"
