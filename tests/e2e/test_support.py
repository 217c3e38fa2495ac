"""Support through the sandbox: a customer (Li) and two agents (Mei, Kai) in the support forum.

Li reaches a person from the menu or from a message the bot did not understand; a topic with
Li's card appears in the forum; text, photos and voice cross both ways as copies; edits and
replies follow; one agent takes the chat over; closing asks Li for a rating; a customer
waiting too long alerts the agents; a deleted topic is made again.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtimes import Framework
from models import SupportSession, SupportTopic
from sandbox.client import CallbackAnswer, SandboxMessage
from tests.e2e.harness import ShopUnderTest, running_shop


@pytest.fixture
async def desk(tmp_path: Path, framework: Framework) -> AsyncIterator[ShopUnderTest]:
    """The shop with a support forum and two agents, on each framework."""
    async with running_shop(tmp_path, support=True, framework=framework) as shop:
        yield shop


def in_topic(thread: int, text: str | None = None):
    """A forum message in this topic (with this text)."""
    return lambda m: m.get("message_thread_id") == thread and (text is None or m.text == text)


async def open_chat(desk: ShopUnderTest, name: str = "Li") -> tuple[object, int, SandboxMessage]:
    """A customer taps "💬 Support"; returns them, their topic and its card."""
    li = desk.customer(name, username=f"{name.lower()}_buyer")
    await li.command("/start")
    await li.wait_for_message()
    await li.send("💬 Support")
    opened = await li.wait_for_message()
    assert "A person will answer in this chat" in (opened.text or "")
    assert desk.support_chat is not None
    card = await desk.support_chat.wait_for_message(predicate=lambda m: "Take over" in str(
        m.buttons))
    return li, card["message_thread_id"], card


async def test_a_customer_and_an_agent_talk_through_the_topic(desk: ShopUnderTest) -> None:
    li, thread, card = await open_chat(desk)
    forum = desk.support_chat
    assert forum is not None
    topic = forum.topics[thread]
    assert topic["name"] == f"Li · @li_buyer · {li.user.id}"
    assert "⏳ Waiting for an agent" in card.text and "Recent orders" not in card.text
    mei = desk.agents[0].in_chat(forum)

    asked = await li.send("Where is my parcel?")
    copy = await forum.wait_for_message(predicate=in_topic(thread, "Where is my parcel?"))
    photo = await li.send_photo(caption="the box was open")
    copied_photo = await forum.wait_for_message(predicate=in_topic(thread))
    assert copied_photo["caption"] == "the box was open" and "photo" in copied_photo

    said = await mei.send("Hi Li, let me check", thread_id=thread, reply_to=copy.message_id)
    got = await li.wait_for_message(predicate=lambda m: m.text == "Hi Li, let me check")
    assert got["reply_to_message"]["message_id"] == asked["message_id"]  # a reply stays one
    await mei.send("!customer seems upset", thread_id=thread)  # a note stays in the topic
    await mei.send("lunch anyone?")  # General is never relayed
    await mei.send_media("voice", thread_id=thread)
    voice = await li.wait_for_message()
    assert "voice" in voice  # the note and General went nowhere: the voice came next

    await mei.edit(said["message_id"], "Hi Li, it ships today")
    edited = await li.wait_for_edit(got.message_id)
    assert edited.text == "Hi Li, it ships today"
    await li.edit(photo["message_id"], "the box was open and wet")
    again = await forum.wait_for_edit(copied_photo.message_id)
    assert again["caption"] == "the box was open and wet"
    creates = forum.requests("createForumTopic")
    assert len(creates) == 1
    assert [m.text for m in li.bot_messages if "Where is my parcel" in (m.text or "")] == []


async def test_take_over_race_release_close_and_rating(desk: ShopUnderTest) -> None:
    li, _, card = await open_chat(desk)
    forum = desk.support_chat
    assert forum is not None
    mei, kai = (a.in_chat(forum) for a in desk.agents)
    answers = await asyncio.gather(mei.click("Take over", message_id=card.message_id),
                                   kai.click("Take over", message_id=card.message_id))
    texts = sorted(a.text or "" for a in answers if isinstance(a, CallbackAnswer))
    winner = texts[0].split()[0]  # the loser is told who has it
    assert texts[1] == "The chat is yours." and texts[0].endswith("already has this chat.")
    joined = await li.wait_for_message()
    assert joined.text == f"{winner} joined the chat."
    loser = kai if winner == "Mei" else mei
    refused = await loser.click("Release", message_id=card.message_id)
    assert isinstance(refused, CallbackAnswer) and refused.show_alert
    holder = mei if winner == "Mei" else kai
    await holder.click("Release", message_id=card.message_id)
    await loser.click("Take over", message_id=card.message_id)
    await li.wait_for_message(predicate=lambda m: "joined the chat" in (m.text or ""))
    await loser.click("Close", message_id=card.message_id)
    closed = await li.wait_for_message(predicate=lambda m: "closed this chat" in (m.text or ""))
    await li.click("⭐⭐⭐⭐", message_id=closed.message_id)
    again = await li.click("⭐⭐⭐⭐⭐", message_id=closed.message_id)  # rated once only
    assert isinstance(again, CallbackAnswer) and again.show_alert
    async with desk.services.ctx.db.read() as session:
        row = await session.scalar(select(SupportSession))
    assert row is not None and row.rating == 4 and row.resolved_at is not None
    stats = await forum.as_user(desk.agents[0]).command("/stats")
    assert stats is not None
    figures = await forum.wait_for_message(predicate=lambda m: "Ratings: 1" in (m.text or ""))
    assert "average 4.0" in figures.text
    # After the close the customer's text is the shop's again (help and the offer).
    await li.send("hello?")
    offer = await li.wait_for_message(predicate=lambda m: "ask a person" in (m.text or ""))
    assert offer is not None


async def test_not_understood_text_offers_a_person_and_goes_with_it(desk: ShopUnderTest) -> None:
    li = desk.customer("Wang", language_code="zh-hans")
    await li.command("/start")
    await li.wait_for_message()
    await li.send("我的快递到哪了？")
    offer = await li.wait_for_message(predicate=lambda m: "问人工客服" in str(m.buttons))
    await li.click("💬 问人工客服", message_id=offer.message_id)
    opened = await li.wait_for_message()
    assert "已为您接通客服" in opened.text
    forum = desk.support_chat
    assert forum is not None
    copy = await forum.wait_for_message(predicate=lambda m: m.text == "我的快递到哪了？")
    assert copy["message_thread_id"] in forum.topics


async def test_non_agents_change_nothing(desk: ShopUnderTest) -> None:
    li, thread, card = await open_chat(desk)
    forum = desk.support_chat
    assert forum is not None
    stranger = desk.customer("Stranger").in_chat(forum)
    answer = await stranger.click("Take over", message_id=card.message_id)
    assert isinstance(answer, CallbackAnswer) and answer.text == (
        "Only support agents can do that here.")
    await stranger.send("hi Li, give me your password", thread_id=thread)
    await li.send("anyone?")
    await forum.wait_for_message(predicate=in_topic(thread, "anyone?"))
    assert not [m for m in li.bot_messages if "password" in (m.text or "")]
    async with desk.services.ctx.db.read() as session:
        row = await session.scalar(select(SupportSession))
    assert row is not None and row.agent_id is None


async def test_sla_alert_deleted_topic_and_blocked_customer(desk: ShopUnderTest) -> None:
    li, thread, _ = await open_chat(desk)
    forum = desk.support_chat
    assert forum is not None
    await li.send("hello?")
    await forum.wait_for_message(predicate=in_topic(thread, "hello?"))
    desk.clock.advance(minutes=16)
    assert await desk.services.support.sweep_unanswered() == 1
    assert await desk.services.support.sweep_unanswered() == 0  # alerted once
    await forum.wait_for_message(predicate=lambda m: "waiting over 15 min" in (m.text or "")
                                 and m.get("message_thread_id") == thread)
    await forum.wait_for_message(predicate=lambda m: "waiting over 15 min" in (m.text or "")
                                 and "message_thread_id" not in m)

    mei = desk.agents[0].in_chat(forum)
    await mei.delete_topic(thread)
    await li.send("are you there?")
    moved = await forum.wait_for_message(predicate=lambda m: m.text == "are you there?")
    new_thread = moved["message_thread_id"]
    assert new_thread != thread and new_thread in forum.topics
    async with desk.services.ctx.db.read() as session:
        topic = await session.scalar(select(SupportTopic))
    assert topic is not None and topic.thread_id == new_thread

    await li.block()
    await mei.send("Still there?", thread_id=new_thread)
    await forum.wait_for_message(predicate=lambda m: "blocked the bot" in (m.text or ""))

    await li.unblock()
    await mei.send("/block", thread_id=new_thread)
    await forum.wait_for_message(predicate=lambda m: "blocked from support" in (m.text or ""))
    await li.send("spam spam")
    await li.wait_for_message(predicate=lambda m: "didn't understand" in (m.text or ""))
    await li.send("💬 Support")
    refused = await li.wait_for_message()
    assert refused.text == "Sorry, you can't reach support right now."
