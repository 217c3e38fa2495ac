"""After-sales as the merchant lives it in the admin group: the return card and the order card
follow the request to its full refund, a refused amount says why and the most, and once all the
money went back neither card offers a refund any more.

Through the sandbox; the fixture fails a test on any Bot API call the sandbox refused.
"""
from __future__ import annotations

from sqlalchemy import select

from models import Refund, ReturnRequest
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import edited, new_message, press
from tests.e2e.test_admin_orders import card_shown
from tests.e2e.test_merchant_follows import customer, delivered, until
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
    prompt = await new_message(boss, "(at most CN¥110.00)")
    assert "💸 Refund CN¥100.00" in prompt.buttons

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
