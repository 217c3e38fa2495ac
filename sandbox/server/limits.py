"""Telegram's flood control (token buckets answering 429 retry_after) and fault injection."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.server.errors import too_many_requests

# Methods that put a message into a chat and so count against flood limits.
_NOT_SENDING = {"sendChatAction"}


def counts_as_send(method: str) -> bool:
    """True for methods Telegram's flood control counts (send*, copy*, forward*)."""
    if method in _NOT_SENDING:
        return False
    return method.startswith(("send", "copyMessage", "forwardMessage"))


@dataclass
class FloodLimits:
    """Adjustable rates; defaults are Telegram's documented ones."""

    enabled: bool = True
    global_per_second: float = 30.0
    global_burst: int = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    # allow_paid_broadcast: "up to 1000 messages per second, ignoring broadcasting limits"
    paid_per_second: float = 1000.0
    paid_burst: int = 1000
    # Edits count against a group's 20/min like messages (TDLib's maintainer: bots "can edit
    # messages about 20 times per minute in a specific chat", sharing the limit with sends);
    # True: every edit also counts against the bot's 30/s and a private chat's 1/s.
    count_edits: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the control API."""
        return asdict(self)


class _Bucket:
    """A token bucket: `capacity` tokens refilled at `rate` per second."""

    def __init__(self, rate: float, capacity: int, now: float):
        self.rate = rate
        self.capacity = max(1, capacity)
        self.tokens = float(self.capacity)
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class FloodControl:
    """Per-bot, per-chat buckets; raises 429 when a send would exceed a limit."""

    def __init__(self, limits: FloodLimits | None = None):
        self.limits = limits or FloodLimits()
        self._buckets: dict[tuple[Any, ...], _Bucket] = {}

    def configure(self, **changes: Any) -> FloodLimits:
        """Change limits at runtime and start with fresh buckets."""
        for key, value in changes.items():
            if not hasattr(self.limits, key):
                raise ValueError(f"unknown flood limit {key!r}")
            setattr(self.limits, key, type(getattr(self.limits, key))(value))
        self._buckets.clear()
        return self.limits

    def _bucket(self, key: tuple[Any, ...], rate: float, burst: int, now: float) -> _Bucket:
        b = self._buckets.get(key)
        if b is None or b.rate != rate or b.capacity != max(1, burst):
            b = self._buckets[key] = _Bucket(rate, burst, now)
        return b

    def check(
        self, bot_id: int, chat_id: int, chat_type: str, method: str, paid: bool = False
    ) -> None:
        """Consume one send for (bot, chat) or raise TelegramError 429 with retry_after.

        A paid broadcast (allow_paid_broadcast) spends the paid rate instead of the bot's 30/s,
        and its chat's limit like any message; an edit spends only its group's limit.
        """
        lim = self.limits
        if not lim.enabled:
            return
        is_edit = method.startswith("editMessage")
        if not is_edit and not counts_as_send(method):
            return
        if is_edit and not lim.count_edits and chat_type == "private":
            return
        now = time.monotonic()
        buckets = []
        if not is_edit or lim.count_edits:
            buckets.append(
                self._bucket(("paid", bot_id), lim.paid_per_second, lim.paid_burst, now)
                if paid
                else self._bucket(("global", bot_id), lim.global_per_second, lim.global_burst, now)
            )
        if chat_type == "private":
            buckets.append(
                self._bucket(
                    ("chat", bot_id, chat_id), lim.private_per_second, lim.private_burst, now
                )
            )
        else:
            buckets.append(
                self._bucket(
                    ("chat", bot_id, chat_id), lim.group_per_minute / 60.0, lim.group_burst, now
                )
            )
        wait = max(b.wait_time(now) for b in buckets)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for b in buckets:
            b.take()


FAULT_KINDS = ("429", "500", "502", "drop", "delay")


@dataclass
class FaultRule:
    """The next `count` calls matching method/chat fail in the given way."""

    kind: str
    count: int = 1
    method: str | None = None
    chat_id: int | str | None = None
    delay: float = 0.0
    retry_after: int = 1
    id: int = 0
    hits: int = field(default=0)

    def matches(self, method: str, chat_id: Any) -> bool:
        """True when this rule applies to a call of `method` aimed at `chat_id`."""
        if self.count <= 0:
            return False
        if self.method and self.method.lower() != method.lower():
            return False
        return not (self.chat_id is not None and str(self.chat_id) != str(chat_id))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the control API."""
        return asdict(self)


class FaultInjector:
    """Holds fault rules; the app asks it which fault (if any) hits the current call."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def add(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        chat_id: int | str | None = None,
        delay: float = 0.0,
        retry_after: int = 1,
    ) -> FaultRule:
        """Register a fault for the next `count` matching calls."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        rule = FaultRule(kind, count, method, chat_id, delay, retry_after, self._next_id)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def take(self, method: str, chat_id: Any) -> FaultRule | None:
        """Consume and return the first rule matching this call."""
        for rule in self.rules:
            if rule.matches(method, chat_id):
                rule.count -= 1
                rule.hits += 1
                return rule
        return None

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()
