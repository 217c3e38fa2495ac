"""Telegram's flood limits on our side: every outgoing message waits for its turn here.

What counts, as Telegram's Bot FAQ and what large bots and libraries report it (sources in
bench/README.md, "Telegram's send budget"):
- a new message (send*, copyMessage(s), forwardMessage(s); each photo of an album) counts
  against about 30 messages/s per bot and against its chat: about 1/s in a private chat, with
  short bursts tolerated, and 20/min in a group;
- a message sent with allow_paid_broadcast (paid in Stars) counts against up to 1000/s instead
  of the 30/s, and still against its chat;
- an edit in a group shares that group's 20/min with new messages (TDLib's maintainer); edits
  in private chats, answerCallbackQuery, sendChatAction, deletes and reads wait for nothing.
The buckets are under Telegram's, so that requests delayed on the way (and so arriving closer
together than they left) do not cost a 429; a 429 that happens anyway pauses every sender for
its retry_after (see `pause`).

A caller reserves its slot at once (the buckets may go below zero: the debt is its wait) and
sleeps until then, so callers go first come, first served, with no crowd of waiters retrying
in the same instant, and messages queued in order leave in order.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

PRUNE_EVERY = 1000  # acquisitions between sweeps of idle per-chat buckets

# What a call spends: a new message, a paid broadcast message, or an edit in a group.
Budget = Literal["message", "paid", "edit"]


@dataclass(frozen=True)
class Limits:
    """Rates for the buckets."""

    global_per_second: float = 29.0
    global_burst: int = 20
    private_per_second: float = 0.9
    private_burst: int = 3  # a reply's few messages go at once: Telegram allows short bursts
    group_per_minute: float = 18.0
    group_burst: int = 15
    paid_per_second: float = 950.0  # allow_paid_broadcast: up to 1000 messages/s
    paid_burst: int = 50


class _Bucket:
    def __init__(self, rate: float, capacity: int, now: float, tokens: float | None = None) -> None:
        self.rate, self.capacity, self.stamp = rate, capacity, now
        self.tokens = float(capacity) if tokens is None else tokens

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        """Seconds until one token is there (after refill)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


def counts_as_message(method: str) -> bool:
    """Telegram's flood control counts messages put into chats (send*, copy, forward)."""
    return method != "sendChatAction" and method.startswith(
        ("send", "copyMessage", "forwardMessage"))


def is_private(chat_id: int | str | None) -> bool:
    """Private chats have positive ids (groups and channels negative ones, or a @username)."""
    return isinstance(chat_id, int) and chat_id > 0


def budget(method: str, chat_id: int | str | None, paid: bool = False) -> Budget | None:
    """What a Bot API call spends of Telegram's limits; None: it waits for nothing."""
    if counts_as_message(method):
        return "paid" if paid else "message"
    if method.startswith("editMessage") and chat_id is not None and not is_private(chat_id):
        return "edit"
    return None


def chat_rate(limits: Limits, chat_id: int | str) -> tuple[float, int]:
    """(tokens per second, burst) of a chat: private chats have positive ids."""
    if is_private(chat_id):
        return limits.private_per_second, limits.private_burst
    return limits.group_per_minute / 60, limits.group_burst


def overall_rate(limits: Limits, spend: Budget) -> tuple[str, float, int] | None:
    """The bot-wide bucket a call spends from: (key, rate, burst); none for an edit."""
    if spend == "message":
        return "global", limits.global_per_second, limits.global_burst
    if spend == "paid":
        return "paid", limits.paid_per_second, limits.paid_burst
    return None


OVERALL = ("global", "paid")  # bot-wide buckets: start empty, never pruned


class RateLimiter:
    """In-memory buckets shared by every sender of this process (see ratelimit_redis for many)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buckets: dict[object, _Bucket] = {}
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        self._pauses = 0  # how many 429 pauses began: a reservation made before one is void
        self._acquired = 0

    def _bucket(self, key: object, rate: float, burst: int, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            # The global bucket starts empty: a process that just started (say, after a
            # crash mid-burst) cannot know how much of Telegram's bucket its predecessor
            # used, so it takes no burst; it fills at the rate from here.
            bucket = self._buckets[key] = _Bucket(rate, burst, now,
                                                  0.0 if key in OVERALL else None)
        return bucket

    async def acquire(self, chat_id: int | str | None, spend: Budget = "message") -> None:
        """Wait until one more message (or a group's edit) may go to `chat_id`, then take it."""
        lim = self.limits
        overall = overall_rate(lim, spend)
        while True:
            async with self._lock:
                now = time.monotonic()
                if self._paused_until > now:
                    delay, reserved = self._paused_until - now, False
                else:
                    buckets = [self._bucket(*overall, now)] if overall else []
                    if chat_id is not None:
                        buckets.append(self._bucket(chat_id, *chat_rate(lim, chat_id), now))
                    for b in buckets:
                        b.refill(now)
                    delay, reserved = max((b.wait() for b in buckets), default=0.0), True
                    for b in buckets:
                        b.tokens -= 1
                    self._prune(now)
                pauses = self._pauses
            if delay > 0:
                await asyncio.sleep(delay)
            # A 429 while we slept: its pause outranks our slot; queue again behind it.
            if reserved and self._pauses == pauses:
                return

    def _prune(self, now: float) -> None:
        self._acquired += 1
        if self._acquired % PRUNE_EVERY:
            return
        for key, b in list(self._buckets.items()):
            if key not in OVERALL and b.tokens + (now - b.stamp) * b.rate >= b.capacity:
                del self._buckets[key]  # full again: a new bucket would be the same

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends until retry_after has passed."""
        async with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            self._pauses += 1

    async def close(self) -> None:
        """Nothing to release in memory (the Redis limiter closes its connection)."""
