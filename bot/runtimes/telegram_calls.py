"""Retrying outgoing Bot API calls through the rate limiter, as an aiogram request middleware."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.ratelimit import RateLimiter, counts_as_message

log = logging.getLogger(__name__)
MAX_TRIES = 6


class LimitedCalls(BaseRequestMiddleware):
    """Every call waits its turn; 429 pauses everyone by retry_after; 5xx and network errors retry."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        chat_id: Any = getattr(method, "chat_id", None)
        for attempt in range(1, MAX_TRIES + 1):
            if counts_as_message(name):
                await self.limiter.acquire(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                log.warning("429 on %s to %s: waiting %ss", name, chat_id, exc.retry_after)
                await self.limiter.pause(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt == MAX_TRIES:
                    raise
                log.warning("%s on %s (try %s): %s", type(exc).__name__, name, attempt, exc)
                await asyncio.sleep(min(0.2 * 2**attempt, 5))
        raise TelegramNetworkError(method=method, message="gave up after retries")
