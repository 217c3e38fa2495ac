"""Webhook delivery: POST each update to the bot's URL, in order, retrying with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from sandbox.server.methods.common import public
from sandbox.server.models import BotRecord

if TYPE_CHECKING:
    from sandbox.server.state import SandboxState

log = logging.getLogger("sandbox.webhook")


def start_webhook_worker(state: SandboxState, bot: BotRecord) -> None:
    """Start (once) the task delivering this bot's updates to its webhook."""
    if bot.webhook_task is None or bot.webhook_task.done():
        bot.webhook_task = asyncio.get_running_loop().create_task(_deliver_loop(state, bot))
    bot.wakeup.set()


async def stop_webhook_worker(bot: BotRecord) -> None:
    """Stop the delivery task (deleteWebhook / shutdown)."""
    task, bot.webhook_task = bot.webhook_task, None
    if task and not task.done() and task is not asyncio.current_task():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _take_webhook_fault(state: SandboxState, bot: BotRecord) -> str | None:
    for fault in state.webhook_faults:
        if fault["count"] > 0 and fault.get("bot_id") in (None, bot.id):
            fault["count"] -= 1
            return str(fault["kind"])
    return None


async def _run_reply_method(
    state: SandboxState, bot: BotRecord, resp: aiohttp.ClientResponse
) -> None:
    """Telegram executes a method call the bot puts in its webhook response body."""
    from sandbox.server.dispatch import execute
    from sandbox.server.validation import UploadedFile

    ctype = resp.headers.get("Content-Type", "")
    raw: dict[str, Any] = {}
    uploads: dict[str, UploadedFile] = {}
    if ctype.startswith("application/json"):
        body = await resp.read()
        if not body.strip():
            return
        data = json.loads(body)
        if not isinstance(data, dict):
            return
        raw = data
    elif ctype.startswith("multipart/form-data"):
        reader = aiohttp.MultipartReader(resp.headers, resp.content)
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                continue
            if part.filename:
                uploads[part.name] = UploadedFile(
                    part.filename, part.headers.get("Content-Type", ""), await part.read()
                )
            else:
                raw[part.name] = await part.text()
    method = raw.pop("method", None)
    if isinstance(method, str) and method:
        await execute(state, bot, method, raw, uploads)


async def _deliver_loop(state: SandboxState, bot: BotRecord) -> None:
    delay = state.config.webhook_retry_initial
    timeout = aiohttp.ClientTimeout(total=state.config.webhook_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while bot.webhook is not None:
            hook = bot.webhook
            if not bot.updates:
                bot.wakeup.clear()
                await bot.wakeup.wait()
                continue
            update = bot.updates[0]
            headers = {"Content-Type": "application/json"}
            fault = _take_webhook_fault(state, bot)
            if hook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = (
                    hook.secret_token + "-wrong" if fault == "wrong_secret" else hook.secret_token
                )
            error: str | None = None
            try:
                async with session.post(
                    hook.url, data=json.dumps(public(update)), headers=headers
                ) as resp:
                    if 200 <= resp.status < 300:
                        with contextlib.suppress(Exception):
                            await _run_reply_method(state, bot, resp)
                    else:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except aiohttp.ClientConnectorError:
                error = "Connection refused"
            except TimeoutError:
                error = "Read timeout expired"
            except aiohttp.ClientError as exc:
                error = f"Connection error: {exc.__class__.__name__}"
            state.publish(
                {
                    "type": "webhook_delivery",
                    "bot_id": bot.id,
                    "update_id": update["update_id"],
                    "error": error,
                }
            )
            if error is None:
                if bot.updates and bot.updates[0] is update:
                    bot.updates.pop(0)
                delay = state.config.webhook_retry_initial
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            log.info("webhook delivery failed (%s); retrying in %.2fs", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, state.config.webhook_retry_max)
