"""Updates/s and latency of the whole bot against a bare aiogram echo bot, in the same run.

    .venv/bin/python -m bench.updates                  # SQLite (and PostgreSQL when reachable)
    .venv/bin/python -m bench.updates --levels 1,50 --backend sqlite --harness inprocess
    .venv/bin/python -m bench.updates --profile out.html   # pyinstrument profile of the full bot
    .venv/bin/python -m bench.updates --limiter --harness http   # Telegram's limits on, paced too

Simulated customers each do a realistic journey (/start, catalog, a shelf, a product, back,
another product, add 2, checkout with a typed address and a shared phone, Telegram Payments
pre-checkout and payment, My orders, the order card): about 21 updates, a new Telegram user
per journey. Two harnesses: "inprocess" feeds aiogram Update objects to the runtime's
dispatcher with a Bot whose session records instead of sending; "http" runs the real ShopBot
polling the sandbox Bot API server (flood limits off) and measures from the user's action to
the bot's last reply to it. The reference is an echo bot under the same harness.

--limiter puts the production rate limiter in front of the full bot (and, over HTTP, the
sandbox's flood limits, as Telegram's) and adds a paced scenario (--paced customers pausing
about a second between steps). Every row says what each update cost of Telegram's budget (new
messages, edits, other calls per update), where its time went (queued on the limiter vs
working) and the ceiling that follows: about 29 new messages/s over the new messages an update
sends.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
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
    TimedLimiter,
    call_kind,
    echo_bot_in_process,
    echo_bot_over_http,
    echo_steps,
    full_bot_in_process,
    user_of,
)
from bot.app import settle_memory
from bot.ratelimit import Limits
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
    calls: Counter[str] = field(default_factory=Counter)  # the bot's calls by call_kind
    queued: float = 0.0  # seconds callers waited in the rate limiter, all together
    think: float = 0.0  # the customers' mean pause between steps

    @property
    def rate(self) -> float:
        """Updates per second."""
        return self.updates / self.seconds if self.seconds else 0.0


THINK = 0.0  # mean seconds a customer pauses between steps (--think); 0: as fast as replies come
LIMITER = False  # --limiter: the production rate limiter (and the sandbox's flood limits)
PACED_THINK = 1.0  # the paced scenario's customers pause about this long between steps
GLOBAL_RATE = Limits().global_per_second  # new messages/s the limiter lets out


def limiter() -> TimedLimiter:
    """The full bot's limiter: production's with --limiter, else one that never waits."""
    return TimedLimiter(Limits() if LIMITER else UNLIMITED)


class Spent:
    """Snapshots of what the bot spent: its calls by kind and the time queued on its limiter."""

    def __init__(self, calls: Callable[[], Counter[str]], limiter: TimedLimiter | None) -> None:
        self.calls, self.limiter = calls, limiter

    def now(self) -> tuple[Counter[str], float]:
        """The totals so far."""
        return self.calls(), self.limiter.queued if self.limiter else 0.0


async def run_level(new_customer: Callable[[], Customer],
                    steps_for: Callable[[random.Random], list[Step]], concurrency: int,
                    counter: StatementCounter | None, think: float = 0.0,
                    spent: Spent | None = None) -> Result:
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
    calls, queued = spent.now() if spent else (Counter(), 0.0)
    watch = Stopwatch()
    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(person(i) for i in range(concurrency)))
    seconds = watch.seconds
    calls_after, queued_after = spent.now() if spent else (Counter(), 0.0)
    return Result(len(latencies), seconds, latencies, counter.count if counter else None,
                  time.process_time() - cpu, calls_after - calls, queued_after - queued, think)


def row(name: str, level: int, result: Result, reference: Result | None) -> list[object]:
    """A table row: rate, latency percentiles in ms, ratio to the echo bot, SQL/update, then
    Telegram's budget per update and where the time went."""
    ms = [percentile(result.latencies, p) * 1000 for p in (50, 95, 99)]
    ratio = f"{result.rate / reference.rate:.0%}" if reference and reference.rate else "-"
    sql = f"{result.statements / result.updates:.2f}" if result.statements is not None else "-"
    cpu = f"{result.cpu / result.seconds:.0%}" if result.seconds else "-"
    customers = f"{level} think {result.think:g}s" if result.think else level
    updates = result.updates or 1
    per = [f"{result.calls[k] / updates:.2f}" for k in ("new", "edit", "other")]
    queued = result.queued / updates * 1000
    working = max(0.0, sum(result.latencies) / updates * 1000 - queued)
    new = result.calls["new"] / updates
    ceiling = f"{GLOBAL_RATE / new:.0f}" if result.calls and new else "-"
    budget = [*per, f"{queued:.1f}", f"{working:.1f}", ceiling] if result.calls else ["-"] * 6
    return [name, customers, result.updates, result.rate, *ms, ratio, sql, cpu, *budget]


# CPU: the share of one core this process used (the bot, the simulated customers and, on
# SQLite, aiosqlite's threads; not the PostgreSQL server's processes). new/edit/other: the
# bot's Bot API calls per update (new: messages put into a chat, what Telegram's send limits
# count; edit: editMessage*; other: answers, deletes, chat actions ...). queued/working: mean
# ms per update waiting in the rate limiter / the rest of its latency. ceiling: updates/s the
# 29 new messages/s allow at this mix.
HEADERS = ["bot", "customers", "updates", "updates/s", "p50 ms", "p95 ms", "p99 ms",
           "vs echo", "SQL/update", "CPU", "new/upd", "edit/upd", "other/upd", "queued ms",
           "working ms", "ceiling/s"]


def scenarios(levels: list[int], paced: int) -> list[tuple[int, float]]:
    """(customers, think) of each row: the levels at --think, then the paced customers."""
    return [(level, THINK) for level in levels] + ([(paced, PACED_THINK)] if paced else [])


def settings_for(admin_chat_id: int | None) -> Settings:
    """What the conversation is told of the configuration."""
    return Settings(shop_name="Bench Shop", admin_chat_id=admin_chat_id,
                    telegram_provider_token="TEST:provider", public_url="http://pay.bench")


async def in_process(backend: str, levels: list[tuple[int, float]], profile: str | None,
                     frameworks: list[str]) -> list[list[object]]:
    """Echo bot and the full bot on each framework, fed in process, level by level."""
    rows: list[list[object]] = []
    async with open_database(backend) as bench_db:
        shop = await seed_catalogue(bench_db.db)
        services = build_services(bench_context(bench_db.db))
        limiters = {name: limiter() for name in frameworks}
        fulls = {name: await full_bot_in_process(Conversation(services, settings_for(None)), name,
                                                 limiters[name])
                 for name in frameworks}
        spent = {name: Spent(lambda full=full: Counter(full.screens.kinds), limiters[name])  # type: ignore[misc]
                 for name, full in fulls.items()}
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
        biggest = max(levels)
        for level, think in levels:
            reference = await run_level(echo.customer, echo_journey, level, None, think)
            rows.append(row("echo", level, reference, None))
            for name, full in fulls.items():
                measured = await _maybe_profiled(
                    profile if (level, think) == biggest and name == frameworks[0] else None,
                    partial(run_level, full.customer, full_steps, level, counter, think,
                            spent[name]))
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


async def over_http(backend: str, levels: list[tuple[int, float]],
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
                          think: float = THINK, spent: Spent | None = None) -> Result:
            return await run_level(make, steps, level, counter if count else None, think, spent)

        echo_results: dict[tuple[int, float], Result] = {}
        finished = Finished()
        echo_bot, dp = echo_bot_over_http(sandbox.api_url, sandbox.token, finished)
        polling = asyncio.create_task(dp.start_polling(echo_bot, handle_signals=False,
                                                       close_bot_session=False))

        def echo_journey(rng: random.Random) -> list[Step]:
            return echo_steps(journey(shop, rng))

        def full_steps(rng: random.Random) -> list[Step]:
            return journey(shop, rng)

        await measure(2, customers(finished), echo_journey, False, 0.0)
        for level, think in levels:
            echo_results[level, think] = await measure(level, customers(finished), echo_journey,
                                                       False, think)
        await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        await echo_bot.session.close()

        # The echo bot has no limiter of its own: Telegram's limits go on for the shop only.
        sandbox.set_limits(enabled=LIMITER)

        def bot_calls() -> Counter[str]:
            return Counter(call_kind(e.method) for e in sandbox.requests()
                           if e.method != "getUpdates")

        measured_by: dict[str, dict[tuple[int, float], Result]] = {}
        for name in frameworks:
            measured_by[name] = await _full_over_http(
                name, services, admins.id, sandbox, customers, levels,
                lambda level, think, make, count, timed: measure(
                    level, make, full_steps, count, think, Spent(bot_calls, timed)))
        for level, think in levels:
            rows.append(row("echo", level, echo_results[level, think], None))
            for name in frameworks:
                rows.append(row(f"shop {name} ({backend})", level,
                                measured_by[name][level, think], echo_results[level, think]))
        counter.close()
    return rows


Measure = Callable[[int, float, Callable[[], Customer], bool, TimedLimiter], Awaitable[Result]]


async def _full_over_http(framework: str, services: Services, admin_chat: int, sandbox: Any,
                          customers: Callable[[Finished], Callable[[], Customer]],
                          levels: list[tuple[int, float]],
                          measure: Measure) -> dict[tuple[int, float], Result]:
    """The real ShopBot on `framework` polling the sandbox: a warm-up, then each level."""
    from bot.app import ShopBot

    finished = Finished()
    timed = limiter()
    bot = ShopBot.build(services, settings_for(admin_chat), sandbox.token, sandbox.api_url,
                        timed, outbox_interval=1.0,
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
    results: dict[tuple[int, float], Result] = {}
    try:
        await measure(2, 0.0, customers(finished), True, timed)
        settle_memory()  # as `shopbot run` does once it has started
        for level, think in levels:
            results[level, think] = await measure(level, think, customers(finished), True, timed)
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
    parser.add_argument("--limiter", action="store_true",
                        help="the production rate limiter (over HTTP: the sandbox's flood "
                             "limits too), and a paced scenario")
    parser.add_argument("--paced", type=int, default=None, metavar="N",
                        help=f"also N customers pausing ~{PACED_THINK:g} s between steps "
                             "(default 100 with --limiter, else none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    frameworks = args.frameworks.split(",")
    global THINK, LIMITER
    THINK, LIMITER = args.think, args.limiter
    paced = args.paced if args.paced is not None else (100 if args.limiter else 0)
    levels = scenarios([int(x) for x in args.levels.split(",")], paced)
    limits = "the production rate limiter" if LIMITER else "no rate limiting"
    for backend in backends(args.backend):
        if args.harness in ("inprocess", "all"):
            print(f"\nIn process (Telegram's JSON fed to each runtime, a recording transport, "
                  f"{limits}), {backend}:")
            print(table(HEADERS, asyncio.run(in_process(backend, levels, args.profile,
                                                        frameworks))))
        if args.harness in ("http", "all"):
            flood = "on" if LIMITER else "off"
            print(f"\nOver HTTP (polling the sandbox, flood limits {flood}, {limits}), "
                  f"{backend}:")
            print(table(HEADERS, asyncio.run(over_http(backend, levels, frameworks))))


if __name__ == "__main__":
    main()
