"""After-sales as the merchant lives it in the admin group: the return card and the order card
follow the request to its full refund, a refused amount says why and the most, and once all the
money went back neither card offers a refund any more.

Through the sandbox; the fixture fails a test on any Bot API call the sandbox refused.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from models import Refund, ReturnRequest
from sandbox.client import SandboxChat, SandboxMessage, SandboxUser
from services.orders.dto import PlacedOrder
from services.rules import ReturnAddress
from tests.conftest import TEST_RULES
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.e2e.test_admin_orders import card_shown
from tests.e2e.test_merchant_follows import customer, delivered, open_order, until
from tests.shop import buyer


async def test_a_return_refunded_in_full_leaves_no_refund_button(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, boss = await delivered(shop, li)  # two teas, 50.00 each, 10.00 delivery: 110.00
    svc = shop.services
    card = await card_shown(boss, order.number, "(reported by the carrier)")
    line = (await svc.orders.detail(order.id)).lines[0].id
    request = await svc.returns.request((await buyer(svc, li.user.id)).id, order.id, "return",
                                        "Both tins dented", [(line, 2)])
    ret = await new_message(boss, f"After-sales request No. {request.id}")
    await press(boss, "✅ Approve", ret.message_id)
    await press(boss, "📥 Goods received", ret.message_id)
    await press(boss, "♻️ Yes, restock", ret.message_id)
    await edited(boss, ret.message_id, "put back on sale")
    await press(boss, "💸 Refund", ret.message_id)
    await new_message(boss, "(at most CN¥110.00)")  # the question, to reply to
    # The items' value is a button on the card (a question with force_reply has no buttons).
    shown = await edited(boss, ret.message_id, "")
    assert "💸 Refund CN¥100.00" in shown.buttons

    for typed, why in (("0", "A refund must be more than zero."),
                       ("-5", "A refund cannot be negative."),
                       ("abc", "“abc” is not an amount."),
                       ("🍵", "“🍵” is not an amount."),
                       ("999999999", "That is more than is left to refund")):
        await boss.send(typed)
        said = await new_message(boss, why)
        assert "at most CN¥110.00" in (said.text or ""), typed
    async with svc.ctx.db.read() as s:
        assert (await s.scalars(select(Refund))).all() == []  # nothing moved

    await boss.send("110")
    await new_message(boss, "💸 CN¥110.00 refunded for request No.")
    ret = await edited(boss, ret.message_id, "Refunded: CN¥110.00")
    assert "💸 Refund" not in ret.buttons and "🗂 Close" in ret.buttons
    card = await until(boss, card.message_id, lambda text: "Refunded: CN¥110.00" in text)
    assert "💸 Refund part" not in card.buttons
    await new_message(li, "CN¥110.00 was refunded")
    async with svc.ctx.db.read() as s:
        saved = await s.get(ReturnRequest, request.id)
        assert saved is not None and (saved.status, saved.refunded_amount) == ("refunded", 11000)
        assert [r.amount for r in (await s.scalars(select(Refund))).all()] == [11000]


async def ask_for_a_return(shop: ShopUnderTest, photos: int) -> tuple[SandboxUser, PlacedOrder,
                                                                       SandboxChat]:
    """Li asks to return one of two teas, with `photos` photos, all by pressing buttons."""
    li = await customer(shop)
    order, boss = await delivered(shop, li)
    mine = await open_order(li, order)
    await press(li, "↩️ Return, exchange or refund", mine)
    await press(li, "Return", mine)
    await press(li, "➕", mine)
    await press(li, "✅ Done", mine)
    await new_message(li, "describe the reason")
    await li.send("The tin is dented")
    prompt = await new_message(li, "photos")
    for n in range(photos):
        await li.send_photo(width=10 + n)
        prompt = await new_message(li, f"Photo {n + 1} of 5 added.")
    await press(li, "✅ Done" if photos else "Skip photos", prompt.message_id)
    await new_message(li, "Request No. 1 received")
    return li, order, boss


async def photos_in(chat: SandboxChat, count: int) -> list[SandboxMessage]:
    """The bot's photo messages in the chat, once there are `count` of them."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while len(shown := [m for m in chat.bot_messages if "photo" in m]) < count:
        assert asyncio.get_running_loop().time() < deadline, len(shown)
        await chat.state.wait_changed(0.2)
    return shown


async def test_the_merchant_sees_the_customers_photos_under_the_return_card(
        shop: ShopUnderTest) -> None:
    li, order, boss = await ask_for_a_return(shop, photos=3)
    card = await new_message(boss, "After-sales request No. 1 · order No.")
    assert "Photos: 3" in (card.text or "")
    shown = await photos_in(boss, 3)
    assert len({m["media_group_id"] for m in shown}) == 1  # one album
    assert all(m["reply_to_message"]["message_id"] == card.message_id for m in shown)
    assert shown[0]["caption"] == (f"📷 The customer's photos for after-sales request No. 1 · "
                                   f"order No. {order.number}")
    sent = [m["photo"][-1]["file_id"] for m in li.messages
            if "photo" in m and m["from"]["id"] == li.user.id]
    assert [m["photo"][-1]["file_id"] for m in shown] == sent  # the very photos, not copies
    requests = [e for e in shop.sandbox.requests() if e.method == "sendMediaGroup"]
    assert len(requests) == 1 and requests[0].ok


async def test_one_photo_is_a_photo_replying_to_the_card(shop: ShopUnderTest) -> None:
    _, order, boss = await ask_for_a_return(shop, photos=1)
    card = await new_message(boss, "After-sales request No. 1 · order No.")
    photo = await boss.wait_for_message(WAIT, lambda m: "photo" in m)
    assert photo["reply_to_message"]["message_id"] == card.message_id
    assert order.number in (photo.get("caption") or "")


async def test_no_photos_no_album(shop: ShopUnderTest) -> None:
    _, _, boss = await ask_for_a_return(shop, photos=0)
    await new_message(boss, "After-sales request No. 1 · order No.")
    await shop.send_outbox()
    assert not [m for m in boss.bot_messages if "photo" in m]


SHANGHAI_DESK = ReturnAddress("SH", "Returns desk, 1 Test Road, Shanghai 200001",
                              "上海市测试路 1 号 退货处 200001")


async def test_an_approved_return_tells_where_to_send_the_goods(tmp_path: Path) -> None:
    rules = replace(TEST_RULES, return_addresses=(SHANGHAI_DESK,))
    async with running_shop(tmp_path, rules=rules) as shop:
        li, order, boss = await ask_for_a_return(shop, photos=0)
        card = await new_message(boss, "After-sales request No. 1 · order No.")
        await press(boss, "✅ Approve", card.message_id)
        told = await new_message(li, "Please send the goods back to:")
        assert (told.text or "").splitlines()[1] == "Returns desk, 1 Test Road, Shanghai 200001"
        assert f"Write the order number {order.number} on the parcel" in (told.text or "")
        assert shop.refused_requests() == []
