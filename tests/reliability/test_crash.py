"""Kill the bot process (SIGKILL) in the middle of a burst, start it again: nothing is lost.

The sandbox runs in this test process with Telegram's flood limits on, so it stays up while a
bot process dies; each bot process is the production ShopBot sending the outbox
(tests/reliability/worker.py) over a file SQLite database, or PostgreSQL shared by two of them
with the rate limiter in Redis. Duplicates can only come from rows that were in flight in the
killed process (sent, but not yet marked sent): the tests count them, print the count and hold
it to that bound.
"""
from __future__ import annotations

import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

import models
from bot.db import create_database
from bot.ratelimit import Limits
from sandbox.testing import Sandbox, running_sandbox
from services.database import Database
from tests.databases import postgres_schema
from tests.reliability.outbox_rows import delivered, leased, queue, refusals, until_delivered
from tests.reliability.processes import BotProcess, reachable_redis

pytestmark = pytest.mark.slow
BURST = 500


async def file_database(stack: AsyncExitStack, url: str, **options: object) -> Database:
    db, engines = create_database(url, **options)
    for engine in engines:
        stack.push_async_callback(engine.dispose)
    async with engines[0].begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
    return db


def bot_args(sandbox: Sandbox, url: str, *extra: str) -> list[str]:
    return ["--db", url, "--api-url", sandbox.api_url, "--token", sandbox.token, *extra]


async def kill_midway(sandbox: Sandbox, db: Database, chats: list[int], victim: BotProcess) -> int:
    """Kill `victim` once 40% of the burst arrived; how many rows it held in flight then."""
    await until_delivered(sandbox, set(chats[: len(chats) * 2 // 5]), timeout=60)
    victim.kill()
    return await leased(db, datetime.now(UTC))


def duplicates(sandbox: Sandbox, chats: list[int]) -> int:
    got = delivered(sandbox)
    assert set(chats) <= set(got), "a message was lost"
    return sum(got[c] - 1 for c in chats)


async def test_sigkill_mid_burst_then_restart_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox(flood_limits=True))
        db = await file_database(stack, url)
        chats = [sandbox.user(f"C{i}").user.id for i in range(BURST)]
        first, second = BotProcess(*bot_args(sandbox, url)), BotProcess(*bot_args(sandbox, url))
        stack.callback(first.stop)
        stack.callback(second.stop)
        await first.ready()
        await second.ready()  # the restart, built in advance: it waits for the go
        await queue(db, chats, datetime.now(UTC))
        first.go()
        in_flight = await kill_midway(sandbox, db, chats, first)
        second.go()
        await until_delivered(sandbox, set(chats), timeout=90)
        dups = duplicates(sandbox, chats)
        print(f"\nSIGKILL mid-burst of {BURST}: {dups} duplicates, {in_flight} rows in flight "
              f"at the kill, {refusals(sandbox, 429)} x 429")
        assert dups <= in_flight
        assert refusals(sandbox, 429) == 0


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_processes_on_postgres_and_redis_share_work_and_limits(tmp_path: Path) -> None:
    redis = await reachable_redis()
    async with AsyncExitStack() as stack:
        url, schema = await stack.enter_async_context(postgres_schema())
        sandbox = await stack.enter_async_context(running_sandbox(flood_limits=True))
        db = await file_database(stack, url, connect_args={"server_settings": {"search_path": schema}})
        args = bot_args(sandbox, url, "--schema", schema, "--redis", redis)
        bots = [BotProcess(*args) for _ in range(3)]
        for bot in bots:
            stack.callback(bot.stop)
            await bot.ready()
        a, b, restart = bots

        # Both at once, nobody killed: every message exactly once, at the one shared rate.
        chats = [sandbox.user(f"A{i}").user.id for i in range(300)]
        await queue(db, chats, datetime.now(UTC))
        start = time.monotonic()
        a.go()
        b.go()
        took = await until_delivered(sandbox, set(chats), timeout=60)
        assert duplicates(sandbox, chats) == 0
        assert took >= 0.9 * (300 - Limits().global_burst) / Limits().global_per_second, f"{took:.1f}s: the processes did not share the limiter"
        print(f"\ntwo processes, 300 messages: {took:.1f}s ({300 / took:.1f} msg/s)")
        del start

        # One of them killed mid-burst: the other takes over its rows once their lease runs out.
        chats = [sandbox.user(f"B{i}").user.id for i in range(BURST)]
        await queue(db, chats, datetime.now(UTC))
        in_flight = await kill_midway(sandbox, db, chats, a)
        restart.go()
        await until_delivered(sandbox, set(chats), timeout=90)
        dups = duplicates(sandbox, chats)
        print(f"two processes, SIGKILL of one mid-burst of {BURST}: {dups} duplicates "
              f"(at most {in_flight} rows were in flight), {refusals(sandbox, 429)} x 429")
        assert dups <= in_flight
        assert refusals(sandbox, 429) == 0  # the limits held across processes
