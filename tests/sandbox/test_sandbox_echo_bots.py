"""Unmodified aiogram and python-telegram-bot bots talk to a SandboxUser, polling and webhook."""

from __future__ import annotations

import aiohttp
import pytest

from sandbox.client import CallbackAnswer
from sandbox.testing import Sandbox

LIBS_AND_MODES = [
    ("aiogram", "polling"),
    ("aiogram", "webhook"),
    ("ptb", "polling"),
    ("ptb", "webhook"),
]


@pytest.mark.parametrize(("library", "mode"), LIBS_AND_MODES)
async def test_echo_and_inline_button(sb: Sandbox, run_bot, library: str, mode: str) -> None:
    alice = sb.user("Alice", username="alice")
    async with run_bot(library, mode):
        await alice.command("/start")
        welcome = await alice.wait_for_message(timeout=5)
        assert welcome.text == "Welcome, Alice!"
        assert welcome.buttons == ["Ping", "Docs"]
        assert welcome["from"]["id"] == sb.bot_id

        await alice.send("hello sandbox")
        echo = await alice.wait_for_message(timeout=5)
        assert echo.text == "hello sandbox"
        assert echo.message_id > welcome.message_id

        answer = await alice.click("Ping")
        assert answer == CallbackAnswer(text="pong", show_alert=False, url=None, cache_time=0)
        edited = await alice.wait_for_edit(welcome.message_id, timeout=5)
        assert edited.text == "Pressed ping"
        assert await alice.click("Docs") == {"url": "https://example.com/docs"}

    methods = [e.method for e in sb.requests() if e.ok]
    assert {"sendMessage", "answerCallbackQuery", "editMessageText"} <= set(methods)
    if mode == "webhook":
        assert "setWebhook" in methods and "getUpdates" not in methods
    else:
        assert "getUpdates" in methods


@pytest.mark.parametrize("library", ["aiogram", "ptb"])
async def test_webhook_secret_rejected_and_delivery_retried(
    sb: Sandbox, run_bot, library: str
) -> None:
    alice = sb.user("Bob")
    async with run_bot(library, "webhook") as handle:
        assert handle.webhook_url
        # The bot itself refuses a request carrying the wrong secret token.
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                handle.webhook_url,
                json={"update_id": 1},
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            ) as r,
        ):
            assert r.status in (401, 403)
        # Next two deliveries carry a wrong secret: the bot answers non-2xx, the sandbox
        # records the error and retries with backoff until the update gets through.
        sb.inject_webhook_fault("wrong_secret", count=2)
        await alice.send("retry me")
        echo = await alice.wait_for_message(timeout=5)
        assert echo.text == "retry me"
        info = sb.bot.webhook
        assert info is not None and info.last_error_message is not None
        assert info.last_error_message.startswith("Wrong response from the webhook: 40")
        deliveries = [e for e in sb.state.log if e.method == "sendMessage"]
        assert [e.params["text"] for e in deliveries] == ["retry me"]  # delivered once
