"""The scaled-out shop as a shop deploys it (README, "Scaling out"; deploy/), on this machine.

nginx (deploy/nginx/shopbot.conf) balances three `shopbot run` processes in webhook mode on
PostgreSQL and Redis; the sandbox delivers updates to nginx over many connections at once, as
Telegram does (flood limits on). 300 customers come, browse and try to buy a tea of which there
are 20; half of those who get to check out pay cash on delivery, half take a payment link they
never use. Mid-load one process is killed (-9) and comes back, as its service manager would
start it; then another is restarted with SIGTERM (a step of a rolling restart). Then the
unpaid orders pass their deadline and the three processes' sweeps expire them.

Afterwards: every update delivered (2xx) and recorded once, every press answered once, each
customer's journey complete, nothing oversold, each expired order expired once with its
stock back and its customer told once, and the processes' /metrics show that work.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, text, update

from bot.db import create_database
from bot.migrate import upgrade_database
from handlers.i18n import Translator
from models import (
    Cart,
    CartLine,
    Customer,
    Order,
    OrderEvent,
    OutboxMessage,
    ProcessedUpdate,
    Stock,
)
from sandbox.client import CallbackAnswer, SandboxUser
from sandbox.server.actions import ActionError
from sandbox.server.methods.common import public
from sandbox.testing import Sandbox, running_sandbox
from services.database import Database
from tests.databases import postgres_url
from tests.reliability.processes import reachable_redis
from tests.reliability.topology import (
    SECRET,
    WEBHOOK_PATH,
    Settings,
    ShopbotProcess,
    Topology,
    check_nginx_conf,
    fresh_database,
    nginx_path,
    summed,
    topology,
)
from tests.shop import ShopData, seed_shop

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]
CUSTOMERS = 300
STOCK = 20
# A drop: 40 customers come in the first 5 s and go for the tea (half of them too late: it
# sells out at the confirmation); the other 260 come from 20 to 45 s and find it sold out.
# Telegram takes ~30 messages/s from a bot (the processes share that budget in Redis), and a
# customer's visit costs ~3 of them, a checkout ~10: this is what the load can be.
EARLY, EARLY_UNTIL = 40, 5.0
LATE_FROM, LATE_UNTIL = 20.0, 45.0
KILL_AT = 8.0
WAIT = 90.0  # a step's reply may wait for a restart and Telegram's retries
T = Translator("en", "Asia/Shanghai")
PRESSES: Counter[int] = Counter()  # inline buttons pressed, by customer


def need_nginx() -> None:
    if nginx_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed in CI (.ci/run installs nginx-light)")
        pytest.skip("the topology tests need nginx (apt-get install nginx-light)")


@asynccontextmanager
async def shop_database(stock: int = STOCK) -> AsyncIterator[tuple[str, Database, ShopData]]:
    """A fresh PostgreSQL database, migrated as `shopbot run` does, with the test shop."""
    async with fresh_database(postgres_url()) as url, AsyncExitStack() as stack:
        await asyncio.to_thread(upgrade_database, url)
        db, engines = create_database(url, pool_size=5)
        for engine in engines:
            stack.push_async_callback(engine.dispose)
        data = await seed_shop(db)
        async with db.write() as session:
            await session.execute(update(Stock).where(Stock.product_id == data.tea)
                                  .values(on_hand=stock))
        yield url, db, data


def _shows(message: dict, wanted: str) -> bool:
    if wanted in (message.get("text") or message.get("caption") or ""):
        return True
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return any(wanted in (button.get("text") or "") for row in rows for button in row)


async def shown(person: SandboxUser, wanted: str, after: int = 0) -> None:
    """Wait until a bot message (new or edited) after message `after` shows `wanted` (read
    from the sandbox's own records: 300 customers waiting at once must cost it little)."""
    bot = person.bot.user.id
    for _ in range(int(WAIT / 0.1)):
        for message in reversed(person.state.history(person.bot.id, person.chat)):
            if message["message_id"] <= after:
                break
            if message.get("from", {}).get("id") == bot and _shows(message, wanted):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{person.first_name} never saw {wanted!r}: "
                         f"{[m.text for m in person.bot_messages][-3:]}")


async def press(person: SandboxUser, label: str) -> CallbackAnswer:
    """Press an inline button once it is on screen; the bot's answer (there must be one)."""
    for _ in range(int(WAIT / 0.05)):
        try:
            answer = await person.click(label, timeout=WAIT)
        except ActionError:
            await asyncio.sleep(0.05)
            continue
        assert isinstance(answer, CallbackAnswer), f"{person.first_name}: {label!r} unanswered"
        PRESSES[person.id] += 1
        return answer
    raise AssertionError(f"{person.first_name}: no button {label!r}")


@dataclass
class Journey:
    """What one customer did and saw."""

    person: SandboxUser
    method: str
    outcome: str = ""
    presses: int = 0


async def journey(sandbox: Sandbox, index: int, delay: float) -> Journey:
    """Browse to the tea; if it can still be added, check out (cash or a payment link)."""
    await asyncio.sleep(delay)
    person = sandbox.user(f"Customer{index}", language_code="en",
                          phone_number=f"86138{index:08d}")
    trip = Journey(person, "cod" if index % 2 else "sandbox")
    await person.command("/start")
    await shown(person, "Welcome")
    await person.click(T("menu.catalog"))  # the menu's reply keyboard: a message
    await press(person, "Home")
    await press(person, "Green tea")  # the card comes in place of the list
    await shown(person, T("catalog.back"))
    card = next(m for m in reversed(person.bot_messages) if _shows(m, T("catalog.back")))
    if T("catalog.add") not in json.dumps(card.get("reply_markup"), ensure_ascii=False):
        trip.outcome = "sold out"
        return trip
    answer = await press(person, T("catalog.add"))
    if answer.text != T("catalog.added", qty=1, name="Green tea"):
        trip.outcome = "sold out"
        return trip
    await press(person, T("catalog.checkout"))
    await shown(person, T("checkout.ask.recipient")[:20])
    await person.send(f"Customer {index}")
    await shown(person, T("checkout.ask.phone")[:20])
    await person.click(T("checkout.share_phone"))  # a reply keyboard button: a message
    for step, value in (("region", "Shanghai"), ("city", "Shanghai"),
                        ("line", "88 Nanjing Road")):
        await shown(person, T(f"checkout.ask.{step}")[:10])
        await person.send(value)
    await shown(person, T("checkout.ask.postcode")[:10])
    await press(person, T("checkout.skip"))
    await press(person, "Standard delivery")
    await press(person, T(f"checkout.method.{trip.method}"))
    answer = await press(person, T("checkout.confirm"))
    if answer.show_alert:
        trip.outcome = "sold out"
        return trip
    await shown(person, "is placed")
    trip.outcome = "placed"
    return trip


async def kill_and_restart(running: Topology) -> None:
    """Mid-load: kill -9 one process (its service manager starts it again at once), then,
    once it is back, restart another with SIGTERM (one step of a rolling restart)."""
    await asyncio.sleep(KILL_AT)
    victim = running.bots[0]
    victim.kill()
    victim.start()
    await victim.ready()
    stopping = running.bots[1]
    assert await stopping.terminate() == 0  # finished what it had, took nothing new
    stopping.start()
    await stopping.ready()


def delivered(sandbox: Sandbox) -> Counter[int]:
    return Counter(e["update_id"] for e in sandbox.deliveries if e["error"] is None)


async def test_the_deployed_nginx_config_is_valid(tmp_path: Path) -> None:
    need_nginx()
    result = check_nginx_conf(tmp_path)
    assert result.returncode == 0, result.stderr


async def test_three_processes_behind_nginx_with_a_kill_and_a_rolling_restart(
        tmp_path: Path) -> None:
    need_nginx()
    redis = await reachable_redis()
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox())
        sandbox.deliveries = []  # type: ignore[attr-defined]
        watch = asyncio.create_task(_record_deliveries(sandbox))
        stack.callback(watch.cancel)
        PRESSES.clear()
        url, db, data = await stack.enter_async_context(shop_database())
        settings = Settings(sandbox.token, sandbox.api_url, url, redis, "nginx", tmp_path)
        running = await stack.enter_async_context(topology(settings, 3))
        assert sandbox.bot.webhook is not None
        assert sandbox.bot.webhook.url == running.nginx.url + WEBHOOK_PATH  # type: ignore[union-attr]

        chaos = asyncio.create_task(kill_and_restart(running))
        rng = random.Random(25)
        arrivals = [rng.uniform(0, EARLY_UNTIL) if i < EARLY
                    else rng.uniform(LATE_FROM, LATE_UNTIL) for i in range(CUSTOMERS)]
        trips = [asyncio.create_task(journey(sandbox, i, delay))
                 for i, delay in enumerate(arrivals)]
        done = await asyncio.gather(*trips)
        await chaos

        # Every update went out, was answered 2xx once, and its turn recorded at most once.
        for _ in range(600):
            if not sandbox.bot.updates:
                break
            await asyncio.sleep(0.1)
        assert sandbox.bot.updates == []
        counts = delivered(sandbox)
        assert set(counts) == set(range(1, sandbox.bot.next_update_id))
        assert max(counts.values()) == 1
        answers = Counter(e.params["callback_query_id"]
                          for e in sandbox.requests("answerCallbackQuery") if e.ok)
        assert sum(answers.values()) == len(answers) == sum(PRESSES.values())

        placed = [t for t in done if t.outcome == "placed"]
        assert len(placed) == STOCK  # the tea sold out, to no more people than it had units
        assert {t.outcome for t in done} == {"placed", "sold out"}
        async with db.read() as session:
            orders = (await session.execute(select(Order.customer_id, Order.status))).all()
            tea = (await session.scalars(select(Stock).where(Stock.product_id == data.tea))).one()
        assert len(orders) == STOCK and tea.reserved == STOCK
        for trip in done:
            assert sum("is placed" in (m.text or "") for m in trip.person.bot_messages) == (
                trip.outcome == "placed")

        # The unpaid orders reach their deadline: the three processes' sweeps expire each once.
        async with db.write() as session:
            await session.execute(update(Order).where(Order.status == "pending_payment")
                                  .values(payment_deadline=func.now() - text("interval '1 s'")))
        unpaid = [t for t in placed if t.method == "sandbox"]
        for trip in unpaid:
            await shown(trip.person, "has expired")
        async with db.read() as session:
            expired = (await session.execute(
                select(OrderEvent.order_id, func.count()).where(OrderEvent.to_status == "expired")
                .group_by(OrderEvent.order_id))).all()
            tea = await session.get(Stock, (tea.product_id, tea.warehouse_id))
            told = (await session.execute(
                select(OutboxMessage.order_id, func.count(), func.min(OutboxMessage.status))
                .where(OutboxMessage.template == "order_expired")
                .group_by(OutboxMessage.order_id))).all()
            recorded = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        assert len(expired) == len(unpaid) and all(n == 1 for _, n in expired)
        assert tea is not None and tea.reserved == STOCK - len(unpaid)
        assert len(told) == len(unpaid) and all(n == 1 and s == "sent" for _, n, s in told)
        for trip in unpaid:
            assert sum("has expired" in (m.text or "") for m in trip.person.bot_messages) == 1

        # What the processes say about it (the restarted ones' counts began again): the one
        # never restarted counted every update nginx says it answered, and timed each.
        samples = [await bot.metrics() for bot in running.bots]
        steady = running.bots[2]
        answered = running.nginx.answered_by()  # type: ignore[union-attr]
        assert summed(samples[2:], "shopbot_updates_total") == answered[steady.port] > 0
        assert summed(samples[2:], "shopbot_turn_seconds_count") == answered[steady.port]
        assert summed(samples, "shopbot_updates_failed_total") == 0
        assert summed(samples, 'shopbot_sweep_rows_total{sweep="expire_unpaid"}') == len(unpaid)
        assert summed(samples, "shopbot_outbox_backlog") == 0
        assert recorded is not None and recorded > 0


async def deliver(sandbox: Sandbox, count: int, *bots: ShopbotProcess) -> None:
    """Take the next `count` updates off the sandbox's queue (no webhook is set: this test is
    Telegram's delivery) and POST them, at the same moment, one to each of `bots` in turn."""
    for _ in range(int(WAIT / 0.01)):
        if len(sandbox.bot.updates) >= count:
            break
        await asyncio.sleep(0.01)
    updates = [sandbox.bot.updates.pop(0) for _ in range(count)]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        async def post(update: dict, bot: ShopbotProcess) -> int:
            async with http.post(bot.url + WEBHOOK_PATH, json=public(update),
                                 headers=headers) as r:
                return r.status
        statuses = await asyncio.gather(*(post(u, bots[i % len(bots)])
                                          for i, u in enumerate(updates)))
    assert statuses == [200] * count


async def test_two_presses_of_one_customer_at_two_processes_at_once(tmp_path: Path) -> None:
    """A customer's turns take turns across processes: of two presses of "Add to cart" that
    reach two processes at the same moment, the second reads the cart the first wrote."""
    redis = await reachable_redis()
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox())
        url, db, data = await stack.enter_async_context(shop_database())
        settings = Settings(sandbox.token, sandbox.api_url, url, redis, "http://127.0.0.1:9",
                            tmp_path)
        running = await stack.enter_async_context(topology(settings, 2, balancer=False))
        first, second = running.bots
        async with aiohttp.ClientSession() as http, http.post(  # the test delivers updates
                f"{sandbox.api_url}/bot{sandbox.token}/deleteWebhook") as r:
            assert r.status == 200
        for index in range(5):
            person = sandbox.user(f"Twice{index}", language_code="en")
            await person.command("/start")
            await deliver(sandbox, 1, first)
            await person.click(T("menu.catalog"))
            await deliver(sandbox, 1, second)
            pressed = asyncio.create_task(person.click("Home", timeout=WAIT))
            await deliver(sandbox, 1, first)
            await pressed
            pressed = asyncio.create_task(person.click("Green tea", timeout=WAIT))
            await deliver(sandbox, 1, second)
            await pressed
            await shown(person, T("catalog.add"))
            twice = [asyncio.create_task(person.click(T("catalog.add"), timeout=WAIT))
                     for _ in range(2)]
            await deliver(sandbox, 2, first, second)
            answers = await asyncio.gather(*twice)
            assert [a.text for a in answers] == [T("catalog.added", qty=1, name="Green tea")] * 2
            await shown(person, "2 items")
            added = [m.text for m in person.bot_messages if "Your cart" in (m.text or "")]
            assert len(added) == 2 and "1 item," in added[0] and "2 items" in added[1], added
            async with db.read() as session:
                quantity = await session.scalar(
                    select(CartLine.quantity).join(Cart, Cart.id == CartLine.cart_id)
                    .join(Customer, Customer.id == Cart.customer_id)
                    .where(Customer.telegram_id == person.id, CartLine.product_id == data.tea))
            assert quantity == 2


async def _record_deliveries(sandbox: Sandbox) -> None:
    async for event in sandbox.state.subscribe():
        if event.get("type") == "webhook_delivery":
            sandbox.deliveries.append(event)  # type: ignore[attr-defined]
