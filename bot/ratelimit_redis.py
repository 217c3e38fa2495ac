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

from bot.ratelimit import Limits, RateLimiter

log = logging.getLogger(__name__)

# KEYS: global bucket, pause key[, chat bucket]; ARGV: global rate per ms, global capacity,
# chat rate per ms, chat capacity. During a pause: -(ms left), nothing reserved. Otherwise a
# token is reserved in every bucket at once (a bucket may go below zero: that debt is the
# caller's wait) and the ms to wait for it are returned: first come, first served.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return -paused end
local keys, rates, caps = {KEYS[1]}, {tonumber(ARGV[1])}, {tonumber(ARGV[2])}
if #KEYS > 2 then
  keys[2] = KEYS[3]; rates[2] = tonumber(ARGV[3]); caps[2] = tonumber(ARGV[4])
end
local wait = 0
for i, key in ipairs(keys) do
  local v = redis.call('HMGET', key, 'tokens', 'stamp')
  local have, stamp = tonumber(v[1]), tonumber(v[2])
  if have == nil then have, stamp = caps[i], now end
  have = math.min(caps[i], have + math.max(0, now - stamp) * rates[i])
  if have < 1 then wait = math.max(wait, (1 - have) / rates[i]) end
  redis.call('HSET', key, 'tokens', have - 1, 'stamp', now)
  redis.call('PEXPIRE', key, math.ceil((caps[i] - have + 1) / rates[i]) + 1000)
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

    def _keys(self, chat_id: int | str | None) -> tuple[list[str], list[float]]:
        lim = self.limits
        keys = [self.prefix + "global", self.prefix + "pause"]
        args = [lim.global_per_second / 1000, float(lim.global_burst), 0.0, 0.0]
        if chat_id is not None:
            keys.append(f"{self.prefix}chat:{chat_id}")
            private = isinstance(chat_id, int) and chat_id > 0
            args[2:] = ([lim.private_per_second / 1000, float(lim.private_burst)] if private
                        else [lim.group_per_minute / 60_000, float(lim.group_burst)])
        return keys, args

    async def acquire(self, chat_id: int | str | None) -> None:
        """Wait until every process together may send one more message to `chat_id`."""
        keys, args = self._keys(chat_id)
        while True:
            try:
                wait_ms = int(await self._acquire(keys=keys, args=args))
                if wait_ms > 0:
                    await asyncio.sleep(wait_ms / 1000)
                    # A 429 while we slept: its pause outranks our slot; queue again behind it.
                    wait_ms = -int(await self.redis.pttl(keys[1]))
            except (RedisError, OSError) as exc:
                self._warn(exc)
                await super().acquire(chat_id)
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
