"""Bot processes for the crash tests, and the Redis server they share."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REDIS_ENV = "SHOPBOT_TEST_REDIS_URL"
ROOT = Path(__file__).resolve().parents[2]


def redis_url() -> str:
    """The Redis URL for tests, or skip (fail in CI) when there is none."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REDIS_ENV} is not set in CI: Redis tests must run there")
        pytest.skip(f"Redis tests need {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0)")
    return url


async def reachable_redis() -> str:
    """The test Redis URL, checked: an unreachable server fails the test, never skips it."""
    from redis.asyncio import Redis

    url = redis_url()
    client = Redis.from_url(url)
    try:
        await client.ping()
    except OSError as exc:
        pytest.fail(f"Redis at {url} is unreachable: {exc}")
    finally:
        await client.aclose()
    return url


class BotProcess:
    """One `python -m tests.reliability.worker` process."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.worker", *args], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    async def ready(self, timeout: float = 60) -> BotProcess:
        """Wait until it has built the bot (it has not sent anything yet)."""
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        assert line.strip() == "ready", f"worker did not start: {line!r}"
        return self

    def go(self) -> None:
        """Start sending."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful stop, as a crash or an OOM kill."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """End it if it still runs (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    async def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as a service manager stops it; its exit code once it has stopped (waited
        for in a thread: the sandbox in this process must keep answering it meanwhile)."""
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, timeout)
