"""The rate limiter shared by every process of the bot, in Redis.

The same token buckets as bot.ratelimit, kept in Redis hashes and reserved by one Lua script
(atomic over every bucket of the message), timed by the Redis server's clock so processes on
different machines agree; callers of every process are served in the order they asked. A 429's
pause is one key with a PX expiry that every process reads before sending. Keys are per bot (a
hash of the token, never the token itself) and per chat; the `{...}` hash tag keeps one bot's
keys in one Redis Cluster slot.

If Redis cannot be reached, a process falls back to its own in-memory buckets (logged), so a
Redis outage slows nobody down to a halt; it only loses the sharing.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.ratelimit import Budget, Limits, RateLimiter, chat_rate, overall_rate

log = logging.getLogger(__name__)

# KEYS: pause key, then the buckets of the call (the bot-wide one of its budget, its chat's);
# ARGV: rate per ms and capacity of each bucket in turn. During a pause: -(ms left), nothing
# reserved. Otherwise a token is reserved in every bucket at once (a bucket may go below zero:
# that debt is the caller's wait) and the ms to wait for it are returned: first come, first
# served.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return -paused end
local wait = 0
for i = 2, #KEYS do
  local key, rate, cap = KEYS[i], tonumber(ARGV[2 * i - 3]), tonumber(ARGV[2 * i - 2])
  local v = redis.call('HMGET', key, 'tokens', 'stamp')
  local have, stamp = tonumber(v[1]), tonumber(v[2])
  if have == nil then have, stamp = cap, now end
  have = math.min(cap, have + math.max(0, now - stamp) * rate)
  if have < 1 then wait = math.max(wait, (1 - have) / rate) end
  redis.call('HSET', key, 'tokens', have - 1, 'stamp', now)
  redis.call('PEXPIRE', key, math.ceil((cap - have + 1) / rate) + 1000)
end
return math.ceil(wait)
"""

# KEYS: pause key; ARGV: ms. Only ever lengthens a pause, never shortens one.
PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""

WARN_EVERY = 30.0


def bot_key(token: str) -> str:
    """The Redis key prefix of one bot: a short hash of its token."""
    return "shopbot:rl:{" + hashlib.sha256(token.encode()).hexdigest()[:16] + "}:"


class RedisRateLimiter(RateLimiter):
    """Buckets and the 429 pause in Redis, shared by every process sending for this bot."""

    def __init__(self, client: Redis, token: str, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.redis = client
        self.prefix = bot_key(token)
        self._acquire = client.register_script(ACQUIRE)
        self._pause = client.register_script(PAUSE)
        self._warned_at = -WARN_EVERY

    @classmethod
    def from_url(cls, url: str, token: str, limits: Limits | None = None) -> RedisRateLimiter:
        """A limiter on the Redis server at `url` (SHOPBOT_REDIS_URL)."""
        return cls(Redis.from_url(url), token, limits)

    def _keys(self, chat_id: int | str | None, spend: Budget) -> tuple[list[str], list[float]]:
        """The pause key and the call's buckets, with their rates per ms and capacities."""
        lim = self.limits
        keys, args = [self.prefix + "pause"], []
        overall = overall_rate(lim, spend)
        if overall is not None:
            name, rate, burst = overall
            keys.append(self.prefix + name)
            args += [rate / 1000, float(burst)]
        if chat_id is not None:
            rate, burst = chat_rate(lim, chat_id)
            keys.append(f"{self.prefix}chat:{chat_id}")
            args += [rate / 1000, float(burst)]
        return keys, args

    async def acquire(self, chat_id: int | str | None, spend: Budget = "message") -> None:
        """Wait until every process together may send one more message (or edit a group's
        message) to `chat_id`."""
        keys, args = self._keys(chat_id, spend)
        while True:
            try:
                wait_ms = int(await self._acquire(keys=keys, args=args))
                if wait_ms > 0:
                    await asyncio.sleep(wait_ms / 1000)
                    # A 429 while we slept: its pause outranks our slot; queue again behind it.
                    wait_ms = -int(await self.redis.pttl(keys[0]))
            except (RedisError, OSError) as exc:
                self._warn(exc)
                await super().acquire(chat_id, spend)
                return
            if wait_ms >= 0:
                return
            await asyncio.sleep(-wait_ms / 1000)

    async def pause(self, seconds: float) -> None:
        """A 429: every process waits out retry_after (and this one even if Redis is down)."""
        await super().pause(seconds)
        try:
            await self._pause(keys=[self.prefix + "pause"], args=[max(1, int(seconds * 1000))])
        except (RedisError, OSError) as exc:
            self._warn(exc)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("Redis rate limiter unreachable (%s): limiting this process alone", exc)
