"""Transactions for services: `db.write()` and `db.read()` each open one unit of work, and
`db.turn()` makes the units of one update a single transaction."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[object]]


@dataclass
class _Transaction:
    """The transaction a turn (or a unit outside any turn) is writing in."""

    session: AsyncSession | None = None
    wrote: bool = False  # a write unit finished in it (later units get savepoints)
    depth: int = 0  # units open in it right now (nested units share the outermost)
    locked: bool = False  # it holds an advisory lock (a rollback of a unit must not end it)
    after: list[AfterCommit] = field(default_factory=list)


# The transaction of the update being handled in this task (set by Database.turn).
_current: ContextVar[_Transaction | None] = ContextVar("shopbot_transaction", default=None)


@dataclass(frozen=True)
class Database:
    """Session factories handed to the services by the composition root (bot/).

    `read_factory` opens sessions whose statements each commit by themselves (no BEGIN and
    ROLLBACK round trips around a read): bot/db.py makes them so.
    """

    write_factory: async_sessionmaker[AsyncSession]
    read_factory: async_sessionmaker[AsyncSession]
    dialect: str

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks (FOR UPDATE SKIP LOCKED) exist."""
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """One update's work as one transaction: every `write()` inside joins it, and it
        commits when the block ends (or rolls back, all of it, when the block raises).

        A write unit that raises (a refused step, a ServiceError the handler answers) is undone
        on its own: the first by rolling back the transaction it alone wrote in, later ones
        by their savepoints. What `after_commit` was given runs once the turn has committed.
        """
        if _current.get() is not None:
            raise RuntimeError("a turn is already open in this task")
        transaction = _Transaction()
        token = _current.set(transaction)
        try:
            yield
            if transaction.session is not None:
                await transaction.session.commit()
        except BaseException:
            if transaction.session is not None:
                await transaction.session.rollback()
            raise
        finally:
            _current.reset(token)
            if transaction.session is not None:
                await transaction.session.close()
        await _run_after(transaction.after)

    @asynccontextmanager
    async def write(self, savepoint: bool = True) -> AsyncIterator[AsyncSession]:
        """One read-write unit: committed on success and rolled back on any error; inside a
        turn, part of the turn's transaction. `savepoint=False` for a unit whose failure fails
        the whole turn anyway (its record, the user's state): two statements fewer."""
        transaction = _current.get()
        if transaction is None:
            transaction = _Transaction(session=self.write_factory())
            token = _current.set(transaction)
            try:
                session = transaction.session
                assert session is not None
                async with session, session.begin():
                    transaction.depth = 1
                    yield session
            finally:
                _current.reset(token)
            await _run_after(transaction.after)
            return
        if transaction.session is None:
            transaction.session = self.write_factory()
        session = transaction.session
        transaction.depth += 1
        try:
            if transaction.depth > 1:  # inside another unit of this turn
                async with session.begin_nested():
                    yield session
            elif not transaction.wrote and not transaction.locked:
                try:
                    yield session
                    await session.flush()
                except BaseException:
                    await session.rollback()  # only this unit wrote in it
                    raise
                transaction.wrote = True
            elif not savepoint:
                yield session
                transaction.wrote = True
            else:
                async with session.begin_nested():
                    yield session
                transaction.wrote = True
        finally:
            transaction.depth -= 1
            if transaction.depth == 0:
                # As if each unit had its own session: the next one reads rows afresh.
                session.expunge_all()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit. Inside a turn that has written, the turn's own transaction (it
        sees what the turn wrote); else a session whose statements each commit by themselves."""
        transaction = _current.get()
        if transaction is not None and transaction.session is not None and (
                transaction.wrote or transaction.locked or transaction.depth > 0):
            transaction.depth += 1
            try:
                yield transaction.session
            finally:
                transaction.depth -= 1
                if transaction.depth == 0:
                    transaction.session.expunge_all()
            return
        async with self.read_factory() as session:
            yield session

    async def serialize(self, key: int) -> None:
        """Inside a turn: wait until no other turn holding `key` (a user id) is open, in any
        process, and hold it until this turn commits or rolls back. On PostgreSQL a
        transaction-level advisory lock taken in the turn's transaction (released by its
        commit, by its rollback, or by the server when the process dies); the turn's reads
        then run in that transaction, after the lock, so they see what the previous turn
        committed. SQLite needs nothing: one writer at a time, and one process."""
        transaction = _current.get()
        if transaction is None:
            raise RuntimeError("serialize() is for a turn")
        if not self.is_postgres:
            return
        if transaction.session is None:
            transaction.session = self.write_factory()
        # The two-key form: its key space is not the one-key form's (migrations, settlements).
        high, low = key >> 32, key & 0xFFFF_FFFF
        low = low - 2**32 if low >= 2**31 else low
        await transaction.session.execute(text("SELECT pg_advisory_xact_lock(:high, :low)"),
                                          {"high": high, "low": low})
        transaction.locked = True

    def turn_wrote(self) -> bool:
        """True when the open turn has written something (its commit will write)."""
        transaction = _current.get()
        return transaction is not None and transaction.wrote

    async def after_commit(self, work: AfterCommit) -> None:
        """Run `work` once the current write (the turn's transaction, or the write unit
        outside a turn) has committed; with no write open, now. Never run after a rollback.
        For calls to the world outside that must not hold a transaction open (a provider's
        refund), and that a crash before them leaves as a retriable record."""
        transaction = _current.get()
        if transaction is None:
            await work()
        else:
            transaction.after.append(work)


async def _run_after(work: list[AfterCommit]) -> None:
    """What waited for a commit: each on its own, a failure logged (its record stays, and a
    sweep retries it)."""
    for item in work:
        try:
            await item()
        except Exception:
            log.exception("work after a commit failed (a sweep retries it)")
