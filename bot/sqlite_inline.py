"""An aiosqlite connection that runs SQLite's calls in the event loop instead of a thread.

aiosqlite hands every call (execute, fetch, commit) to a thread of its own and waits for the
answer through the event loop: two context switches and a future per call. A SQLite call on a
local file takes microseconds, far less than that round trip; measured here, an ORM query
through aiosqlite took ~980 µs and ~260 µs inline (bench/README.md has the whole bot's figures).

Inline, a call blocks the loop while it runs, which is what a thread hop would cost anyway for
calls this short. What must not happen is a call that waits: a writer blocked on SQLite's
lock (busy_timeout) would stall every task. In one process writers queue in the event loop
before they touch the database (services.database.Database.write), so none waits on the file
lock; SQLite shared by several processes is not a supported deployment (use PostgreSQL).

SQLAlchemy's aiosqlite dialect drives this class as it drives aiosqlite's own connection
(create_async_engine(..., async_creator=...)).
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its thread: runs each queued call at once.

    SQLAlchemy's dialect puts (future, function) on `connection._tx` itself for one setter.
    """

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # noqa: BLE001 - handed to the waiter, as the thread does
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's API, every call made directly on the sqlite3 connection."""

    def __init__(self, connector: Callable[[], sqlite3.Connection],
                 iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()  # no thread to start

    def stop(self) -> None:
        """Close the sqlite3 connection now (there is no thread to stop)."""
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (for callbacks such as trace or progress handlers)."""
        return self._conn


def inline_creator(connector: Callable[[], sqlite3.Connection]) -> Callable[[], InlineConnection]:
    """An `async_creator` for create_async_engine: each pool connection an InlineConnection."""
    return lambda: InlineConnection(connector)
