"""Retrying outgoing Bot API calls through the rate limiter, whichever framework makes them.

Every call to Telegram, a reply as much as an outbox message, passes here (aiogram's request
middleware and python-telegram-bot's rate limiter hook both call `call_limited`): messages wait
for their turn in the limiter (in memory, or in Redis shared by all processes); a 429 pauses
every sender for its retry_after; 5xx answers (JSON or a proxy's HTML page) and network errors
are retried with exponential backoff and jitter. Anything else is the caller's to handle.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot import metrics
from bot.ratelimit import RateLimiter, budget

log = logging.getLogger(__name__)
MAX_TRIES = 6
T = TypeVar("T")


class Flooded(Exception):
    """What a runtime's `classify` makes of its framework's 429 (retry_after seconds)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class Transient(Exception):
    """What a runtime's `classify` makes of a 5xx, a network error or a timeout."""


def backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> float:
    """Seconds before retry `attempt` (1, 2, ...): doubling, capped, with jitter so that many
    senders hit by the same outage do not all come back in the same instant."""
    delay: float = min(base * 2**attempt, cap)
    return delay * random.uniform(0.75, 1.25)


async def call_limited(limiter: RateLimiter, name: str, chat_id: int | str | None,
                       messages: int, call: Callable[[], Awaitable[T]],
                       classify: Callable[[Exception], Exception | None],
                       paid: bool = False) -> T:
    """Make one Bot API call `name`: `messages` slots of the limiter first (an album is one
    message per photo in Telegram's flood control; `paid`: sent with allow_paid_broadcast),
    then `call`; a call Telegram does not limit goes at once. `classify` tells a framework's
    error apart: Flooded (429), Transient (retry), or None (the caller's)."""
    spend = budget(name, chat_id, paid)
    for attempt in range(1, MAX_TRIES + 1):
        if spend is not None:
            for _ in range(max(messages, 1)):
                await limiter.acquire(chat_id, spend)
        try:
            return await call()
        except Exception as exc:
            kind = classify(exc)
            if kind is None or attempt == MAX_TRIES:
                raise
            if isinstance(kind, Flooded):
                log.warning("429 on %s to %s: everyone waits %ss", name, chat_id, kind.seconds)
                metrics.flooded(kind.seconds)
                await limiter.pause(kind.seconds)
            else:
                log.warning("%s on %s (try %s): %s", type(exc).__name__, name, attempt, exc)
                await asyncio.sleep(backoff(attempt))
    raise AssertionError("unreachable: the last try returns or raises")
