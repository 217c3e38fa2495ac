"""`shopbot run` without a token, for real, in a subprocess: the address it prints, and stop.

    with running_offline(tmp_path) as shop:
        urlopen(shop.address)              # the chat page
        shop.sqlite("SELECT status FROM orders")
"""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LINE = "No BOT_TOKEN: the shop runs on the local Telegram sandbox at "


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any shopbot setting or token, the source tree first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_") and k != "BOT_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env | extra


def start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m bot ARGS` in `cwd`, output piped."""
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=cwd, env=clean_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_ok(url: str, started: float, timeout: float) -> float:
    """Seconds from `started` to the first HTTP 200 of `url` (AssertionError after timeout)."""
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")


@dataclass
class OfflineShop:
    """A running `shopbot run` with no token."""

    proc: subprocess.Popen[str]
    address: str
    folder: Path
    seconds_to_page: float

    def sqlite(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the shop's SQLite database."""
        with sqlite3.connect(self.folder / "data" / "shop.db") as connection:
            return list(connection.execute(query, params))

    def stop(self) -> int:
        """Ctrl-C; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)


@contextmanager
def running_offline(folder: Path, port: int | None = None,
                    framework: str = "aiogram") -> Iterator[OfflineShop]:
    """Start `shopbot run --port PORT` in an empty folder (a fresh clone), on that framework
    (SHOPBOT_FRAMEWORK); stop it after."""
    port = port or free_port()
    started = time.monotonic()
    proc = start(folder, "run", "--port", str(port), SHOPBOT_FRAMEWORK=framework)
    try:
        seconds = first_ok(f"http://127.0.0.1:{port}/", started, 30)
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith(LINE), line
        address = line[len(LINE):].split()[0]
        yield OfflineShop(proc, address, folder, seconds)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
