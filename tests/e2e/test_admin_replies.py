"""Typed answers in an admin group where the bot is a plain member in privacy mode.

Telegram gives such a bot commands, button presses and replies to its own messages, never plain
talk: every question that waits for a typed answer carries force_reply (so the admin's app
replies to it) with a placeholder, and names the admin who started the step, so in a group of
several admins only that admin's app is forced. An answer that replies to another question
(about another order) changes nothing.
"""
from __future__ import annotations

from sqlalchemy import select

from models import Order, Shipment
from sandbox.client import SandboxMessage
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.e2e.test_admin_orders import card_shown, paid_order


async def _shippable(shop: ShopUnderTest, name: str) -> tuple[str, int]:
    """A paid, confirmed, packed order; its number and card message."""
    person = shop.customer(name)
    await person.command("/start")
    await person.wait_for_message(WAIT)
    order = await paid_order(shop, person.user.id, {shop.data.tea: 1})
    boss = shop.admin_chat.as_user(shop.merchant)
    card = await card_shown(boss, order.number, "is paid")
    await press(boss, "✅ Confirm", card.message_id)
    await edited(boss, card.message_id, "Status: Awaiting shipment")
    await press(boss, "📦 Pack and print slip", card.message_id)
    await edited(boss, card.message_id, " packed")
    return order.number, card.message_id


async def _ask_tracking(shop: ShopUnderTest, card: int) -> SandboxMessage:
    boss = shop.admin_chat.as_user(shop.merchant)
    await press(boss, "🚚 Ship", card)
    await edited(boss, card, "Which carrier")
    await press(boss, "Manual delivery", card)
    return await new_message(boss, "Send the tracking number")


async def _tracking(shop: ShopUnderTest, number: str) -> str | None:
    async with shop.services.ctx.db.read() as s:
        order = await s.scalar(select(Order).where(Order.number == number))
        assert order is not None
        return await s.scalar(select(Shipment.tracking_number)
                              .where(Shipment.order_id == order.id))


async def test_the_question_asks_with_force_reply_and_the_answer_arrives(
        shop: ShopUnderTest) -> None:
    number, card = await _shippable(shop, "Li")
    question = await _ask_tracking(shop, card)
    markup = question.reply_keyboard or {}
    assert markup.get("force_reply") and markup.get("selective")
    assert 1 <= len(markup.get("input_field_placeholder", "")) <= 64
    mention = [e for e in question.get("entities", []) if e["type"] == "text_mention"]
    assert mention and mention[0]["user"]["id"] == shop.merchant.user.id
    boss = shop.admin_chat.as_user(shop.merchant)
    plain = await boss.send("SF1000", plain=True)  # reply bar closed: Telegram keeps it from the bot
    assert "reply_to_message" not in plain
    await boss.send("SF2000", reply_to=question.message_id)  # replied by hand
    await edited(boss, card, "Status: Shipped")
    assert await _tracking(shop, number) == "SF2000"


async def test_a_reply_to_an_older_question_changes_no_other_order(shop: ShopUnderTest) -> None:
    first, first_card = await _shippable(shop, "Li")
    second, second_card = await _shippable(shop, "Wang")
    old_question = await _ask_tracking(shop, first_card)
    await _ask_tracking(shop, second_card)  # the admin moved on to the second order
    boss = shop.admin_chat.as_user(shop.merchant)
    await boss.send("SF-FOR-FIRST", reply_to=old_question.message_id)
    again = await new_message(boss, "answers an earlier question")
    assert (again.reply_keyboard or {}).get("force_reply")  # the current question, once more
    assert await _tracking(shop, second) is None and await _tracking(shop, first) is None
    await boss.send("SF-FOR-SECOND")  # to the question asked again
    await edited(boss, second_card, "Status: Shipped")
    assert await _tracking(shop, second) == "SF-FOR-SECOND"
    assert await _tracking(shop, first) is None


async def test_only_the_admin_who_pressed_is_forced(shop: ShopUnderTest) -> None:
    helper = shop.customer("Helper")  # another member of the admin group
    number, card = await _shippable(shop, "Li")
    question = await _ask_tracking(shop, card)
    other = shop.admin_chat.as_user(helper)
    chatter = await other.send("lunch at noon?")  # the question is not theirs: a plain message
    assert "reply_to_message" not in chatter
    boss = shop.admin_chat.as_user(shop.merchant)
    answer = await boss.send("SF3000")  # their app replies to the question by itself
    assert answer["reply_to_message"]["message_id"] == question.message_id
    await edited(boss, card, "Status: Shipped")
    assert await _tracking(shop, number) == "SF3000"


async def test_a_wrong_answer_asks_again_and_cancel_leaves(shop: ShopUnderTest) -> None:
    number, card = await _shippable(shop, "Li")
    await _ask_tracking(shop, card)
    boss = shop.admin_chat.as_user(shop.merchant)
    await boss.send("😀" * 50)
    again = await new_message(boss, "Please send a tracking number")
    assert (again.reply_keyboard or {}).get("force_reply")
    await boss.command("/cancel")
    await new_message(boss, "Nothing was changed.")
    await boss.send("SF4000")  # the question is closed: a plain message, nothing happens
    assert await _tracking(shop, number) is None


async def test_chatid_answers_in_any_group(shop: ShopUnderTest) -> None:
    other = shop.sandbox.group("Somewhere else", members=[shop.merchant], supergroup=True)
    await other.as_user(shop.merchant).command("/chatid")
    answer = await new_message(other, str(other.id))
    assert f"This chat's id is {other.id}." in (answer.text or "")
