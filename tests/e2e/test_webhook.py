"""Webhook mode: the sandbox delivers updates to the bot's web app, secret token checked, and the
bot answers 200 only once the update's work is committed. On both frameworks: the project's
web app parses the body and feeds the runtime."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.config import load_config
from bot.ratelimit import RateLimiter
from bot.runtimes import Framework
from bot.web import start_web
from tests.e2e.harness import UNLIMITED, ShopUnderTest, running_shop
from tests.e2e.steps import new_message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SECRET = "s3cret-token"
FORGED = {"update_id": 999, "message": {"message_id": 1, "date": 0,
          "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": False,
                                                         "first_name": "X"},
          "text": "/start"}}


@asynccontextmanager
async def webhook_shop(tmp_path: Path, framework: Framework = "aiogram"
                       ) -> AsyncIterator[tuple[ShopUnderTest, str]]:
    """The shop switched from polling to a webhook; yields it and the webhook's URL."""
    async with running_shop(tmp_path, framework=framework) as shop:
        while shop.sandbox.bot.allowed_updates is None:  # the polling bot's first getUpdates
            await asyncio.sleep(0.01)
        await shop.bot.stop()  # the polling bot steps aside for a webhook one
        port = free_port()
        config = load_config(tmp_path / "none.yaml", env={
            "SHOPBOT_MODE": "webhook", "SHOPBOT_WEB_HOST": "127.0.0.1",
            "SHOPBOT_WEB_PORT": str(port), "SHOPBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "SHOPBOT_WEBHOOK_SECRET": SECRET, "BOT_TOKEN": shop.sandbox.token,
        })
        config = config.model_copy(update={"telegram": config.telegram.model_copy(update={
            "webhook": config.telegram.webhook.model_copy(update={"host": "127.0.0.1",
                                                                   "port": port})})})
        shop.bot = shop.build(RateLimiter(UNLIMITED))
        await shop.bot.start(polling=False)
        runner = await start_web(config, shop.bot)
        try:
            yield shop, f"http://127.0.0.1:{port}{config.telegram.webhook.path}"
        finally:
            await runner.cleanup()


async def test_updates_arrive_by_webhook_with_the_secret(tmp_path: Path,
                                                          framework: Framework) -> None:
    async with webhook_shop(tmp_path, framework) as (shop, url):
        info = shop.sandbox.requests("setWebhook")[-1].params
        assert info["url"] == url
        assert info["secret_token"] == SECRET
        # The same update kinds as polling asked for (Telegram keeps the last list given).
        assert info["allowed_updates"] == shop.sandbox.bot.allowed_updates == [
            "message", "edited_message", "callback_query", "pre_checkout_query", "shipping_query"]
        li = shop.customer("Li")
        await li.command("/start")
        assert "Welcome" in (await new_message(li, "Welcome")).text
        async with aiohttp.ClientSession() as http:  # someone who is not Telegram
            async with http.post(url, json=FORGED,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                assert r.status == 401
            async with http.post(url, json=FORGED) as r:
                assert r.status == 401
            await shop.bot.runtime.stop()  # stopping: Telegram must send it again later
            async with http.post(url, json=FORGED,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                assert r.status == 503


BAD_BODIES = {
    "malformed JSON": b'{"update_id": 1, "message": ',
    "a JSON array": b'[{"update_id": 1}]',
    "an object that is not an Update": b'{"hello": "world"}',
    "update_id 2**63": json.dumps({**FORGED, "update_id": 2**63}).encode(),
    "update_id -1": json.dumps({**FORGED, "update_id": -1}).encode(),
    "update_id as text": json.dumps({**FORGED, "update_id": "999"}).encode(),
    "a chat id beyond 64 bits": json.dumps(
        {**FORGED, "message": {**FORGED["message"], "chat": {"id": 2**70, "type": "private"}}}
    ).encode(),
    "a message that is not one": json.dumps({"update_id": 1000, "message": "hi"}).encode(),
    "nested beyond reason": b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": b'{"update_id": 1, "x": "\xff\xfe"}',
    "empty": b"",
}


async def test_bad_webhook_bodies_answer_400_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, framework: Framework
) -> None:
    async with webhook_shop(tmp_path, framework) as (shop, url):
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET,
                   "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            for name, body in BAD_BODIES.items():
                async with http.post(url, data=body, headers=headers) as r:
                    assert r.status == 400, name
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        li = shop.customer("Li")  # and Telegram's own updates still arrive
        await li.command("/start")
        assert "Welcome" in (await new_message(li, "Welcome")).text


async def test_ready_and_metrics(tmp_path: Path, framework: Framework) -> None:
    """/ready says what keeps the process from taking updates; /metrics counts the work."""
    from sqlalchemy import text

    from bot.migrate import head_revision

    async with webhook_shop(tmp_path, framework) as (shop, url):
        base = url.removesuffix("/telegram/webhook")
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/health") as r:
                assert r.status == 200
            async with http.get(base + "/ready") as r:  # tables made without migrations
                assert r.status == 503
                problems = (await r.json())["problems"]
                assert len(problems) == 1 and "alembic_version" in problems[0], problems
            async with shop.services.ctx.db.write() as session:
                await session.execute(text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
                await session.execute(text("INSERT INTO alembic_version VALUES (:v)"),
                                      {"v": head_revision()})
            async with http.get(base + "/ready") as r:
                assert (r.status, await r.json()) == (200, {"ok": True, "problems": []})
            li = shop.customer("Li")
            await li.command("/start")
            await new_message(li, "Welcome")
            async with http.get(base + "/metrics") as r:
                page = await r.text()
            assert r.headers["Content-Type"].startswith("text/plain")
            counted = [line for line in page.splitlines()
                       if line.startswith('shopbot_updates_total{kind="command"}')]
            assert counted and float(counted[0].split()[-1]) >= 1
            for name in ("shopbot_turn_seconds_count", "shopbot_outbox_backlog",
                         "shopbot_outbox_oldest_seconds", "shopbot_db_connections_in_use"):
                assert any(line.startswith(name) for line in page.splitlines()), name
            await shop.bot.runtime.stop()
            async with http.get(base + "/ready") as r:  # the load balancer stops sending
                assert r.status == 503
                assert "stopping" in (await r.json())["problems"]
