"""More of support through the sandbox: Li asks about an order from its screen, the agents
answer with a prepared reply and look orders up in the topic; a low rating alerts them; /stats
for a period; a redelivered update relays once; two first messages at once (and two bot
processes) make one topic; albums stay albums; long texts are split; a customer who blocked
the bot is a warning and a note, not an error.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, SupportLink, SupportSession
from sandbox.client import CallbackAnswer, SandboxChat, SandboxUser
from services.rules import CannedReply
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.e2e.test_support import in_topic, open_chat
from tests.shop import buyer, place

# A prepared answer longer than Telegram's 4096 characters of one message.
COURIERS = ("Our couriers deliver every day of the week. " * 120).strip()
CANNED = (CannedReply("delivery_time", "Delivery takes 1-3 days.", "发货后 1-3 天送达。"),
          CannedReply("couriers", COURIERS, COURIERS))


@pytest.fixture
async def desk(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[ShopUnderTest]:
    """The shop with a support forum and two agents (Mei, Kai); every Bot API call it made
    must have been valid (unless the test provokes a refusal: `allow_refused`)."""
    async with running_shop(tmp_path, support=True, canned=CANNED) as shop:
        yield shop
        if request.node.get_closest_marker("allow_refused") is not None:
            return
        refused = [(e.method, e.description) for e in shop.refused_requests()]
        assert refused == [], f"the sandbox refused Bot API calls: {refused}"


def forum_of(desk: ShopUnderTest) -> SandboxChat:
    """The support forum (there is one in these tests)."""
    assert desk.support_chat is not None
    return desk.support_chat


async def test_ask_about_an_order_then_canned_replies_and_orders_in_the_topic(
        desk: ShopUnderTest) -> None:
    li = desk.customer("Li", username="li_buyer")
    await li.command("/start")
    await li.wait_for_message(WAIT)
    order = await place(desk.services, await buyer(desk.services, li.user.id), {desk.data.tea: 2})
    await desk.outbox_settled()

    await li.click("📦 My orders")
    listing = await new_message(li, "Tap an order to see its details")
    await press(li, order.number)
    screen = await edited(li, listing.message_id, "Order No.")
    await press(li, "💬 Ask about this order", message_id=screen.message_id)
    await new_message(li, "A person will answer in this chat")

    forum = forum_of(desk)
    card = await forum.wait_for_message(WAIT, lambda m: "Take over" in str(m.buttons))
    thread = card["message_thread_id"]
    assert order.number in card.text and "Awaiting payment" in card.text
    assert f"📦 Order {order.number}" in card.buttons  # the order in question, a button away
    # Li places another order meanwhile: the card shows it, in place.
    second = await place(desk.services, await buyer(desk.services, li.user.id),
                         {desk.data.mug: 1})
    fresh = await edited(forum, card.message_id, second.number)
    assert order.number in fresh.text and f"📦 Order {order.number}" in fresh.buttons
    mei = desk.agents[0].in_chat(forum)
    await mei.click(f"📦 Order {order.number}", message_id=card.message_id)
    shown = await forum.wait_for_message(WAIT, in_topic(thread))
    assert f"Order No. {order.number}" in shown.text and "Green tea" in shown.text

    await mei.send("/reply delivery_time", thread_id=thread)
    await li.wait_for_message(WAIT, lambda m: m.text == "Delivery takes 1-3 days.")
    echo = await forum.wait_for_message(WAIT, in_topic(thread))
    assert echo.text == "Sent to the customer:\nDelivery takes 1-3 days."
    await mei.send("/reply", thread_id=thread)
    keys = await forum.wait_for_message(WAIT, in_topic(thread))
    assert keys.text == "Usage: /reply <key>. Keys: delivery_time, couriers"
    await mei.send("/reply refund_policy", thread_id=thread)
    missing = await forum.wait_for_message(WAIT, in_topic(thread))
    assert missing.text == "There's no prepared answer with that key."
    await mei.send("/reply delivery_time")  # in General: whose customer would it be?
    general = await forum.wait_for_message(WAIT, lambda m: "message_thread_id" not in m)
    assert general.text == "That works only in a customer's topic."

    await mei.send(f"/order {order.number}", thread_id=thread)
    looked_up = await forum.wait_for_message(WAIT, in_topic(thread))
    assert f"Order No. {order.number}" in looked_up.text
    await mei.send("/order 99999999", thread_id=thread)
    unknown = await forum.wait_for_message(WAIT, in_topic(thread))
    assert "Order No." not in unknown.text and unknown.text
    await mei.send("/order", thread_id=thread)
    usage = await forum.wait_for_message(WAIT, in_topic(thread))
    assert usage.text == "Usage: /order <order number>"
    # Li got the prepared answer once, and nothing of what the agents typed as commands.
    said = [m.text for m in li.bot_messages
            if m.text and ("/order" in m.text or m.text == "Delivery takes 1-3 days.")]
    assert said == ["Delivery takes 1-3 days."]


async def test_a_chinese_customer_gets_the_chinese_canned_reply(desk: ShopUnderTest) -> None:
    wang = desk.customer("Wang", language_code="zh-hans")
    await wang.command("/start")
    await wang.wait_for_message(WAIT)
    await wang.send("💬 人工客服")
    await new_message(wang, "已为您接通客服")
    forum = forum_of(desk)
    card = await forum.wait_for_message(WAIT, lambda m: "Take over" in str(m.buttons))
    await desk.agents[1].in_chat(forum).send("/reply delivery_time",
                                             thread_id=card["message_thread_id"])
    await wang.wait_for_message(WAIT, lambda m: m.text == "发货后 1-3 天送达。")


async def test_a_low_rating_alerts_the_agents_and_stats_take_a_period(
        desk: ShopUnderTest) -> None:
    li, thread, card = await open_chat(desk)
    forum = forum_of(desk)
    mei = desk.agents[0].in_chat(forum)
    await press(mei, "Take over", message_id=card.message_id)
    await mei.send("Sorry, it is out of stock", thread_id=thread)
    await li.wait_for_message(WAIT, lambda m: m.text == "Sorry, it is out of stock")
    await press(mei, "Close", message_id=card.message_id)
    closed = await new_message(li, "closed this chat")
    await press(li, "⭐", message_id=closed.message_id)  # the first button: one star

    note = await forum.wait_for_message(WAIT, in_topic(thread))
    assert note.text == "⚠️ The customer rated the chat 1 of 5. Worth a follow-up."
    alert = await forum.wait_for_message(WAIT, lambda m: "rated their chat" in (m.text or ""))
    assert "message_thread_id" not in alert  # in General, where every agent sees it
    assert alert.text == f"⚠️ Li · @li_buyer · {li.user.id} rated their chat 1 of 5."

    await mei.send("/stats 7")
    week = await forum.wait_for_message(WAIT, lambda m: "Support, " in (m.text or ""))
    assert week.text.startswith("Support, the last 7 days\nConversations: 1 (open: 0)")
    assert "Ratings: 1, average 1.0" in week.text
    desk.clock.advance(days=8)
    await mei.send("/stats 7")
    later = await forum.wait_for_message(WAIT, lambda m: "Support, the last 7" in (m.text or "")
                                         and m.message_id != week.message_id)
    assert "Conversations: 0 (open: 0)" in later.text and "Ratings: 0, average —" in later.text
    await mei.send("/stats")
    ever = await forum.wait_for_message(WAIT, lambda m: "Support, all time" in (m.text or ""))
    assert "Conversations: 1 (open: 0)" in ever.text
    for wrong in ("/stats week", "/stats 0", "/stats 99999", "/stats ７"):
        await mei.send(wrong)
        usage = await forum.wait_for_message(WAIT, lambda m: "Usage: /stats" in (m.text or ""))
        assert usage.text.startswith("Usage: /stats for all conversations")

    # A good rating alerts nobody.
    await li.send("💬 Support")
    await new_message(li, "A person will answer")
    fresh = await forum.wait_for_message(WAIT, lambda m: "Take over" in str(m.buttons)
                                         and m.message_id != card.message_id)
    await press(mei, "Close", message_id=fresh.message_id)
    again = await li.wait_for_message(WAIT, lambda m: "closed this chat" in (m.text or "")
                                      and m.message_id != closed.message_id)
    await press(li, "⭐⭐⭐⭐⭐", message_id=again.message_id)
    await forum.wait_for_message(WAIT, lambda m: "rated the chat 5 of 5" in (m.text or ""))
    await desk.outbox_settled()
    alerts = [m for m in forum.bot_messages if "rated their chat" in (m.text or "")]
    assert len(alerts) == 1


def _update_of(desk: ShopUnderTest, chat_id: int, message_id: int) -> dict[str, Any]:
    """The update Telegram delivered for a message (as getUpdates returned it)."""
    for entry in desk.sandbox.requests("getUpdates"):
        for raw in entry.result or []:
            message = raw.get("message") or {}
            if message.get("message_id") == message_id and message["chat"]["id"] == chat_id:
                return dict(raw)
    raise AssertionError(f"no update for message {message_id}")


async def test_a_redelivered_update_relays_once(desk: ShopUnderTest) -> None:
    li, thread, _ = await open_chat(desk)
    forum = forum_of(desk)
    asked = await li.send("Is it in stock?")
    await forum.wait_for_message(WAIT, in_topic(thread, "Is it in stock?"))
    mei = desk.agents[0].in_chat(forum)
    said = await mei.send("Yes, 12 left", thread_id=thread)
    await li.wait_for_message(WAIT, lambda m: m.text == "Yes, 12 left")
    await desk.outbox_settled()

    # Telegram delivers both updates again (the bot had not confirmed them), twice at once.
    again = [_update_of(desk, li.user.id, asked["message_id"]),
             _update_of(desk, forum.id, said["message_id"])]
    await asyncio.gather(*(desk.bot.runtime.feed_json(u) for u in again * 2))
    await desk.outbox_settled()
    assert [m.text for m in forum.bot_messages].count("Is it in stock?") == 1
    assert [m.text for m in li.bot_messages].count("Yes, 12 left") == 1
    async with desk.services.ctx.db.read() as s:
        relays = await s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.template.in_(("relay_in", "relay_out"))))
    assert relays == 2


async def two_at_once(li: SandboxUser) -> None:
    """Li taps "💬 Support" and sends two messages at the same moment."""
    await li.command("/start")
    await li.wait_for_message(WAIT)
    await li.send("💬 Support")
    await asyncio.gather(li.send("first"), li.send("second"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_two_first_messages_and_two_processes_make_one_topic(
        tmp_path: Path, backend: str) -> None:
    async with running_shop(tmp_path, backend, support=True) as desk:
        # A second bot process (webhook-style: no polling of its own) sends the outbox too.
        other = type(desk.bot).build(desk.services, desk.settings, desk.sandbox.token,
                                     desk.sandbox.api_url, desk.bot.limiter, outbox_interval=0.01)
        await other.start(polling=False)
        try:
            li = desk.customer("Li")
            await two_at_once(li)
            forum = forum_of(desk)
            for text in ("first", "second"):
                await forum.wait_for_message(WAIT, lambda m, t=text: m.text == t)
            await desk.outbox_settled()
        finally:
            await other.stop()
        assert len(forum.requests("createForumTopic")) == 1
        threads = {m.get("message_thread_id") for m in forum.bot_messages}
        assert len(threads) == 1 and None not in threads
        assert desk.refused_requests() == []


async def test_two_senders_racing_for_a_new_topic_make_one(desk: ShopUnderTest) -> None:
    """What two processes' claims can do on PostgreSQL (SKIP LOCKED lets each take one of the
    forum's rows): both deliver a first message of Li's before her topic exists."""
    desk.bot.sender.request_stop()  # the running sender would take both rows itself
    await asyncio.sleep(0.2)
    li = desk.customer("Li")
    await two_at_once(li)
    async with desk.services.ctx.db.read() as s:
        for _ in range(200):
            rows = (await s.scalars(select(OutboxMessage).where(
                OutboxMessage.template == "relay_in").order_by(OutboxMessage.id))).all()
            if len(rows) == 2:
                break
            await asyncio.sleep(0.02)
    from bot.outbox_sender import OutboxSender
    from bot.runtimes import Steps
    from services.outbox import OutgoingMessage

    first, second = (OutgoingMessage(r.id, r.audience, r.chat_id, r.template, r.language,
                                     dict(r.params), r.order_id, 1) for r in rows)
    relay = desk.bot.sender.notifications.deliverer(first)
    assert relay is not None
    senders = [OutboxSender(desk.services.outbox, Steps(desk.bot.runtime),
                            desk.bot.sender.notifications) for _ in range(2)]
    results = await asyncio.gather(relay.deliver(first, senders[0].send),
                                   relay.deliver(second, senders[1].send),
                                   return_exceptions=True)
    busy = [r for r in results if isinstance(r, Exception)]
    assert [type(b).__name__ for b in busy] == ["TopicBusy"]  # the other one waits its turn
    winner = first if results[0] is None else second
    await desk.services.outbox.mark_sent(winner.id)  # as its sender does once it is sent
    forum = forum_of(desk)
    assert len(forum.requests("createForumTopic")) == 1
    # Its row is tried again later (here: the whole outbox, the card included) and lands in
    # the topic the winner made.
    desk.clock.advance(minutes=5)
    while await desk.send_outbox():
        pass
    copies = [m for m in forum.bot_messages if m.text in ("first", "second")]
    assert len(copies) == 2 and len({m["message_thread_id"] for m in copies}) == 1
    assert len(forum.requests("createForumTopic")) == 1


@pytest.mark.allow_refused  # Li blocked the bot: Telegram refuses the copy, as it should
async def test_albums_long_texts_and_a_customer_who_blocked_the_bot(
        desk: ShopUnderTest, caplog: pytest.LogCaptureFixture) -> None:
    li, thread, _ = await open_chat(desk)
    forum = forum_of(desk)
    mei = desk.agents[0].in_chat(forum)

    # Li sends three photos as one album: the topic gets one album of three.
    album = await li.send_album(3, caption="which one is mine?")
    await _links(desk, 3)
    desk.clock.advance(seconds=3)  # the album's pieces are gathered for a moment, then sent
    copies = await _album_in(forum, 3)
    assert {m["message_thread_id"] for m in copies} == {thread}
    assert copies[0]["caption"] == "which one is mine?"
    assert len(forum.requests("copyMessages")) == 1 and not [
        r for r in forum.requests("copyMessage")
        if r.params.get("message_id") in {m["message_id"] for m in album}]
    # An agent's album goes to Li the same way.
    await mei.send_album(2, thread_id=thread)
    await _links(desk, 3 + 2)
    desk.clock.advance(seconds=3)
    await _album_in(li, 2)
    # A reply to one photo of Li's album follows it (each piece is linked both ways).
    await mei.send("the second one", thread_id=thread, reply_to=copies[1]["message_id"])
    answer = await li.wait_for_message(WAIT, lambda m: m.text == "the second one")
    assert answer["reply_to_message"]["message_id"] == album[1]["message_id"]

    # A prepared answer longer than one Telegram message arrives in pieces, none cut mid-word.
    await mei.send("/reply couriers", thread_id=thread)
    parts = [await li.wait_for_message(WAIT, lambda m: (m.text or "").startswith("Our couri"))]
    parts.append(await li.wait_for_message(WAIT))
    assert all(len(p.text) <= 4096 for p in parts)
    assert " ".join(p.text for p in parts) == COURIERS
    echo = await forum.wait_for_message(WAIT, lambda m: (m.text or "").startswith("Sent to"))
    assert len(echo.text) <= 4096

    # Li blocks the bot: the next answer is a note in the topic and a warning in the log.
    await li.block()
    with caplog.at_level(logging.INFO):
        await mei.send("Are you still there?", thread_id=thread)
        note = await forum.wait_for_message(WAIT, lambda m: "blocked the bot" in (m.text or ""))
        await desk.outbox_settled()
    assert note["message_thread_id"] == thread
    undelivered = [r for r in caplog.records if "undeliverable" in r.getMessage()]
    assert [r.levelname for r in undelivered] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _links(desk: ShopUnderTest, count: int) -> None:
    """Wait until this many messages are recorded for relaying (the updates were handled)."""
    for _ in range(400):
        async with desk.services.ctx.db.read() as s:
            if await s.scalar(select(func.count(SupportLink.id)).where(
                    SupportLink.media_group_id.is_not(None))) >= count:
                return
        await asyncio.sleep(0.025)
    raise AssertionError(f"fewer than {count} album pieces recorded")


async def _album_in(chat: SandboxChat, size: int) -> list[dict[str, object]]:
    """The newest album of `size` the bot put in this chat (waits for it)."""
    for _ in range(400):
        groups: dict[str, list[dict[str, object]]] = {}
        for m in chat.bot_messages:
            if m.get("media_group_id"):
                groups.setdefault(str(m["media_group_id"]), []).append(m)
        full = [g for g in groups.values() if len(g) == size]
        if full:
            return full[-1]
        await asyncio.sleep(0.025)
    raise AssertionError(f"no album of {size} in chat {chat.id}")


async def test_session_rows_unchanged_by_a_non_agent(desk: ShopUnderTest) -> None:
    li, thread, card = await open_chat(desk)
    forum = forum_of(desk)
    stranger = desk.customer("Eve").in_chat(forum)
    for label in ("Close", "Release"):
        answer = await stranger.click(label, message_id=card.message_id)
        assert isinstance(answer, CallbackAnswer) and answer.show_alert
    await stranger.send("/stats")
    await stranger.send("/reply delivery_time", thread_id=thread)
    await li.send("ping")
    await forum.wait_for_message(WAIT, in_topic(thread, "ping"))
    async with desk.services.ctx.db.read() as s:
        row = await s.scalar(select(SupportSession))
    assert row is not None and row.resolved_at is None and row.agent_id is None
    assert "Delivery takes" not in " ".join(m.text or "" for m in li.bot_messages)
