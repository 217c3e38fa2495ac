"""Navigation spends Telegram's send budget well, on both frameworks: a customer browsing the
catalog sees one screen edited in place (a photo card by editMessageMedia) and a turn sends at
most one new message. Counted on the sandbox's record of the bot's calls."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.ratelimit import counts_as_message
from bot.runtimes import Framework
from models import Product
from sandbox.client import TINY_PNG, SandboxMessage, SandboxUser
from tests.conftest import TEST_RULES
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import WAIT, deleted, edited, new_message, press
from tests.e2e.test_admin_orders import paid_order
from tests.e2e.test_browse import cart_of, more_products

NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


class Turns:
    """The Bot API calls of each turn, once the bot has handled it."""

    def __init__(self, shop: ShopUnderTest) -> None:
        self.shop = shop
        self.mark = len(shop.sandbox.requests())

    async def calls(self, done: Awaitable[object]) -> list[str]:
        """The methods called since the last turn: `done` waits for what the customer must
        see, then every update must be confirmed to the sandbox (handled, replies sent)."""
        await done
        bot = self.shop.sandbox.bot
        for _ in range(int(WAIT / 0.01)):
            if not bot.updates:
                break
            await asyncio.sleep(0.01)
        assert not bot.updates, "the bot did not finish the turn"
        log = self.shop.sandbox.requests()
        methods = [e.method for e in log[self.mark:] if e.method != "getUpdates"]
        self.mark = len(log)
        return methods


def new_messages(methods: list[str]) -> int:
    """Messages put into the chat (what Telegram's send limits count)."""
    return sum(counts_as_message(m) for m in methods)


def screen(chat: SandboxUser, message_id: int) -> SandboxMessage:
    """The bot's message as the customer sees it now."""
    return next(m for m in chat.bot_messages if m.message_id == message_id)


async def shows_photo(chat: SandboxUser, message_id: int, caption: str) -> SandboxMessage:
    """The message once it is a photo whose caption holds `caption`."""
    for _ in range(int(WAIT / 0.01)):
        msg = next((m for m in chat.bot_messages if m.message_id == message_id), None)
        if msg is not None and "photo" in msg and caption in (msg.text or ""):
            return msg
        await asyncio.sleep(0.01)
    raise AssertionError(f"message {message_id} never showed a photo with {caption!r}")


async def test_browsing_edits_one_screen_in_place(shop: ShopUnderTest, framework: str,
                                                  tmp_path: Path) -> None:
    for product, name in ((shop.data.tea, "tea.png"), (shop.data.mug, "mug.png")):
        (tmp_path / name).write_bytes(TINY_PNG)
        async with shop.services.ctx.db.write() as s:
            await s.execute(update(Product).where(Product.id == product).values(
                photos=[str(tmp_path / name)]))
    await more_products(shop, 8)  # 13 products in Home: 3 pages
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(WAIT)
    turns = Turns(shop)

    await li.click("🛍 Catalog")  # a typed menu button: the one screen comes as a new message
    calls = await turns.calls(new_message(li, "Choose a category"))
    assert calls == ["sendMessage"]
    shelves = li.bot_messages[-1].message_id

    await press(li, "Home (13)")
    calls = await turns.calls(edited(li, shelves, "page 1/3"))
    assert calls == ["answerCallbackQuery", "editMessageText"]

    await press(li, "Green tea · CN¥50.00")  # the text list becomes the photo card
    tea = await turns.calls(shows_photo(li, shelves, "Green tea"))
    assert tea == ["answerCallbackQuery", "editMessageMedia"]
    tea_photo = screen(li, shelves)["photo"][-1]["file_unique_id"]
    assert "1/13" in screen(li, shelves).buttons

    await press(li, "▶", shelves)  # the next product: another photo in the same message
    calls = await turns.calls(shows_photo(li, shelves, "Mug"))
    assert calls == ["answerCallbackQuery", "editMessageMedia"]
    mug = screen(li, shelves)
    assert mug["photo"][-1]["file_unique_id"] != tea_photo and "2/13" in mug.buttons
    assert "Green tea" not in (mug.text or "")

    await press(li, "◀ Back to the list", shelves)  # a photo cannot become text: new + delete
    calls = await turns.calls(deleted(li, shelves))
    assert new_messages(calls) == 1 and "deleteMessage" in calls
    listing = (await new_message(li, "page 1/3")).message_id

    await press(li, "Mug · CN¥25.00", listing)
    calls = await turns.calls(shows_photo(li, listing, "Mug"))
    assert new_messages(calls) == 0 and "editMessageMedia" in calls
    assert (await press(li, "🛒 Add to cart", listing)).text == "Added 1 × Mug"
    calls = await turns.calls(new_message(li, "Your cart: 1 item"))  # the one note of the turn
    assert new_messages(calls) == 1
    added = li.bot_messages[-1].message_id

    await press(li, "🛒 Cart", added)  # the note becomes the cart
    calls = await turns.calls(edited(li, added, "Subtotal"))
    assert calls == ["answerCallbackQuery", "editMessageText"]

    # What the customer sees: the menu's greeting, the Mug card (a photo), then the cart.
    shown = [m for m in li.bot_messages if m.message_id >= listing]
    assert [m.message_id for m in shown] == [listing, added]
    assert "photo" in shown[0] and "Mug" in (shown[0].text or "")
    assert "1 × CN¥25.00" in (shown[1].text or "") and "photo" not in shown[1]
    assert await cart_of(shop) == [(shop.data.mug, 1)]
    all_calls = [e.method for e in shop.sandbox.requests() if e.method != "getUpdates"]
    assert all_calls.count("editMessageMedia") == 3


async def test_paid_broadcast_for_customers_notifications_only(tmp_path: Path,
                                                               framework: Framework) -> None:
    """With the shop's opt-in, a customer's notification goes with allow_paid_broadcast (the
    sandbox, like Telegram, takes it beyond the free 30/s); replies and the merchant's alerts
    never pay."""
    rules = replace(TEST_RULES, paid_broadcast=True)
    async with running_shop(tmp_path, rules=rules, framework=framework) as shop:
        li = shop.customer("Li")
        await li.command("/start")
        await li.wait_for_message(WAIT)
        order = await paid_order(shop, li.user.id, {shop.data.tea: 1})
        await shop.services.orders.confirm(order.id, "admin:1")
        await new_message(li, order.number)  # the customer hears of it
        await shop.outbox_settled()
        sends = [e for e in shop.sandbox.requests() if counts_as_message(e.method)]
        paid = [e for e in sends if e.params.get("allow_paid_broadcast")]
        assert paid and all(e.params["chat_id"] == li.user.id for e in paid)
        assert any(e.params["chat_id"] == li.user.id for e in sends if e not in paid)  # /start
        assert any(e.params["chat_id"] == shop.admin_chat.id for e in sends)  # alerts: free
        assert shop.refused_requests() == []


@pytest.mark.allow_refused
async def test_a_double_click_on_the_next_card_shows_it_once(shop: ShopUnderTest,
                                                             tmp_path: Path) -> None:
    """Both presses ask for the same card: the second edit changes nothing, Telegram says "not
    modified" (the only refusal), and the customer sees the card once, in the same message."""
    (tmp_path / "mug.png").write_bytes(TINY_PNG)
    async with shop.services.ctx.db.write() as s:
        await s.execute(update(Product).where(Product.id == shop.data.mug).values(
            photos=[str(tmp_path / "mug.png")]))
    li = shop.customer("Li")
    await li.command("/catalog")
    shelves = (await new_message(li, "Choose a category")).message_id
    await press(li, "Home (5)", shelves)
    await edited(li, shelves, "page 1/1")
    await press(li, "Green tea · CN¥50.00", shelves)
    await edited(li, shelves, "A fine green tea")
    turns = Turns(shop)
    await asyncio.gather(press(li, "▶", shelves), press(li, "▶", shelves))
    calls = await turns.calls(shows_photo(li, shelves, "Mug"))
    assert calls.count("editMessageMedia") == 2 and new_messages(calls) == 0
    assert [m.message_id for m in li.bot_messages] == [shelves]  # one screen, the mug's
    assert "2/5" in screen(li, shelves).buttons
    assert [e.description for e in shop.refused_requests()] == [NOT_MODIFIED]
