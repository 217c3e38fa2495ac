"""Webhook delivery as Telegram's Bot API server does it (sandbox/server/webhook.py): several
connections at once, one update of a chat (or of a user's button presses) at a time and in
order, failed deliveries retried at once, then after growing pauses or the bot's Retry-After."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from sandbox.server import free_port
from sandbox.testing import Sandbox


@dataclass
class Receiver:
    """A webhook that holds each update until the test lets it go, answering `statuses` first."""

    url: str = ""
    arrived: list[tuple[float, dict]] = field(default_factory=list)
    open: dict[int, asyncio.Event] = field(default_factory=dict)
    statuses: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    hold: bool = True

    def in_flight(self) -> list[str]:
        return [what(u) for _, u in self.arrived if u["update_id"] in self.open]

    async def until(self, check: object, timeout: float = 10) -> None:
        async def wait() -> None:
            while not check():  # type: ignore[operator]
                await asyncio.sleep(0.01)
        await asyncio.wait_for(wait(), timeout)

    def release(self, label: str) -> None:
        for _, update in self.arrived:
            if what(update) == label and update["update_id"] in self.open:
                self.open.pop(update["update_id"]).set()
                return
        raise AssertionError(f"{label} is not in flight")


def what(update: dict) -> str:
    if "callback_query" in update:
        return "press:" + update["callback_query"]["data"]
    return update["message"]["text"]


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()

    async def hook(request: web.Request) -> web.Response:
        update = json.loads(await request.read())
        got.arrived.append((time.monotonic(), update))
        if got.statuses.get(what(update)):
            status, headers = got.statuses[what(update)].pop(0)
            return web.Response(status=status, headers=headers)
        if got.hold:
            gate = got.open[update["update_id"]] = asyncio.Event()
            await gate.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    got.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield got
    finally:
        for gate in got.open.values():
            gate.set()
        await runner.cleanup()


async def test_chats_arrive_together_each_chat_in_order(sb: Sandbox, api) -> None:
    alice, bob = sb.user("Alice"), sb.user("Bob")
    async with receiver() as got:
        await api("setWebhook", url=got.url)
        await alice.send("a1")
        await alice.send("a2")
        await bob.send("b1")
        await got.until(lambda: len(got.in_flight()) == 2)
        assert sorted(got.in_flight()) == ["a1", "b1"]  # a2 waits for a1's answer
        got.release("b1")
        got.release("a1")
        await got.until(lambda: got.in_flight() == ["a2"])
        got.release("a2")
        await got.until(lambda: not sb.bot.updates)
        assert [what(u) for _, u in got.arrived] in (["a1", "b1", "a2"], ["b1", "a1", "a2"])


async def test_a_press_and_a_message_of_one_customer_arrive_together(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    await api("sendMessage", _enc="json", chat_id=alice.id, text="menu", reply_markup=markup)
    async with receiver() as got:
        await api("setWebhook", url=got.url)
        pressed = asyncio.create_task(alice.click("Go", timeout=1))
        await alice.send("hello")
        # Telegram queues a user's button presses apart from their chat's messages.
        await got.until(lambda: len(got.in_flight()) == 2)
        assert sorted(got.in_flight()) == ["hello", "press:go"]
        got.release("hello")
        got.release("press:go")
        await pressed


async def test_max_connections_caps_the_updates_in_flight(sb: Sandbox, api) -> None:
    users = [sb.user(f"U{i}") for i in range(3)]
    async with receiver() as got:
        await api("setWebhook", url=got.url, max_connections=2)
        for index, user in enumerate(users):
            await user.send(f"m{index}")
        await got.until(lambda: len(got.in_flight()) == 2)
        assert got.in_flight() == ["m0", "m1"]
        got.release("m0")
        await got.until(lambda: got.in_flight() == ["m1", "m2"])
        got.release("m1")
        got.release("m2")
        await got.until(lambda: not sb.bot.updates)


async def test_a_failed_update_is_retried_at_once_then_after_growing_pauses(
        sb: Sandbox, api) -> None:
    """SHORT config: webhook_retry_initial 0.05 s, webhook_retry_max 0.2 s."""
    alice, bob = sb.user("Alice"), sb.user("Bob")
    async with receiver() as got:
        got.hold = False
        got.statuses = {"a1": [(500, {})] * 4}
        await api("setWebhook", url=got.url)
        await alice.send("a1")
        await got.until(lambda: len(got.arrived) >= 2)
        await bob.send("b1")  # another chat is not held up by alice's failing update
        await got.until(lambda: not sb.bot.updates)
        tries = [t for t, u in got.arrived if what(u) == "a1"]
        assert len(tries) == 5
        gaps = [b - a for a, b in itertools.pairwise(tries)]
        assert gaps[1] >= 0.1 and gaps[2] >= 0.2 and gaps[3] >= 0.2  # 2, then 4 x 0.05, capped
        assert [what(u) for _, u in got.arrived].index("b1") < len(got.arrived) - 1


async def test_retry_after_from_the_bot_is_honoured(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    async with receiver() as got:
        got.hold = False
        got.statuses = {"later": [(503, {"Retry-After": "1"})]}
        await api("setWebhook", url=got.url)
        await alice.send("later")
        await got.until(lambda: not sb.bot.updates)
        first, second = (t for t, _ in got.arrived)
        assert second - first >= 1.0
