"""getMe, getUpdates (long polling) and the webhook settings."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from sandbox.server.errors import bad_request, conflict
from sandbox.server.methods.common import Call, method
from sandbox.server.webhook import start_webhook_worker, stop_webhook_worker

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@method("getMe")
async def get_me(call: Call) -> dict[str, Any]:
    """getMe: the bot's User with the bot-only flags."""
    return {
        **call.bot.user.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": not call.bot.privacy,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut", "close")
async def log_out(call: Call) -> bool:
    """logOut/close: accepted, nothing to do locally."""
    return True


def _connected(call: Call) -> None:
    """The bot is running: it polled or set its webhook (told once to the chat page)."""
    if not call.bot.connected:
        call.bot.connected = True
        call.state.publish({"type": "bot_connected", "bot_id": call.bot.id})


def _confirm(call: Call, offset: int | None) -> None:
    bot = call.bot
    if offset is None or offset == 0:
        return
    if offset > 0:
        bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
    else:
        bot.updates = bot.updates[offset:]


@method("getUpdates")
async def get_updates(call: Call) -> list[dict[str, Any]]:
    """getUpdates with offset/limit/timeout/allowed_updates and Telegram's 409 conflicts."""
    bot = call.bot
    if bot.webhook:
        raise conflict(
            "can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
    _connected(call)
    limit = call.get("limit") or 100
    if not 1 <= limit <= 100:
        limit = 100
    timeout = max(0, call.get("timeout") or 0)
    allowed = call.get("allowed_updates")
    if allowed is not None:
        bot.allowed_updates = list(allowed) or None
    # A newer poll ends the older one, which answers 409 (two bot instances running).
    if bot.poll_waiter and not bot.poll_waiter.done():
        bot.poll_waiter.set_result(None)
    _confirm(call, call.get("offset"))
    me: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    bot.poll_waiter = me
    deadline = time.monotonic() + timeout
    try:
        while True:
            bot.wakeup.clear()
            if bot.updates:
                return [dict(u) for u in bot.updates[:limit]]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or bot.webhook:
                return []
            wake: asyncio.Future[Any] = asyncio.ensure_future(bot.wakeup.wait())
            try:
                await asyncio.wait(
                    {wake, me}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                wake.cancel()
            if me.done():
                raise conflict(
                    "terminated by other getUpdates request; "
                    "make sure that only one bot instance is running"
                )
    finally:
        if bot.poll_waiter is me:
            bot.poll_waiter = None


@method("setWebhook")
async def set_webhook(call: Call) -> bool:
    """setWebhook: http(s) URL, optional secret token; starts delivery."""
    from sandbox.server.models import WebhookConfig

    bot = call.bot
    url = (call.get("url") or "").strip()
    if call.get("drop_pending_updates"):
        bot.updates.clear()
    if call.get("allowed_updates") is not None:
        bot.allowed_updates = list(call.get("allowed_updates")) or None
    if not url:
        bot.webhook = None
        await stop_webhook_worker(bot)
        return True
    if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = call.get("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_conn = call.get("max_connections") or 40
    if not 1 <= max_conn <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    bot.webhook = WebhookConfig(
        url=url, secret_token=secret, max_connections=max_conn, ip_address=call.get("ip_address")
    )
    # A long poll still hanging must give way (Telegram ends it too).
    if bot.poll_waiter and not bot.poll_waiter.done():
        bot.wakeup.set()
    start_webhook_worker(call.state, bot)
    _connected(call)
    return True


@method("deleteWebhook")
async def delete_webhook(call: Call) -> bool:
    """deleteWebhook (drop_pending_updates supported)."""
    bot = call.bot
    bot.webhook = None
    await stop_webhook_worker(bot)
    if call.get("drop_pending_updates"):
        bot.updates.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> dict[str, Any]:
    """getWebhookInfo with pending_update_count and the last delivery error."""
    bot = call.bot
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    if bot.allowed_updates:
        info["allowed_updates"] = bot.allowed_updates
    return info
