"""aiogram's request middleware: every call through `telegram_calls.call_limited`."""
from __future__ import annotations

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

from bot.ratelimit import RateLimiter
from bot.runtimes.telegram_calls import Flooded, Transient, call_limited

# Transient: the server or the way to it failed; the same call may well succeed in a moment.
TRANSIENT = (TelegramServerError, TelegramNetworkError, ClientDecodeError)


def classify(error: Exception) -> Exception | None:
    """aiogram's 429 and transient errors in call_limited's terms."""
    if isinstance(error, TelegramRetryAfter):
        return Flooded(error.retry_after)
    return Transient() if isinstance(error, TRANSIENT) else None


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
        messages = len(getattr(method, "media", None) or ()) if name == "sendMediaGroup" else 1
        paid = bool(getattr(method, "allow_paid_broadcast", None))
        return await call_limited(self.limiter, name, chat_id, messages,
                                  lambda: make_request(bot, method), classify, paid)
