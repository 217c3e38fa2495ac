"""Flood limits answer 429 retry_after; bots that honour it deliver everything exactly once.
Injected faults (429/500/502/dropped connection/delay) are observable by clients."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from sandbox.testing import Sandbox


async def test_private_chat_burst_then_429(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    codes = [(await api("sendMessage", chat_id=alice.id, text=f"m{i}"))[0] for i in range(3)]
    code, body = await api("sendMessage", chat_id=alice.id, text="one too many")
    assert codes == [200, 200, 200]
    assert (code, body) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    assert [m.text for m in alice.bot_messages] == ["m0", "m1", "m2"]  # refused one not stored
    # chat actions and answers do not count against the limit
    assert (await api("sendChatAction", chat_id=alice.id, action="typing"))[0] == 200
    await asyncio.sleep(1.05)
    assert (await api("sendMessage", chat_id=alice.id, text="later"))[0] == 200


async def test_group_limit_is_per_minute(sb: Sandbox, api) -> None:
    group = sb.group("Team", members=[sb.user("A")])
    codes = [(await api("sendMessage", chat_id=group.id, text=str(i)))[0] for i in range(21)]
    assert codes == [200] * 20 + [429]
    _, body = await api("sendMessage", chat_id=group.id, text="x")
    assert body["parameters"]["retry_after"] == 3  # 20/min refills one message every 3 s


async def test_limits_adjustable_and_switchable(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    sb.set_limits(private_burst=1)
    assert (await api("sendMessage", chat_id=alice.id, text="1"))[0] == 200
    assert (await api("sendMessage", chat_id=alice.id, text="2"))[0] == 429
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{sb.api_url}/sandbox/limits", json={"enabled": False}) as r,
    ):
        assert (await r.json())["result"]["enabled"] is False
    assert (await api("sendMessage", chat_id=alice.id, text="3"))[0] == 200


async def test_aiogram_honouring_retry_after_gets_50_group_messages_through(sb: Sandbox) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramRetryAfter

    sb.set_limits(group_per_minute=1200, group_burst=20)  # 20/s so the test stays short
    group = sb.group("Announcements", members=[sb.user("Reader")])
    bot = Bot(sb.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.api_url)))
    retries = 0
    try:
        for i in range(50):
            while True:
                try:
                    await bot.send_message(group.id, f"news {i}")
                    break
                except TelegramRetryAfter as exc:
                    retries += 1
                    await asyncio.sleep(exc.retry_after)
    finally:
        await bot.session.close()
    assert retries > 0
    assert [m.text for m in group.bot_messages] == [f"news {i}" for i in range(50)]


@pytest.mark.filterwarnings("ignore:.*retry_after.*")  # PTB's int->timedelta deprecation note
async def test_ptb_broadcast_to_100_chats_within_global_limit(sb: Sandbox) -> None:
    from telegram import Bot
    from telegram.error import RetryAfter

    users = [sb.user(f"U{i}") for i in range(100)]
    retries = 0

    async def deliver(bot: Bot, chat_id: int) -> None:
        nonlocal retries
        while True:
            try:
                await bot.send_message(chat_id, "sale!")
                return
            except RetryAfter as exc:
                retries += 1
                wait = exc.retry_after  # int now, timedelta in a future PTB
                await asyncio.sleep(wait if isinstance(wait, int) else wait.total_seconds())

    async with Bot(sb.token, base_url=f"{sb.api_url}/bot") as bot:
        await asyncio.gather(*(deliver(bot, u.id) for u in users))
    assert retries > 0  # 100 at once exceeds 30/s
    assert all([m.text for m in u.bot_messages] == ["sale!"] for u in users)
    sends = [e for e in sb.requests("sendMessage") if e.ok]
    assert len(sends) == 100


@pytest.mark.parametrize("kind", ["500", "502", "429"])
async def test_error_faults(sb: Sandbox, api, kind: str) -> None:
    alice = sb.user("Alice")
    sb.inject_fault(kind, count=1, method="sendMessage", retry_after=7)
    async with aiohttp.ClientSession() as s:
        url = f"{sb.api_url}/bot{sb.token}/sendMessage"
        async with s.post(url, data={"chat_id": alice.id, "text": "x"}) as r:
            status, ctype, text = r.status, r.content_type, await r.text()
    assert status == int(kind)
    if kind == "502":
        assert ctype == "text/html" and "502 Bad Gateway" in text
    elif kind == "500":
        assert text == '{"ok": false, "error_code": 500, "description": "Internal Server Error"}'
    else:
        assert '"retry_after": 7' in text
    assert alice.bot_messages == []  # the failed call did nothing
    assert (await api("sendMessage", chat_id=alice.id, text="y"))[0] == 200  # only once


async def test_dropped_connection_and_delay(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    sb.inject_fault("drop", count=1, method="sendMessage")
    with pytest.raises(aiohttp.ClientError):
        await api("sendMessage", chat_id=alice.id, text="lost")
    assert alice.bot_messages == []
    delay = sb.inject_fault("delay", count=1, chat_id=alice.id, delay=0.5)
    started = time.monotonic()
    code, _ = await api("sendMessage", chat_id=alice.id, text="slow")
    assert code == 200 and time.monotonic() - started >= 0.5
    assert (delay.count, delay.hits) == (0, 1)  # used up: the next call is not delayed
    await api("sendMessage", chat_id=alice.id, text="fast")
    assert [m.text for m in alice.bot_messages] == ["slow", "fast"]


async def test_faults_through_control_api_target_one_chat(sb: Sandbox, api) -> None:
    alice, bob = sb.user("Alice"), sb.user("Bob")
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{sb.api_url}/sandbox/faults", json={"kind": "500", "count": 2, "chat_id": bob.id}
        ) as r,
    ):
        rule: dict[str, Any] = (await r.json())["result"]
    assert rule["count"] == 2
    results = [
        (await api("sendMessage", chat_id=c, text="x"))[0]
        for c in (alice.id, bob.id, bob.id, bob.id)
    ]
    assert results == [200, 500, 500, 200]


async def test_aiogram_sees_server_errors(sb: Sandbox) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramNetworkError, TelegramServerError

    alice = sb.user("Alice")
    bot = Bot(sb.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.api_url)))
    try:
        sb.inject_fault("500", method="sendMessage")
        with pytest.raises(TelegramServerError):
            await bot.send_message(alice.id, "x")
        sb.inject_fault("drop", method="sendMessage")
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(alice.id, "x")
        assert (await bot.send_message(alice.id, "ok")).text == "ok"
    finally:
        await bot.session.close()


async def test_a_groups_edits_share_its_per_minute_limit(sb: Sandbox, api) -> None:
    """TDLib's maintainer: a bot edits "about 20 times per minute in a specific chat", the
    same limit as sending; private chats' edits are not counted."""
    sb.set_limits(group_burst=3, group_per_minute=1)
    group = sb.group("Team", members=[sb.user("A")])
    _, sent = await api("sendMessage", chat_id=group.id, text="card")
    codes = [(await api("editMessageText", chat_id=group.id,
                        message_id=sent["result"]["message_id"], text=f"card {i}"))[0]
             for i in range(3)]
    assert codes == [200, 200, 429]  # one message and two edits spent the burst of 3
    alice = sb.user("Alice")
    _, mine = await api("sendMessage", chat_id=alice.id, text="screen")
    for i in range(6):  # a private chat's edits go beyond its 3 messages' burst
        code, _ = await api("editMessageText", chat_id=alice.id,
                            message_id=mine["result"]["message_id"], text=f"screen {i}")
        assert code == 200


async def test_paid_broadcast_goes_beyond_the_30_a_second(sb: Sandbox, api) -> None:
    sb.set_limits(global_burst=2, global_per_second=0.01)
    people = [sb.user(f"P{i}") for i in range(5)]
    free = [(await api("sendMessage", chat_id=p.id, text="sale"))[0] for p in people]
    assert free == [200, 200, 429, 429, 429]
    paid = [(await api("sendMessage", chat_id=p.id, text="sale", allow_paid_broadcast=True))[0]
            for p in people]
    assert paid == [200] * 5  # paid messages: up to 1000/s, the free bucket untouched
    assert [m.text for m in people[4].bot_messages] == ["sale"]
    code, _ = await api("sendMessage", chat_id=people[0].id, text="again",
                        allow_paid_broadcast=True)
    code2, _ = await api("sendMessage", chat_id=people[0].id, text="and again",
                         allow_paid_broadcast=True)
    assert (code, code2) == (200, 429)  # a chat's own limit still holds (burst of 3 reached)
