"""getUpdates/webhook semantics, files, topics, commands, keyboards and the fallback methods."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from sandbox.spec import load_spec
from sandbox.testing import Sandbox

CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)


async def test_get_updates_offset_limit_and_negative_offset(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    for i in range(5):
        await alice.send(f"u{i}")
    _, body = await api("getUpdates", limit=2)
    ids = [u["update_id"] for u in body["result"]]
    assert [u["message"]["text"] for u in body["result"]] == ["u0", "u1"]
    _, body = await api("getUpdates", offset=ids[1] + 1)  # confirms the first two
    assert [u["message"]["text"] for u in body["result"]] == ["u2", "u3", "u4"]
    _, body = await api("getUpdates", offset=-1)  # only the newest, older ones forgotten
    assert [u["message"]["text"] for u in body["result"]] == ["u4"]
    _, body = await api("getUpdates")
    assert [u["message"]["text"] for u in body["result"]] == ["u4"]


async def test_long_poll_wakes_on_update_and_times_out(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    poll = asyncio.create_task(api("getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await alice.send("wake up")
    _, body = await asyncio.wait_for(poll, 2)
    assert body["result"][0]["message"]["text"] == "wake up"
    started = asyncio.get_running_loop().time()
    _, body = await api("getUpdates", offset=body["result"][0]["update_id"] + 1, timeout=1)
    assert body["result"] == [] and asyncio.get_running_loop().time() - started >= 0.9


async def test_overlapping_long_polls_conflict(sb: Sandbox, api) -> None:
    first = asyncio.create_task(api("getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(api("getUpdates", timeout=1))
    code, body = await asyncio.wait_for(first, 2)
    assert (code, body["description"]) == (409, CONFLICT_POLL)
    assert (await second)[0] == 200


async def test_allowed_updates_filters(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    await api("getUpdates", allowed_updates=["callback_query"])
    await alice.send("ignored")
    assert (await api("getUpdates"))[1]["result"] == []


async def test_webhook_info_pending_count_and_error(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    # Nothing listens on port 9 (discard): deliveries fail and updates stay pending.
    await api("setWebhook", url="http://127.0.0.1:9/hook", secret_token="abc")
    await alice.send("one")
    await alice.send("two")
    for _ in range(50):
        _, info = await api("getWebhookInfo")
        if info["result"].get("last_error_message"):
            break
        await asyncio.sleep(0.05)
    result = info["result"]
    assert result["url"] == "http://127.0.0.1:9/hook"
    assert result["pending_update_count"] == 2
    assert result["last_error_message"] == "Connection refused"
    assert (await api("deleteWebhook", drop_pending_updates=True))[0] == 200
    _, info = await api("getWebhookInfo")
    assert info["result"] == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


async def test_upload_reuse_and_download_with_aiogram(sb: Sandbox) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import BufferedInputFile

    sb.set_limits(enabled=False)  # five sends to one private chat in a row
    alice = sb.user("Alice")
    bot = Bot(sb.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.api_url)))
    try:
        sent = await bot.send_document(
            alice.id,
            BufferedInputFile(b"invoice body", "inv.txt"),
            caption="Your <b>invoice</b>",
            parse_mode="HTML",
        )
        assert sent.document.file_name == "inv.txt" and sent.caption == "Your invoice"
        again = await bot.send_document(alice.id, sent.document.file_id)
        assert again.document.file_unique_id == sent.document.file_unique_id
        file = await bot.get_file(sent.document.file_id)
        data = await bot.download_file(file.file_path)
        assert data is not None and data.read() == b"invoice body"
        assert alice.documents[0]["content"] == b"invoice body"
        photo = await alice.send_photo(caption="my receipt")
        biggest = photo["photo"][-1]["file_id"]
        resent = await bot.send_photo(alice.id, biggest)
        assert resent.photo[-1].file_id == biggest
        url_doc = await bot.send_document(alice.id, "https://example.com/menu.pdf")
        assert url_doc.document.file_name == "menu.pdf"
    finally:
        await bot.session.close()


async def test_forum_topics_routing(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    forum = sb.forum("Support", members=[alice])
    _, topic = await api("createForumTopic", chat_id=forum.id, name="Order #1")
    thread = topic["result"]["message_thread_id"]
    _, sent = await api("sendMessage", chat_id=forum.id, message_thread_id=thread, text="hi")
    assert sent["result"]["message_thread_id"] == thread
    assert sent["result"]["is_topic_message"] is True
    reply = await alice.in_chat(forum).reply_in_topic(thread, "need help")
    assert reply["message_thread_id"] == thread
    _, updates = await api("getUpdates")
    assert updates["result"][-1]["message"]["message_thread_id"] == thread
    assert (
        await api(
            "editForumTopic", chat_id=forum.id, message_thread_id=thread, name="Order #1 (paid)"
        )
    )[0] == 200
    assert forum.topics[thread]["name"] == "Order #1 (paid)"
    assert (await api("closeForumTopic", chat_id=forum.id, message_thread_id=thread))[0] == 200
    assert (await api("reopenForumTopic", chat_id=forum.id, message_thread_id=thread))[0] == 200
    assert (await api("sendMessage", chat_id=forum.id, message_thread_id=thread, text="back"))[
        0
    ] == 200


async def test_commands_chat_and_members(sb: Sandbox, api) -> None:
    alice = sb.user("Alice", username="alice_w")
    group = sb.group("Staff", members=[alice], bot_admin=True)
    commands = [{"command": "start", "description": "Start"}]
    scope = {"type": "chat", "chat_id": group.id}
    assert (await api("setMyCommands", commands=commands, scope=scope, language_code="de"))[
        0
    ] == 200
    assert (await api("getMyCommands", scope=scope, language_code="de"))[1]["result"] == commands
    assert (await api("getMyCommands"))[1]["result"] == []
    _, chat = await api("getChat", chat_id="@alice_w")
    assert chat["result"]["id"] == alice.id and chat["result"]["type"] == "private"
    _, member = await api("getChatMember", chat_id=group.id, user_id=sb.bot_id)
    assert member["result"]["status"] == "administrator"
    _, member = await api("getChatMember", chat_id=group.id, user_id=alice.id)
    assert member["result"]["status"] == "creator"


async def test_reply_keyboard_contact_and_location(sb: Sandbox, api) -> None:
    alice = sb.user("Alice", phone_number="+15551234567")
    await api(
        "sendMessage",
        chat_id=alice.id,
        text="Share?",
        reply_markup={
            "keyboard": [[{"text": "Send phone", "request_contact": True}], ["Cancel"]],
            "resize_keyboard": True,
        },
    )
    sent = await alice.click("Send phone")
    assert sent["contact"]["phone_number"] == "15551234567"  # as Telegram delivers it: no "+"
    assert sent["contact"]["user_id"] == alice.id
    assert (await alice.click(re.compile("^Canc")))["text"] == "Cancel"
    await api("sendMessage", chat_id=alice.id, text="Done", reply_markup={"remove_keyboard": True})
    with pytest.raises(Exception, match="no button"):
        await alice.click("Cancel")
    loc = await alice.send_location(1.5, 2.5)
    _, updates = await api("getUpdates")
    kinds = [
        next(k for k in u["message"] if k in ("contact", "text", "location"))
        for u in updates["result"]
    ]
    assert kinds == ["contact", "text", "location"] and loc["location"]["latitude"] == 1.5
    # Some apps put a "+" in front.
    bob = sb.user("Bob", phone_number="447911123456", client_adds_plus=True)
    await api("sendMessage", chat_id=bob.id, text="Share?",
              reply_markup={"keyboard": [[{"text": "Send phone", "request_contact": True}]]})
    assert (await bob.click("Send phone"))["contact"]["phone_number"] == "+447911123456"


async def test_every_spec_method_answers_well_formed(sb: Sandbox, api) -> None:
    """Unmodelled methods return their spec type's minimal value, never a crash."""
    spec = load_spec()
    alice = sb.user("Alice")
    crashes = []
    for name in spec.methods:
        if name in ("getUpdates", "logOut", "close", "setWebhook"):
            continue
        params = {"chat_id": alice.id, "user_id": alice.id, "message_id": 1}
        code, body = await api(name, **params)
        if code >= 500 or "ok" not in body:
            crashes.append((name, code, body))
    assert crashes == []
    _, stars = await api("getStarTransactions")
    assert stars == {"ok": True, "result": {"transactions": []}}


async def test_events_subscribe_and_sse(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    seen: list[dict] = []

    async def listen() -> None:
        async for event in sb.state.subscribe():
            if event["type"] == "message" and event["from_bot"]:
                seen.append(event["message"])
                return

    listener = asyncio.create_task(listen())
    async with aiohttp.ClientSession() as s, s.get(f"{sb.api_url}/sandbox/events") as sse:
        await asyncio.sleep(0.1)
        await api("sendMessage", chat_id=alice.id, text="live!")
        lines = []
        while not any("live!" in line for line in lines):
            lines.append((await asyncio.wait_for(sse.content.readline(), 2)).decode())
    await asyncio.wait_for(listener, 2)
    assert seen[0]["text"] == "live!"


async def test_http_client_plays_a_user(sb: Sandbox, run_bot, api) -> None:
    from sandbox.client import HttpSandboxClient

    async with HttpSandboxClient(sb.api_url, token=sb.token) as remote, run_bot("ptb", "polling"):
        bob = await remote.user("Bob")
        await bob.command("/start")
        welcome = await bob.wait_for_message(timeout=5)
        assert welcome["text"] == "Welcome, Bob!"
        assert (await bob.click("Ping"))["text"] == "pong"
        await bob.send("over http")
        assert (await bob.wait_for_message(timeout=5))["text"] == "over http"
        await bob.block()
        info = await remote.call("GET", "/sandbox/info")
        assert info["default_bot_id"] == sb.bot_id
    code, body = await api("sendMessage", chat_id=bob.user_id, text="still there?")
    assert (code, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert [e.method for e in sb.requests() if e.method == "sendMessage" and e.ok] == [
        "sendMessage",
        "sendMessage",
    ]
