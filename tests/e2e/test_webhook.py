"""Webhook mode: the sandbox delivers updates to the bot's web app, secret token checked, and the
bot answers 200 only once the update's work is committed. On both frameworks: the project's
web app parses the body and feeds the runtime."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp

from bot.config import load_config
from bot.ratelimit import RateLimiter
from bot.runtimes import Framework
from bot.web import start_web
from tests.e2e.harness import UNLIMITED, running_shop
from tests.e2e.steps import new_message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_updates_arrive_by_webhook_with_the_secret(tmp_path: Path,
                                                          framework: Framework) -> None:
    async with running_shop(tmp_path, framework=framework) as shop:
        while shop.sandbox.bot.allowed_updates is None:  # the polling bot's first getUpdates
            await asyncio.sleep(0.01)
        polled = list(shop.sandbox.bot.allowed_updates)
        await shop.bot.stop()  # the polling bot steps aside for a webhook one
        port = free_port()
        config = load_config(tmp_path / "none.yaml", env={
            "SHOPBOT_MODE": "webhook", "SHOPBOT_WEB_HOST": "127.0.0.1",
            "SHOPBOT_WEB_PORT": str(port), "SHOPBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "SHOPBOT_WEBHOOK_SECRET": "s3cret-token", "BOT_TOKEN": shop.sandbox.token,
        })
        config = config.model_copy(update={"telegram": config.telegram.model_copy(update={
            "webhook": config.telegram.webhook.model_copy(update={"host": "127.0.0.1",
                                                                   "port": port})})})
        shop.bot = shop.build(RateLimiter(UNLIMITED))
        await shop.bot.start(polling=False)
        runner = await start_web(config, shop.bot)
        try:
            info = shop.sandbox.requests("setWebhook")[-1].params
            assert info["url"].endswith(config.telegram.webhook.path)
            assert info["secret_token"] == "s3cret-token"
            # The same update kinds as polling asked for (Telegram keeps the last list given).
            assert info["allowed_updates"] == polled == [
                "message", "edited_message", "callback_query", "pre_checkout_query"]
            li = shop.customer("Li")
            await li.command("/start")
            assert "Welcome" in (await new_message(li, "Welcome")).text
            async with aiohttp.ClientSession() as http:  # someone who is not Telegram
                url = f"http://127.0.0.1:{port}{config.telegram.webhook.path}"
                forged = {"update_id": 999, "message": {"message_id": 1, "date": 0,
                          "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": False,
                                                                         "first_name": "X"},
                          "text": "/start"}}
                async with http.post(url, json=forged,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                    assert r.status == 401
                async with http.post(url, json=forged) as r:
                    assert r.status == 401
                secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
                for body in (b"not json", b"[1, 2]", b'{"message": {"text": "no update_id"}}',
                             b'{"update_id": "x", "message": 5}'):
                    async with http.post(url, data=body, headers=secret) as r:
                        assert r.status == 400, body
                await shop.bot.runtime.stop()  # stopping: Telegram must send it again later
                async with http.post(url, json=forged, headers=secret) as r:
                    assert r.status == 503
        finally:
            await runner.cleanup()
