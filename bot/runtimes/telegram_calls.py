"""Retrying outgoing Bot API calls through the rate limiter, as an aiogram request middleware.

Every call to Telegram, a reply as much as an outbox message, passes here: messages wait for
their turn in the limiter (in memory, or in Redis shared by all processes); a 429 pauses every
sender for its retry_after; 5xx answers (JSON or a proxy's HTML page) and network errors are
retried with exponential backoff and jitter. Anything else is the caller's to handle.
"""
from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.ratelimit import RateLimiter, counts_as_message

log = logging.getLogger(__name__)
MAX_TRIES = 6
# Transient: the server or the way to it failed; the same call may well succeed in a moment.
TRANSIENT = (TelegramServerError, TelegramNetworkError, ClientDecodeError)


def backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> float:
    """Seconds before retry `attempt` (1, 2, ...): doubling, capped, with jitter so that many
    senders hit by the same outage do not all come back in the same instant."""
    delay: float = min(base * 2**attempt, cap)
    return delay * random.uniform(0.75, 1.25)


class LimitedCalls(BaseRequestMiddleware):
    """Every call waits its turn; 429 pauses everyone by retry_after; 5xx and network errors
    retry."""

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
        # An album is one message per photo in Telegram's flood control.
        messages = len(getattr(method, "media", None) or ()) if name == "sendMediaGroup" else 1
        for attempt in range(1, MAX_TRIES + 1):
            if counts_as_message(name):
                for _ in range(max(messages, 1)):
                    await self.limiter.acquire(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                log.warning("429 on %s to %s: everyone waits %ss", name, chat_id, exc.retry_after)
                await self.limiter.pause(exc.retry_after)
                if attempt == MAX_TRIES:
                    raise
            except TRANSIENT as exc:
                if attempt == MAX_TRIES:
                    raise
                log.warning("%s on %s (try %s): %s", type(exc).__name__, name, attempt, exc)
                await asyncio.sleep(backoff(attempt))
        raise AssertionError("unreachable: the last try returns or raises")
