"""The bot's web app: health, the sandbox payment page, and Telegram webhooks."""
from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import AppConfig
from bot.health import Readiness, add_routes
from bot.runtimes import BadUpdate

if TYPE_CHECKING:
    from bot.app import ShopBot

log = logging.getLogger(__name__)

READINESS = web.AppKey("readiness", Readiness)
INT64 = 2**63  # Telegram's integers all fit a signed 64-bit column; update ids are stored so


def update_json(body: bytes) -> dict[str, Any] | None:
    """The body as an update's JSON object, or None when it cannot be one (answered 400):
    not JSON, not an object, no update id >= 0, or an integer no 64-bit column can hold."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # malformed, not UTF-8, nested beyond reason
        return None
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if type(update_id) is not int or update_id < 0 or not _ints_fit(data):
        return None
    return data


def _ints_fit(data: Any) -> bool:
    """True when every integer in the JSON value fits a signed 64-bit column."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, int) and not -INT64 <= value < INT64:
            return False
    return True


def web_app(config: AppConfig, shop: ShopBot) -> web.Application:
    """Routes: /health, /pay/... (sandbox provider), the webhook path (webhook mode)."""
    app = web.Application(client_max_size=1024 * 1024)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/health", health)
    app[READINESS] = Readiness()
    add_routes(app, config, shop, app[READINESS])  # /ready, /metrics
    if "sandbox" in shop.services.ctx.payments:
        from bot.paypage import PREFIX, pay_page_app

        provider = shop.services.ctx.payments.get("sandbox")
        app.add_subapp(PREFIX, pay_page_app(shop.services, provider))  # type: ignore[arg-type]
    if "stripe" in shop.services.ctx.payments:
        from bot.stripe_web import PREFIX as STRIPE
        from bot.stripe_web import stripe_app

        app.add_subapp(STRIPE, stripe_app(shop.services, shop.runtime.me))
    if config.telegram.mode == "webhook":
        secret = config.telegram.webhook.secret_token or ""

        async def webhook(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given, secret):
                return web.Response(status=401)
            if shop.runtime.stopping:  # Telegram resends it, to the next process
                return web.Response(status=503)
            data = update_json(await request.read())
            if data is None:  # Telegram never sends such a body: no traceback, no retry
                log.warning("webhook body refused: not a Telegram update")
                return web.Response(status=400)
            try:
                await shop.runtime.feed_json(data)  # 200 only once the work is committed
            except BadUpdate:  # an object, but not an Update
                log.warning("webhook body refused: not a Telegram update")
                return web.Response(status=400)
            return web.Response()

        app.router.add_post(config.telegram.webhook.path, webhook)
    return app


async def start_web(config: AppConfig, shop: ShopBot) -> web.AppRunner:
    """Serve the web app on web.host:web.port (and, in webhook mode, on the webhook's address)."""
    runner = web.AppRunner(web_app(config, shop))
    await runner.setup()
    await web.TCPSite(runner, config.web.host, config.web.port).start()
    hook = config.telegram.webhook
    if config.telegram.mode == "webhook" and (hook.host, hook.port) != (config.web.host,
                                                                          config.web.port):
        await web.TCPSite(runner, hook.host, hook.port).start()
    if config.telegram.mode == "webhook" and config.telegram.webhook.public_url:
        await shop.runtime.set_webhook(str(config.telegram.webhook.public_url).rstrip("/")
                                       + config.telegram.webhook.path,
                                       config.telegram.webhook.secret_token)
        runner.app[READINESS].webhook_set = True
    return runner
