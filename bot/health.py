"""/ready and /metrics on the bot's web app (/health, alive, is in bot/web.py).

/ready answers 200 when this process can take updates: the database answers and its schema is
the one this code knows, Redis answers (when configured), the bot polls or its webhook is set,
and the process is not stopping; else 503 with what is wrong, so a load balancer or an
orchestrator sends it nothing until it is.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import text

from bot import metrics
from bot.config import AppConfig

if TYPE_CHECKING:
    from bot.app import ShopBot

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 3.0  # seconds a check may take before it counts as failed


@dataclass
class Readiness:
    """What the process learns as it starts: whether its webhook is set."""

    webhook_set: bool = False


def add_routes(app: web.Application, config: AppConfig, shop: ShopBot,
               readiness: Readiness) -> None:
    """Register /ready and /metrics."""
    head: list[str | None] = []

    async def ready(_: web.Request) -> web.Response:
        if not head:
            from bot.migrate import head_revision

            head.append(await asyncio.to_thread(head_revision))
        problems = await _problems(config, shop, readiness, head[0])
        return web.json_response({"ok": not problems, "problems": problems},
                                 status=503 if problems else 200)

    async def metrics_page(_: web.Request) -> web.Response:
        body, content_type = await metrics.render(shop.services)
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics_page)


async def _problems(config: AppConfig, shop: ShopBot, readiness: Readiness,
                    head: str | None) -> list[str]:
    problems: list[str] = []
    if shop.runtime.stopping:
        problems.append("stopping")
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), shop.services.ctx.db.read() as session:
            revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
        if revision != head:
            problems.append(f"database schema at {revision}, this code expects {head}")
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        problems.append(f"database: {_reason(error)}")
    if config.redis.url:
        problems.extend(await _redis_problems(config.redis.url))
    if config.telegram.mode == "webhook":
        if not readiness.webhook_set and config.telegram.webhook.public_url:
            problems.append("webhook not set yet")
    elif not any(task.get_name() == "polling" and not task.done() for task in shop.tasks):
        problems.append("not polling")
    return problems


async def _redis_problems(url: str) -> list[str]:
    from redis.asyncio import Redis

    client: Any = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT,
                                 socket_timeout=CHECK_TIMEOUT)
    try:
        await client.ping()
    except Exception as error:  # noqa: BLE001
        return [f"redis: {_reason(error)}"]
    finally:
        await client.aclose()
    return []


def _reason(error: BaseException) -> str:
    text_ = str(getattr(error, "orig", None) or error).strip()
    return text_.splitlines()[0] if text_ else type(error).__name__
