"""Webhook delivery as Telegram's Bot API server does it (tdlib/telegram-bot-api, WebhookActor):

- updates go out over up to `max_connections` connections at once (setWebhook, 1-100,
  default 40), from a window of the oldest 2 x max_connections pending updates;
- each update belongs to a queue, and a queue has one update in flight at a time, in order:
  a chat's messages (and edits) share the chat's queue; a user's callback queries are a queue
  of their own, as are their pre-checkout and shipping queries, and a chat's member updates
  (so a customer's button press and their typed message may arrive together, on two
  connections); other kinds are alone;
- an update whose POST did not answer 2xx (an error status, a refused or cut connection, a
  timeout) is sent again: the first retry at once (or after the response's Retry-After,
  capped at an hour), then after 2, 4, 8... units of `webhook_retry_initial` (1 s), at most
  a random 1-2 x `webhook_retry_max` (60 s); the rest of its queue waits for it;
- an update is dropped once it would be retried past its expiry: a day after a message,
  150 s after a callback, pre-checkout or shipping query.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
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


QUERY_KINDS = ("callback_query", "pre_checkout_query", "shipping_query", "inline_query")
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
QUERY_EXPIRES = 150.0  # seconds Telegram keeps a query update it could not deliver
MESSAGE_EXPIRES = 86_400.0
MAX_RETRY_AFTER = 3600


def queue_of(update: dict[str, Any]) -> tuple[str, int]:
    """The delivery queue of an update (one update of a queue in flight at a time)."""
    kind = next((k for k in update if k != "update_id"), "")
    payload = update.get(kind)
    if isinstance(payload, dict):
        if kind in QUERY_KINDS and isinstance(payload.get("from"), dict):
            return kind, int(payload["from"]["id"])
        if isinstance(payload.get("chat"), dict):  # messages and their edits share the chat's
            return "chat" if kind in MESSAGE_KINDS else kind, int(payload["chat"]["id"])
    return "alone", int(update["update_id"])


@dataclass
class _Pending:
    """Delivery bookkeeping of one update."""

    expires_at: float
    delay: float
    fails: int = 0
    wakeup_at: float = 0.0


async def _deliver_loop(state: SandboxState, bot: BotRecord) -> None:
    idle = state.config.webhook_timeout  # Telegram: HttpOutboundConnection(..., idle_timeout=60)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=idle, sock_read=idle)
    pending: dict[int, _Pending] = {}
    sending: dict[int, asyncio.Task[None]] = {}
    connector = aiohttp.TCPConnector(limit=100)
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            while bot.webhook is not None:
                hook = bot.webhook
                bot.wakeup.clear()
                now = time.monotonic()
                window = bot.updates[: 2 * hook.max_connections]
                ids = {u["update_id"] for u in window}
                for gone in [i for i in pending if i not in ids and i not in sending]:
                    del pending[gone]
                seen: set[tuple[str, int]] = set()
                wake_at: float | None = None
                for update in window:
                    queue = queue_of(update)
                    if queue in seen:
                        continue  # an older update of its queue is not delivered yet
                    seen.add(queue)
                    update_id = update["update_id"]
                    expires = QUERY_EXPIRES if queue[0] in QUERY_KINDS else MESSAGE_EXPIRES
                    info = pending.setdefault(update_id, _Pending(
                        now + expires, state.config.webhook_retry_initial))
                    if update_id in sending or len(sending) >= hook.max_connections:
                        continue
                    if info.wakeup_at > now:
                        wake_at = min(wake_at or info.wakeup_at, info.wakeup_at)
                        continue
                    task = asyncio.create_task(
                        _deliver(state, bot, hook, session, update, info))
                    sending[update_id] = task
                    task.add_done_callback(_finished(sending, update_id, bot))
                wait = None if wake_at is None else max(0.0, wake_at - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.wakeup.wait(), wait)
    finally:
        for task in list(sending.values()):
            task.cancel()
        if sending:
            await asyncio.wait(list(sending.values()))


def _finished(sending: dict[int, asyncio.Task[None]], update_id: int,
              bot: BotRecord) -> Callable[[asyncio.Task[None]], None]:
    def done(_: asyncio.Task[None]) -> None:
        sending.pop(update_id, None)
        bot.wakeup.set()

    return done


async def _deliver(state: SandboxState, bot: BotRecord, hook: Any,
                   session: aiohttp.ClientSession, update: dict[str, Any],
                   info: _Pending) -> None:
    """POST one update; on success it leaves the queue, on failure it waits its next try."""
    headers = {"Content-Type": "application/json"}
    fault = _take_webhook_fault(state, bot)
    if hook.secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = (
            hook.secret_token + "-wrong" if fault == "wrong_secret" else hook.secret_token
        )
    error: str | None = None
    retry_after = 0
    try:
        async with session.post(
            hook.url, data=json.dumps(public(update)), headers=headers
        ) as resp:
            if 200 <= resp.status < 300:
                with contextlib.suppress(Exception):
                    await _run_reply_method(state, bot, resp)
            else:
                error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                with contextlib.suppress(ValueError):
                    retry_after = min(max(int(resp.headers.get("Retry-After", "0")), 0),
                                      MAX_RETRY_AFTER)
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
        _forget(bot, update)
        return
    hook.last_error_date = int(time.time())
    hook.last_error_message = error
    # Telegram's schedule: the first retry at once (or after Retry-After), then doubling.
    wait = float(retry_after)
    if retry_after == 0 and info.fails > 0:
        most = state.config.webhook_retry_max
        info.delay = min(random.uniform(most, 2 * most), info.delay * 2)
        wait = info.delay
    now = time.monotonic()
    if now + wait > info.expires_at:
        log.warning("webhook: update %s dropped (%s)", update["update_id"], error)
        _forget(bot, update)
        return
    info.fails += 1
    info.wakeup_at = now + wait
    log.info("webhook delivery failed (%s); retrying in %.2fs", error, wait)


def _forget(bot: BotRecord, update: dict[str, Any]) -> None:
    for index, queued in enumerate(bot.updates):
        if queued is update:
            del bot.updates[index]
            return
