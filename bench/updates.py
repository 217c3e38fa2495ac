"""Updates/s and latency of the whole bot against a bare aiogram echo bot, in the same run.

    .venv/bin/python -m bench.updates                  # SQLite (and PostgreSQL when reachable)
    .venv/bin/python -m bench.updates --levels 1,50 --backend sqlite --harness inprocess
    .venv/bin/python -m bench.updates --profile out.html   # pyinstrument profile of the full bot

Simulated customers each do a realistic journey (/start, catalog, a shelf, a product, back,
another product, add 2, checkout with a typed address and a shared phone, Telegram Payments
pre-checkout and payment, My orders, the order card): about 21 updates, a new Telegram user
per journey. Two harnesses: "inprocess" feeds aiogram Update objects to the runtime's
dispatcher with a Bot whose session records instead of sending; "http" runs the real ShopBot
polling the sandbox Bot API server (flood limits off) and measures from the user's action to
the bot's last reply to it. The reference is an echo bot under the same harness.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import (
    BenchShop,
    StatementCounter,
    Stopwatch,
    backends,
    bench_context,
    open_database,
    percentile,
    seed_catalogue,
    table,
)
from bench.harness import (
    PHONE,
    UNLIMITED,
    Customer,
    Finished,
    SandboxCustomer,
    Step,
    echo_bot_in_process,
    echo_bot_over_http,
    echo_steps,
    full_bot_in_process,
    user_of,
)
from bot.app import settle_memory
from bot.runtimes.base import FeedingRuntime
from handlers.i18n import Translator
from handlers.router import Conversation
from handlers.turn import Settings
from services.container import Services, build_services

LEVELS = (1, 50, 200)
MIN_JOURNEYS = 10  # per level: one customer does 10 journeys in a row


def journey(shop: BenchShop, rng: random.Random) -> list[Step]:
    """One customer's visit, from /start to looking at the order they paid."""
    t = Translator("en", Settings().timezone)
    category, shelf = rng.choice(shop.categories)
    (_, first), (_, second) = rng.sample(shop.products[category], 2)
    return [
        Step("cmd", "/start"), Step("reply", t("menu.catalog")), Step("press", shelf),
        Step("press", first), Step("press", t("catalog.back")), Step("press", second),
        Step("press", t("catalog.add_n", qty=2)), Step("press", t("catalog.checkout")),
        Step("text", "Li Lei"), Step("reply", t("checkout.share_phone")),
        Step("text", "Shanghai"), Step("text", "Shanghai"), Step("text", "88 Nanjing Road"),
        Step("press", t("checkout.skip")), Step("press", "dlv:", data=True),
        Step("press", t("checkout.method.telegram")), Step("press", t("checkout.confirm")),
        Step("pay"), Step("reply", t("menu.orders")), Step("press", "order:", data=True),
    ]


@dataclass
class Result:
    """One measured level."""

    updates: int
    seconds: float
    latencies: list[float]
    statements: int | None
    cpu: float = 0.0  # CPU seconds of this process (its threads included) during the level

    @property
    def rate(self) -> float:
        """Updates per second."""
        return self.updates / self.seconds if self.seconds else 0.0


THINK = 0.0  # mean seconds a customer pauses between steps (--think); 0: as fast as replies come


async def run_level(new_customer: Callable[[], Customer],
                    steps_for: Callable[[random.Random], list[Step]], concurrency: int,
                    counter: StatementCounter | None, think: float = 0.0) -> Result:
    """`concurrency` customers at once, each doing journeys until MIN_JOURNEYS are done.

    Without think time each customer sends their next update the moment the last reply came:
    the bot is saturated, and latency at N customers is mostly queueing (Little's law:
    about N / throughput). With --think they pause like people, and latency is the bot's own.
    """
    rounds = 1 if think else max(1, -(-MIN_JOURNEYS // concurrency))
    latencies: list[float] = []

    async def person(index: int) -> None:
        # Latency runs from the moment the customer meant to send, not from when the loop let
        # them: a bot that holds the loop would otherwise hide its queue from its own figures.
        due = started
        rng = random.Random(index)
        for _ in range(rounds):
            customer = new_customer()
            for step in steps_for(rng):
                if think:
                    pause = rng.expovariate(1 / think)
                    due = time.perf_counter() + pause
                    await asyncio.sleep(pause)
                else:
                    # Into the queue behind the others' updates, as each update polled or
                    # posted becomes a task of its own: a bot that never waits would otherwise
                    # serve one customer's whole journey while the rest stood still.
                    await asyncio.sleep(0)
                late = max(0.0, time.perf_counter() - due)
                taken = await customer.do(step)
                latencies.extend([taken[0] + late, *taken[1:]])
                due = time.perf_counter()  # saturated: the next one is meant at once

    if counter:
        counter.reset()
    watch = Stopwatch()
    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(person(i) for i in range(concurrency)))
    seconds = watch.seconds
    return Result(len(latencies), seconds, latencies, counter.count if counter else None,
                  time.process_time() - cpu)


def row(name: str, level: int, result: Result, reference: Result | None) -> list[object]:
    """A table row: rate, latency percentiles in ms, ratio to the echo bot, SQL/update."""
    ms = [percentile(result.latencies, p) * 1000 for p in (50, 95, 99)]
    ratio = f"{result.rate / reference.rate:.0%}" if reference and reference.rate else "-"
    sql = f"{result.statements / result.updates:.2f}" if result.statements is not None else "-"
    cpu = f"{result.cpu / result.seconds:.0%}" if result.seconds else "-"
    return [name, level, result.updates, result.rate, *ms, ratio, sql, cpu]


# CPU: the share of one core this process used (the bot, the simulated customers and, on
# SQLite, aiosqlite's threads; not the PostgreSQL server's processes).
HEADERS = ["bot", "customers", "updates", "updates/s", "p50 ms", "p95 ms", "p99 ms",
           "vs echo", "SQL/update", "CPU"]


def settings_for(admin_chat_id: int | None) -> Settings:
    """What the conversation is told of the configuration."""
    return Settings(shop_name="Bench Shop", admin_chat_id=admin_chat_id,
                    telegram_provider_token="TEST:provider", public_url="http://pay.bench")


async def in_process(backend: str, levels: list[int], profile: str | None,
                     frameworks: list[str]) -> list[list[object]]:
    """Echo bot and the full bot on each framework, fed in process, level by level."""
    rows: list[list[object]] = []
    async with open_database(backend) as bench_db:
        shop = await seed_catalogue(bench_db.db)
        services = build_services(bench_context(bench_db.db))
        fulls = {name: await full_bot_in_process(Conversation(services, settings_for(None)), name)
                 for name in frameworks}
        echo = echo_bot_in_process()
        counter = StatementCounter(bench_db.engines)

        def full_steps(rng: random.Random) -> list[Step]:
            return journey(shop, rng)

        def echo_journey(rng: random.Random) -> list[Step]:
            return echo_steps(journey(shop, rng))

        await run_level(echo.customer, echo_journey, 2, None)  # warm up all
        for full in fulls.values():
            await run_level(full.customer, full_steps, 2, counter)
        settle_memory()  # as `shopbot run` does once it has started
        for level in levels:
            reference = await run_level(echo.customer, echo_journey, level, None, THINK)
            rows.append(row("echo", level, reference, None))
            for name, full in fulls.items():
                measured = await _maybe_profiled(
                    profile if level == max(levels) and name == frameworks[0] else None,
                    partial(run_level, full.customer, full_steps, level, counter, THINK))
                rows.append(row(f"shop {name} ({backend})", level, measured, reference))
        counter.close()
    return rows


async def _maybe_profiled(path: str | None, work: Callable[[], Awaitable[Result]]) -> Result:
    if path is None:
        return await work()
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="enabled", interval=0.0005)
    profiler.start()
    try:
        return await work()
    finally:
        profiler.stop()
        Path(path).write_text(profiler.output_html())
        if profiler.last_session is not None:  # render again with `pyinstrument --load FILE`
            profiler.last_session.save(f"{path}.pyisession")
        print(profiler.output_text(unicode=True, color=False, flat=True)[:6_000])


async def over_http(backend: str, levels: list[int],
                    frameworks: list[str]) -> list[list[object]]:
    """Echo bot then the full bot on each framework polling the sandbox, level by level."""
    from sandbox.testing import running_sandbox

    rows: list[list[object]] = []
    async with running_sandbox(flood_limits=False) as sandbox, open_database(backend) as bench_db:
        shop = await seed_catalogue(bench_db.db)
        merchant = sandbox.user("Merchant")
        admins = sandbox.group("Admins", members=[merchant], bot_admin=True, supergroup=True)
        ctx = bench_context(bench_db.db)
        services = build_services(replace(ctx, rules=replace(ctx.rules, admin_chat_id=admins.id)))
        counter = StatementCounter(bench_db.engines)

        def customers(finished: Finished) -> Callable[[], Customer]:
            return lambda: SandboxCustomer(sandbox.user("Buyer", phone_number=PHONE), finished)

        async def measure(level: int, make: Callable[[], Customer],
                          steps: Callable[[random.Random], list[Step]], count: bool,
                          think: float = THINK) -> Result:
            return await run_level(make, steps, level, counter if count else None, think)

        echo_results: dict[int, Result] = {}
        finished = Finished()
        echo_bot, dp = echo_bot_over_http(sandbox.api_url, sandbox.token, finished)
        polling = asyncio.create_task(dp.start_polling(echo_bot, handle_signals=False,
                                                       close_bot_session=False))

        def echo_journey(rng: random.Random) -> list[Step]:
            return echo_steps(journey(shop, rng))

        def full_steps(rng: random.Random) -> list[Step]:
            return journey(shop, rng)

        await measure(2, customers(finished), echo_journey, False, 0.0)
        for level in levels:
            echo_results[level] = await measure(level, customers(finished), echo_journey, False)
        await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await echo_bot.session.close()

        measured_by: dict[str, dict[int, Result]] = {}
        for name in frameworks:
            measured_by[name] = await _full_over_http(
                name, services, admins.id, sandbox, customers, levels,
                lambda level, make, count: measure(level, make, full_steps, count))
        for level in levels:
            rows.append(row("echo", level, echo_results[level], None))
            for name in frameworks:
                rows.append(row(f"shop {name} ({backend})", level, measured_by[name][level],
                                echo_results[level]))
        counter.close()
    return rows


async def _full_over_http(framework: str, services: Services, admin_chat: int, sandbox: Any,
                          customers: Callable[[Finished], Callable[[], Customer]],
                          levels: list[int],
                          measure: Callable[[int, Callable[[], Customer], bool],
                                            Awaitable[Result]]) -> dict[int, Result]:
    """The real ShopBot on `framework` polling the sandbox: a warm-up, then each level."""
    from bot.app import ShopBot
    from bot.ratelimit import RateLimiter

    finished = Finished()
    bot = ShopBot.build(services, settings_for(admin_chat), sandbox.token, sandbox.api_url,
                        RateLimiter(UNLIMITED), outbox_interval=1.0,
                        framework=framework)  # type: ignore[arg-type]
    runtime = bot.runtime
    assert isinstance(runtime, FeedingRuntime)
    feed = runtime.feed

    async def feed_and_mark(update: Any) -> None:
        try:
            await feed(update)
        finally:
            user = user_of(update)
            if user is not None:
                finished(user)
    runtime.poller.handle = feed_and_mark  # what polling hands each update to
    await bot.start()
    results: dict[int, Result] = {}
    try:
        await measure(2, customers(finished), True)
        settle_memory()  # as `shopbot run` does once it has started
        for level in levels:
            results[level] = await measure(level, customers(finished), True)
    finally:
        await bot.stop()
    return results


def main() -> None:
    """Run the chosen harnesses and print one table each."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)),
                        help="concurrent customers, comma-separated (default 1,50,200)")
    parser.add_argument("--backend", default="all", choices=("sqlite", "postgres", "all"))
    parser.add_argument("--harness", default="all", choices=("inprocess", "http", "all"))
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds customers pause between steps (default 0: saturate)")
    parser.add_argument("--frameworks", default="aiogram,ptb",
                        help="the shop bot's runtimes, comma-separated (default aiogram,ptb)")
    parser.add_argument("--profile", metavar="HTML",
                        help="profile the full bot's biggest in-process level")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    levels = [int(x) for x in args.levels.split(",")]
    frameworks = args.frameworks.split(",")
    global THINK
    THINK = args.think
    for backend in backends(args.backend):
        if args.harness in ("inprocess", "all"):
            print(f"\nIn process (Telegram's JSON fed to each runtime, a recording transport), "
                  f"{backend}:")
            print(table(HEADERS, asyncio.run(in_process(backend, levels, args.profile,
                                                        frameworks))))
        if args.harness in ("http", "all"):
            print(f"\nOver HTTP (polling the sandbox, flood limits off), {backend}:")
            print(table(HEADERS, asyncio.run(over_http(backend, levels, frameworks))))


if __name__ == "__main__":
    main()
