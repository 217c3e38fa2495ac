"""The bot never asks Telegram for an edit that changes nothing (400 "message is not modified"):
a Refresh of an unchanged card, the same button pressed again once its screen is up, ➖ at zero
and ➕ at the most. Telegram (and the sandbox) refuse such edits; the fixture fails a test on any
refused call, and the log shows no editMessageText that was refused.
"""
from __future__ import annotations

from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import edited, new_message, press
from tests.e2e.test_admin_orders import card_shown, paid_order
from tests.e2e.test_merchant_follows import customer, delivered, open_order, until


def edits(shop: ShopUnderTest) -> list[tuple[bool, str | None]]:
    """Every editMessageText the bot made: (accepted, Telegram's refusal)."""
    return [(e.ok, e.description) for e in shop.sandbox.requests() if e.method == "editMessageText"]


async def test_refresh_of_an_unchanged_card_and_a_repeated_press_make_no_edit(
        shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order = await paid_order(shop, li.user.id, {shop.data.tea: 1})
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid")
    await press(boss, "🔄 Refresh", card.message_id)  # drops the alert line: an edit
    card = await until(boss, card.message_id, lambda text: "is paid" not in text)
    before = len(edits(shop))
    for _ in range(2):
        answer = await press(boss, "🔄 Refresh", card.message_id)  # nothing new
        assert answer.text is None and not answer.show_alert
    assert len(edits(shop)) == before

    await press(boss, "✅ Confirm", card.message_id)
    card = await edited(boss, card.message_id, "Status: Awaiting shipment")
    before = len(edits(shop))
    await press(boss, "🔄 Refresh", card.message_id)  # the confirm already drew it as it is
    assert len(edits(shop)) == before
    assert all(ok for ok, _ in edits(shop)), edits(shop)


async def test_minus_at_zero_and_plus_at_the_most_change_nothing(shop: ShopUnderTest) -> None:
    li = await customer(shop)
    order, _ = await delivered(shop, li)
    mine = await open_order(li, order)
    await press(li, "↩️ Return, exchange or refund", mine)
    await press(li, "Return", mine)
    picker = await edited(li, mine, "Nothing chosen yet.")
    assert "Green tea: 0/2" in picker.buttons
    before = len(edits(shop))
    await press(li, "➖", mine)  # already none
    assert len(edits(shop)) == before
    await press(li, "➕", mine)
    await press(li, "➕", mine)
    await until(li, mine, lambda text: "Green tea × 2" in text)
    after = len(edits(shop))
    await press(li, "➕", mine)  # two of two: no more to add
    assert len(edits(shop)) == after
    await press(li, "✅ Done", mine)
    await new_message(li, "describe the reason")
    assert all(ok for ok, _ in edits(shop)), edits(shop)
