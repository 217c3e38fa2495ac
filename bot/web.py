"""The bot's web app: health, the sandbox payment page, and Telegram webhooks."""
from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.config import AppConfig
from bot.runtimes import BadUpdate

if TYPE_CHECKING:
    from bot.app import ShopBot

log = logging.getLogger(__name__)


def web_app(config: AppConfig, shop: ShopBot) -> web.Application:
    """Routes: /health, /pay/... (sandbox provider), the webhook path (webhook mode)."""
    app = web.Application(client_max_size=1024 * 1024)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/health", health)
    if "sandbox" in shop.services.ctx.payments:
        from bot.paypage import PREFIX, pay_page_app

        provider = shop.services.ctx.payments.get("sandbox")
        app.add_subapp(PREFIX, pay_page_app(shop.services, provider))  # type: ignore[arg-type]
    if config.telegram.mode == "webhook":
        secret = config.telegram.webhook.secret_token or ""

        async def webhook(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given, secret):
                return web.Response(status=401)
            if shop.runtime.stopping:  # Telegram resends it, to the next process
                return web.Response(status=503)
            try:
                data = await request.json()
            except ValueError:  # not JSON: nothing Telegram would send, nothing to resend
                return web.Response(status=400)
            if not isinstance(data, dict):
                return web.Response(status=400)
            try:
                await shop.runtime.feed_json(data)  # 200 only once the work is committed
            except BadUpdate:
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
    return runner
