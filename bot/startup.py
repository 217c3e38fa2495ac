"""`shopbot run`'s start-up: the Telegram library imported in a thread, and where the time went.

aiogram takes seconds to import (pydantic builds the schema of each of its ~900 types), more than
everything else start-up does. So `shopbot run` starts that import in a thread once the offline
page answers (at once with a token), and the database schema, the demo shop and the services get
ready meanwhile; the bot waits for the library only when it builds its runtime. The thread
imports the library alone (not the project's modules, which the main thread imports): two
threads never import the same chain of modules in opposite order.

`StartupClock` keeps each phase's wall seconds; `shopbot run` logs them with "shop bot running"
(bench/startup.py reads that line).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import os
import threading
import time

# What each framework's runtime imports that takes long (bot.runtimes.FRAMEWORKS).
LIBRARIES = {"aiogram": ("aiogram",), "ptb": ("telegram", "telegram.ext")}


def process_age() -> float:
    """Seconds since this process started (Linux's /proc; 0 where there is none)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, up - ticks / os.sysconf("SC_CLK_TCK"))


class StartupClock:
    """Wall seconds of each start-up phase, from the start of the process."""

    def __init__(self) -> None:
        self.started = time.monotonic() - process_age()
        self._last = self.started
        self.phases: list[tuple[str, float]] = []

    def mark(self, phase: str) -> None:
        """`phase` ended now (it began when the previous one ended)."""
        now = time.monotonic()
        self.phases.append((phase, now - self._last))
        self._last = now

    def add(self, phase: str, seconds: float) -> None:
        """A phase that ran beside the others (in a thread): its own length."""
        self.phases.append((phase, seconds))

    def summary(self) -> str:
        """E.g. "after 4.1 s: settings 0.31, database 0.42, ...". """
        total = time.monotonic() - self.started
        return f"after {total:.2f} s: " + ", ".join(f"{name} {seconds:.2f}"
                                                    for name, seconds in self.phases)


class LibraryImport:
    """A framework's library, imported in a thread. Not a daemon thread: at exit Python stops
    daemon threads wherever they are, and one stopped inside pydantic-core's native code aborts
    the process (SIGABRT, "exception not rethrown"); a start that fails meanwhile (say, the
    database) exits once the import is done."""

    def __init__(self, framework: str) -> None:
        self.framework = framework
        self.seconds = 0.0
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        threading.Thread(target=self._run, name=f"import {framework}", daemon=False).start()

    def _run(self) -> None:
        started = time.monotonic()
        try:
            for module in LIBRARIES[self.framework]:
                importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - raised where the bot waits for it
            self.seconds = time.monotonic() - started
            self._done.set_exception(error)
        else:
            self.seconds = time.monotonic() - started
            self._done.set_result(None)

    async def wait(self) -> None:
        """Until the library is imported (its ImportError, if any, raised here)."""
        await asyncio.wrap_future(self._done)
