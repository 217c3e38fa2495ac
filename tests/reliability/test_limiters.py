"""The rate limiters: in memory (one process) and in Redis (shared by every process)."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable

import pytest

from bot.ratelimit import Budget, Limits, RateLimiter
from bot.ratelimit_redis import RedisRateLimiter, bot_key
from tests.reliability.processes import reachable_redis

FAST = Limits(global_per_second=20, global_burst=5, private_per_second=10, private_burst=2,
              group_per_minute=600, group_burst=2)


async def timed(*calls: object) -> float:
    start = time.monotonic()
    await asyncio.gather(*calls)  # type: ignore[arg-type]
    return time.monotonic() - start


async def test_in_memory_callers_are_served_in_the_order_they_asked() -> None:
    limiter, order = RateLimiter(FAST), []

    async def send(i: int) -> None:
        await limiter.acquire(-1000 - i)
        order.append(i)

    took = await timed(*(send(i) for i in range(25)))
    assert order == list(range(25))  # first come, first served: nobody starves
    assert took >= 25 / 20 * 0.95  # the global bucket starts empty


async def test_a_new_process_takes_no_global_burst() -> None:
    """After a crash mid-burst Telegram's bucket may be empty: a new limiter does not assume
    it is full (20 messages at once would be refused), it starts at the steady rate."""
    limiter = RateLimiter(FAST)
    took = await timed(*(limiter.acquire(-2000 - i) for i in range(5)))
    assert took >= 5 / 20 * 0.95


async def test_in_memory_pause_holds_everyone_even_those_already_waiting() -> None:
    limiter = RateLimiter(FAST)
    for i in range(5):
        await limiter.acquire(-i - 1)  # the bucket is empty: the next ones wait for a slot
    waiting = asyncio.create_task(timed(limiter.acquire(-99)))
    await asyncio.sleep(0.01)
    await limiter.pause(0.5)
    assert await waiting >= 0.49


@pytest.mark.redis
async def test_two_processes_share_the_buckets_in_redis() -> None:
    url, token = await reachable_redis(), f"test:{uuid.uuid4()}"
    a, b = (RedisRateLimiter.from_url(url, token, FAST) for _ in range(2))
    try:
        took = await timed(*((a if i % 2 else b).acquire(-1000 - i) for i in range(25)))
        assert took >= (25 - 5) / 20 * 0.95, "two processes sent at twice the rate"
        private = await timed(*((a if i % 2 else b).acquire(7) for i in range(6)))
        assert private >= (6 - 2) / 10 * 0.95  # one private chat: its own bucket, shared too
    finally:
        await a.close()
        await b.close()


@pytest.mark.redis
async def test_a_429_in_one_process_pauses_the_other() -> None:
    url, token = await reachable_redis(), f"test:{uuid.uuid4()}"
    a, b = (RedisRateLimiter.from_url(url, token, FAST) for _ in range(2))
    other_bot = RedisRateLimiter.from_url(url, f"test:{uuid.uuid4()}", FAST)
    try:
        await a.pause(0.6)
        paused = asyncio.create_task(timed(b.acquire(1)))
        free = asyncio.create_task(timed(other_bot.acquire(1)))
        done, _ = await asyncio.wait({paused, free}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {free}  # another bot's limits are its own: it went first
        assert await paused >= 0.55
    finally:
        for limiter in (a, b, other_bot):
            await limiter.close()


def test_keys_name_the_bot_by_a_hash_never_the_token() -> None:
    key = bot_key("123456:SECRET")
    assert "SECRET" not in key and "123456" not in key and key.startswith("shopbot:rl:{")


async def test_unreachable_redis_falls_back_to_memory(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:1/0", "t", FAST)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.ratelimit_redis"):
            order: list[int] = []

            async def send(i: int) -> None:
                await limiter.acquire(-1000 - i)
                order.append(i)

            await asyncio.gather(*(send(i) for i in range(10)))
            await limiter.pause(0.1)
        assert order == list(range(10))  # served, in order, by the in-memory buckets
        assert any("unreachable" in r.getMessage() for r in caplog.records)
    finally:
        await limiter.close()


async def test_an_album_waits_for_one_slot_per_photo() -> None:
    """Telegram counts every message of an album against the chat's limit (a 5-photo album in a
    group is 5 of its 20 a minute), so the limiter is asked once per photo."""
    from aiogram.methods import SendMediaGroup, SendMessage
    from aiogram.types import InputMediaPhoto

    from bot.runtimes.aiogram_calls import LimitedCalls

    asked: list[int | str | None] = []

    class Counting(RateLimiter):
        async def acquire(self, chat_id: int | str | None, spend: Budget = "message") -> None:
            asked.append(chat_id)
            await super().acquire(chat_id, spend)

    calls = LimitedCalls(Counting())

    async def sent(bot: object, method: object) -> str:
        return "sent"

    album = SendMediaGroup(chat_id=-100, media=[InputMediaPhoto(media=f"p{i}") for i in range(5)])
    assert await calls(sent, None, album) == "sent"  # type: ignore[arg-type]
    assert asked == [-100] * 5
    await calls(sent, None, SendMessage(chat_id=-100, text="card"))  # type: ignore[arg-type]
    assert asked == [-100] * 6


def test_what_each_call_spends_of_telegrams_limits() -> None:
    """New messages count (paid ones against the paid rate), a group's edits count against the
    group; callback answers, chat actions, private edits, deletes and reads wait for nothing."""
    from bot.ratelimit import budget

    assert budget("sendMessage", 7) == "message"
    assert budget("sendPhoto", -100, paid=True) == "paid"
    assert budget("copyMessage", 7) == budget("forwardMessages", 7) == "message"
    assert budget("editMessageText", -100) == budget("editMessageMedia", "@shop") == "edit"
    for method, chat in (("editMessageText", 7), ("editMessageMedia", 7),
                         ("answerCallbackQuery", None), ("sendChatAction", 7),
                         ("deleteMessage", 7), ("getChat", 7), ("editMessageCaption", None)):
        assert budget(method, chat) is None, method


class FrozenClock:
    """The limiter's clock stands still and its sleeps are recorded, not slept: what each
    acquisition had to wait is read exactly (no wall clock in the assertions)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now, self.waits = 1000.0, []
        real_sleep = asyncio.sleep

        async def sleep(seconds: float) -> None:
            self.waits.append(seconds)
            await real_sleep(0)

        monkeypatch.setattr("bot.ratelimit.time.monotonic", lambda: self.now)
        monkeypatch.setattr("bot.ratelimit.asyncio.sleep", sleep)

    async def wait_of(self, acquisition: Awaitable[None]) -> float:
        """Seconds the acquisition waited (0 when it went at once)."""
        before = len(self.waits)
        await acquisition
        return sum(self.waits[before:])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    return FrozenClock(monkeypatch)


async def test_a_group_edit_waits_for_the_group_not_for_the_bot_wide_bucket(
        clock: FrozenClock) -> None:
    limiter = RateLimiter(FAST)
    assert await clock.wait_of(limiter.acquire(-1000)) > 0  # the bot-wide bucket starts empty
    for i in range(10):  # ten groups, one edit each: none waits for the bot-wide bucket
        assert await clock.wait_of(limiter.acquire(-2000 - i, "edit")) == 0
    assert await clock.wait_of(limiter.acquire(-1, "edit")) == 0
    assert await clock.wait_of(limiter.acquire(-1, "edit")) == 0  # the group's burst of 2
    assert await clock.wait_of(limiter.acquire(-1, "edit")) == pytest.approx(1 / 10)


async def test_paid_broadcasts_leave_the_free_bucket_alone(clock: FrozenClock) -> None:
    limiter = RateLimiter(Limits(global_per_second=2, global_burst=1, private_per_second=100,
                                 private_burst=100, paid_per_second=1000, paid_burst=50))
    free = await clock.wait_of(limiter.acquire(1))
    assert free == pytest.approx(0.5)  # starts empty: one free message a half second
    paid = [await clock.wait_of(limiter.acquire(100 + i, "paid")) for i in range(40)]
    # paced at 1000/s from an empty bucket, whatever the free bucket owes (it would be 20 s)
    assert paid == pytest.approx([(i + 1) / 1000 for i in range(40)])
    assert await clock.wait_of(limiter.acquire(2)) == pytest.approx(1.0)  # the free one queues


async def test_a_private_chat_takes_a_short_burst_then_one_a_second(clock: FrozenClock) -> None:
    """Telegram's FAQ: about one message a second in a chat, short bursts allowed: a reply's
    few messages go at once, the fourth waits."""
    limiter = RateLimiter(Limits(global_per_second=1000, global_burst=1000))
    await limiter.acquire(1)
    clock.now += 10  # the bot-wide bucket (empty at start) has filled meanwhile
    waits = [await clock.wait_of(limiter.acquire(42)) for _ in range(4)]
    assert waits[:3] == [0, 0, 0] and waits[3] == pytest.approx(1 / 0.9)


@pytest.mark.redis
async def test_redis_limits_spend_the_same_budgets() -> None:
    url, token = await reachable_redis(), f"test:{uuid.uuid4()}"
    slow_free = Limits(global_per_second=2, global_burst=1, private_per_second=100,
                       private_burst=100, group_per_minute=600, group_burst=2,
                       paid_per_second=1000, paid_burst=50)
    a, b = (RedisRateLimiter.from_url(url, token, slow_free) for _ in range(2))
    try:
        await a.acquire(1)
        free = asyncio.create_task(b.acquire(2))  # the shared free bucket is in debt: it waits
        others = asyncio.create_task(timed(
            *((a if i % 2 else b).acquire(100 + i, "paid") for i in range(40)),
            *(b.acquire(-3000 - i, "edit") for i in range(10))))
        done, _ = await asyncio.wait({free, others}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {others}  # paid messages and group edits did not queue behind it
        await free
        group = await timed(*((a if i % 2 else b).acquire(-1, "edit") for i in range(4)))
        assert group >= (4 - 2) / 10 * 0.95  # a group's edits share its bucket, across processes
    finally:
        await a.close()
        await b.close()
