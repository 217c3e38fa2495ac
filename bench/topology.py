"""Scaling out: updates/s and latency with 1, 2 and 3 `shopbot run` processes behind nginx.

The topology of tests/reliability/test_topology.py (deploy/nginx/shopbot.conf in front of bot
processes in webhook mode, PostgreSQL, Redis, the sandbox as Telegram delivering over up to 40
connections), driven by saturated customers who flip between the shop's categories and one
shelf: each press is an update whose answer and edit are not messages in Telegram's flood
control (~30 messages/s per bot, shared by the processes in Redis), so what is measured is the
processes' capacity, not Telegram's budget. Latency runs from the press to the bot's answer.

    .venv/bin/python -m bench.topology [--processes 1,2,3] [--customers 60] [--seconds 20]

Needs SHOPBOT_BENCH_POSTGRES_URL (or SHOPBOT_TEST_POSTGRES_URL), SHOPBOT_TEST_REDIS_URL (or
SHOPBOT_BENCH_REDIS_URL) and nginx. Every level runs on a fresh database, dropped afterwards.
The sandbox and the customers run in this process and share the machine with everything else:
on 2 cores the ratio flattens early (see bench/README.md).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from bench.common import percentile, postgres_url, table
from bot.db import create_database
from bot.migrate import upgrade_database
from handlers.i18n import Translator
from sandbox.client import CallbackAnswer, SandboxUser
from sandbox.testing import Sandbox, running_sandbox
from tests.reliability.topology import Settings, fresh_database, nginx_path, topology
from tests.shop import seed_shop

T = Translator("en", "Asia/Shanghai")
WAIT = 60.0


async def customer(sandbox: Sandbox, index: int, stop: asyncio.Event,
                   latencies: list[float], measuring: asyncio.Event) -> None:
    """Open the catalogue, then press a shelf and "Categories" in turn until `stop`."""
    person: SandboxUser = sandbox.user(f"Bench{index}", language_code="en")
    await person.command("/start")
    await person.wait_for_message(WAIT, lambda m: "Welcome" in (m.text or ""))
    await person.click(T("menu.catalog"))
    await person.wait_for_message(WAIT, lambda m: "Home" in str(m.get("reply_markup")))
    labels = ("Home", T("catalog.categories_button"))
    turn = 0
    while not stop.is_set():
        label = labels[turn % 2]
        for _ in range(int(WAIT / 0.02)):  # the edit showing the button may follow the answer
            if label in str(person.bot_messages[-1].get("reply_markup")):
                break
            await asyncio.sleep(0.02)
        start = time.perf_counter()
        answer = await person.click(label, timeout=WAIT)
        if measuring.is_set() and not stop.is_set():
            assert isinstance(answer, CallbackAnswer), f"{person.first_name}: unanswered"
            latencies.append(time.perf_counter() - start)
        turn += 1


async def level(processes: int, customers: int, seconds: float, warmup: float,
                database: str, redis: str) -> tuple[float, float, float, float]:
    """(updates/s, p50 ms, p99 ms, load average) with `processes` bot processes."""
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="topology-")))
        sandbox = await stack.enter_async_context(running_sandbox(flood_limits=False))
        url = await stack.enter_async_context(fresh_database(database))
        await asyncio.to_thread(upgrade_database, url)
        db, engines = create_database(url, pool_size=2)
        await seed_shop(db)
        for engine in engines:
            await engine.dispose()
        settings = Settings(sandbox.token, sandbox.api_url, url, redis, "nginx", folder)
        await stack.enter_async_context(topology(settings, processes))
        stop, measuring = asyncio.Event(), asyncio.Event()
        latencies: list[float] = []
        tasks = [asyncio.create_task(customer(sandbox, i, stop, latencies, measuring))
                 for i in range(customers)]
        await asyncio.sleep(warmup)
        measuring.set()
        began = time.perf_counter()
        await asyncio.sleep(seconds)
        stop.set()
        elapsed = time.perf_counter() - began
        load = os.getloadavg()[0]
        await asyncio.gather(*tasks)
    return (len(latencies) / elapsed, percentile(latencies, 50) * 1000,
            percentile(latencies, 99) * 1000, load)


def main() -> None:
    """Run each level, print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    database = postgres_url()
    redis = os.environ.get("SHOPBOT_BENCH_REDIS_URL") or os.environ.get("SHOPBOT_TEST_REDIS_URL")
    if database is None or redis is None or nginx_path() is None:
        sys.exit("needs SHOPBOT_BENCH_POSTGRES_URL (or SHOPBOT_TEST_POSTGRES_URL), "
                 "SHOPBOT_TEST_REDIS_URL (or SHOPBOT_BENCH_REDIS_URL) and nginx")
    rows = []
    base = None
    for processes in (int(p) for p in args.processes.split(",")):
        rate, p50, p99, load = asyncio.run(level(processes, args.customers, args.seconds,
                                                 args.warmup, database, redis))
        base = base or rate
        rows.append((processes, rate, p50, p99, f"{rate / base:.2f}x", load))
        print(table(("processes", "updates/s", "p50 ms", "p99 ms", "scaling", "load avg"),
                    rows[-1:]), flush=True)
    print()
    print(f"{args.customers} saturated customers, {args.seconds:.0f} s measured after "
          f"{args.warmup:.0f} s of warm-up, on {os.cpu_count()} cores")
    print(table(("processes", "updates/s", "p50 ms", "p99 ms", "scaling", "load avg"), rows))


if __name__ == "__main__":
    main()
