"""Transactions for services: `db.write()` and `db.read()` each open one unit of work."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[object]]
# What to run once the write open in this task commits; None while no write is open.
_after_commit: ContextVar[list[AfterCommit] | None] = ContextVar("after_commit", default=None)


@dataclass(frozen=True)
class Database:
    """Session factories handed to the services by the composition root (bot/)."""

    write_factory: async_sessionmaker[AsyncSession]
    read_factory: async_sessionmaker[AsyncSession]
    dialect: str
    # A SQLite file: plain sqlite3 connections to it (services.turn_journal); None elsewhere.
    raw_connect: Callable[[], sqlite3.Connection] | None = None
    # Tables of a SQLite file written through the ORM/Core, by table: bumped when a statement
    # runs and again when its transaction commits (bot/db.py); caches of this process compare.
    epochs: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = field(
        default_factory=weakref.WeakKeyDictionary, compare=False, repr=False)

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks (FOR UPDATE SKIP LOCKED) exist."""
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[None]:
        """The turn to write, on SQLite: one writer at a time, first come, first served.

        SQLite lets one writer in at a time; its calls run in the event loop
        (bot/sqlite_inline.py), so a writer must never wait on SQLite's own lock: that wait
        would stall every task, the lock's holder included. Writers queue here instead, the
        ORM's units and the plain sqlite3 statements of the turn journal alike. PostgreSQL
        has row locks and many connections: nothing to queue.
        """
        if self.dialect != "sqlite":
            yield
            return
        loop = asyncio.get_running_loop()
        lock = self._writers.get(loop)
        if lock is None:
            lock = self._writers[loop] = asyncio.Lock()
        async with lock:
            yield

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One read-write transaction, committed on success and rolled back on any error."""
        hooks: list[AfterCommit] = []
        token = _after_commit.set(hooks)
        try:
            if self.dialect == "sqlite":
                async with self.writer(), self._inline(self.write_factory) as session:
                    yield session
            else:
                async with self.write_factory() as session, session.begin():
                    yield session
        finally:
            _after_commit.reset(token)
        await _run(hooks)  # committed, and SQLite's write lock is free again

    async def after_commit(self, fn: AfterCommit) -> None:
        """Run `fn` once the current write has committed (never if it rolls back); when no
        write is open, run it now. For calls out of the process (a provider's refund) that
        must neither hold the write lock nor happen for a transaction that is undone."""
        hooks = _after_commit.get()
        if hooks is None:
            await _run([fn])
        else:
            hooks.append(fn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """One read-only transaction (on SQLite it does not take the write lock)."""
        if self.dialect == "sqlite":
            async with self._inline(self.read_factory) as session:
                yield session
            return
        async with self.read_factory() as session, session.begin():
            yield session

    @staticmethod
    @asynccontextmanager
    async def _inline(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        """A transaction on SQLite, closed without a trip round the event loop.

        An AsyncSession's `async with` closes it in a task of its own (so a cancellation
        cannot abandon the close halfway), and waiting for that task lets every ready task
        run first: ~10 of them while a writer still held its turn, so each write unit
        lasted as long as the work of ten other updates and writers queued behind it (p99
        of a paced 200 customers). SQLite's calls run in the loop (bot/sqlite_inline.py):
        the close never suspends, so nothing can cancel it halfway, and it runs in place.
        """
        session = factory()
        try:
            async with session.begin():
                yield session
        finally:
            await session.close()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which each statement commits by itself: for one-statement writes
        that need no transaction around them (no BEGIN and COMMIT round trips)."""
        async with self.writer(), self.write_factory.kw["bind"].connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn


async def _run(hooks: list[AfterCommit]) -> None:
    """Run what waited for a commit; a failure is logged, not raised: the commit stands, and
    the work it left (a pending refund) is found again by its sweep."""
    for fn in hooks:
        try:
            await fn()
        except Exception:  # the caller's commit must not look failed
            log.exception("work after commit failed; its sweep retries it")
