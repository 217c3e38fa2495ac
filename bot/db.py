"""Engines and session factories: only the composition root creates them."""
from __future__ import annotations

import functools
import sqlite3
import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.sqlite_inline import InlineConnection, inline_creator
from services.database import Database

SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_POOL_SIZE = 20  # PostgreSQL connections per process (config: database.pool_size)


def normalize_url(url: str) -> str:
    """Use the async drivers for plain sqlite:// and postgresql:// URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _connector(url: str) -> Any:
    """sqlite3.connect with the file name and options the URL gives (as SQLAlchemy reads it)."""
    args, options = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
    return functools.partial(sqlite3.connect, *args, **options)


PRAGMAS = ("PRAGMA journal_mode=WAL", f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
           "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")


def raw_opener(url: str) -> Any:
    """Opens plain sqlite3 connections to a SQLite file, configured as the engines' are, in
    autocommit (each statement its own transaction): for services.turn_journal."""
    connect = _connector(url)

    def open_raw() -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(check_same_thread=False)
        conn.isolation_level = None
        for pragma in PRAGMAS:
            conn.execute(pragma)
        return conn

    return open_raw


def _sqlite_engine(url: str, immediate: bool, **kwargs: Any) -> AsyncEngine:
    # Calls run in the event loop, not in aiosqlite's thread: see bot/sqlite_inline.py.
    engine = create_async_engine(url, async_creator=inline_creator(_connector(url)), **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes SQLite's write lock at BEGIN: a deferred transaction that upgrades
        # later fails with "database is locked" instead of waiting for busy_timeout.
        # Straight to sqlite3 (every engine here is inline): through exec_driver_sql it cost
        # as much as a whole query.
        driver: InlineConnection = conn.connection.driver_connection
        driver.raw.execute(begin)

    return engine


def create_engines(url: str, pool_size: int = DEFAULT_POOL_SIZE,
                   **kwargs: Any) -> tuple[AsyncEngine, AsyncEngine]:
    """The write engine and the read engine (the same one except on SQLite); `pool_size` is
    PostgreSQL's (SQLite's pools are its own, see below)."""
    url = normalize_url(url)
    if (make_url(url).get_backend_name() == "sqlite" and ":memory:" not in url
            and "mode=memory" not in url):
        # One connection for writers: SQLite lets one writer in at a time anyway, and writers
        # queued on the pool (first come, first served) wait far less than writers polling the
        # file lock in busy_timeout's sleeps (p99 2 s -> tens of ms at 50 customers).
        writer = {"pool_size": 1, "max_overflow": 0,
                  "pool_timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, **kwargs}
        return _sqlite_engine(url, True, **writer), _sqlite_engine(url, False, **kwargs)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, True, **kwargs), _sqlite_engine(url, False, **kwargs)
    # A fixed pool without overflow: SQLAlchemy's default (5, and 10 more opened and closed
    # per checkout beyond that) made every busy moment pay a connect, its authentication and
    # the re-preparing of each statement.
    kwargs = {"pool_size": pool_size, "max_overflow": 0, **kwargs}
    engine = create_async_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine, engine


PING_IDLE_AFTER = 5.0  # seconds a pooled PostgreSQL connection may rest before it is pinged


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout only when it has rested PING_IDLE_AFTER seconds.

    pool_pre_ping pings at every checkout, and asyncpg's ping outside a transaction is three
    round trips (BEGIN, ";", ROLLBACK): with two or three checkouts per update that was a
    third of an update's time at one customer. A connection used a moment ago is alive; one
    that rested may have been cut (a server restart, an idle timeout on the way), and a
    failed ping replaces it and every connection pooled before it, as pre_ping does. A
    restart within the last few seconds still reaches the next statement once: the pool then
    drops all its older connections (SQLAlchemy's disconnect handling), and the next try
    works.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _rested(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["shopbot.checked_in"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("shopbot.checked_in")
        if since is None or time.monotonic() - since < PING_IDLE_AFTER:
            return  # fresh from connect, or used a moment ago
        record.info.pop("shopbot.checked_in", None)
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: the connection is gone
            raise exc.InvalidatePoolError(str(error)) from error


# Writes that can change what a cache of the turn journal holds (services.conversation):
# updated or deleted customers (a new one changes no cached row), and conversation states
# written other than by the journal.
WATCHED = {"customers": {"update", "delete"}, "conversation_state": {"insert", "update", "delete"}}


def _watch_writes(engine: AsyncEngine, epochs: dict[str, int]) -> None:
    """Bump `epochs[table]` when a watched table is written, and again at that commit (a
    reader that cached the old row between the statement and the commit is caught too)."""

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _written(conn: Any, _cursor: Any, _sql: str, _params: Any, context: Any,
                 _many: bool) -> None:
        kind = ("insert" if context.isinsert else "update" if context.isupdate
                else "delete" if context.isdelete else None)
        if kind is None or context.compiled is None:
            return
        table: Any = getattr(getattr(context.compiled, "statement", None), "table", None)
        if kind in WATCHED.get(getattr(table, "name", ""), ()):
            epochs[table.name] = epochs.get(table.name, 0) + 1
            conn.info.setdefault("shopbot.written", set()).add(table.name)

    @event.listens_for(engine.sync_engine, "commit")
    def _committed(conn: Any) -> None:
        for name in conn.info.pop("shopbot.written", ()):
            epochs[name] = epochs.get(name, 0) + 1

    @event.listens_for(engine.sync_engine, "rollback")
    def _rolled_back(conn: Any) -> None:
        conn.info.pop("shopbot.written", None)


def create_database(url: str, pool_size: int = DEFAULT_POOL_SIZE,
                    **kwargs: Any) -> tuple[Database, list[AsyncEngine]]:
    """A `Database` for the services and the engines to dispose of at shutdown."""
    write, read = create_engines(url, pool_size, **kwargs)
    file = write is not read  # a SQLite file (see create_engines)
    db = Database(
        write_factory=async_sessionmaker(write, expire_on_commit=False),
        read_factory=async_sessionmaker(read, expire_on_commit=False),
        dialect=write.dialect.name,
        raw_connect=raw_opener(normalize_url(url)) if file else None,
    )
    if file:
        _watch_writes(write, db.epochs)
    return db, list({id(e): e for e in (write, read)}.values())
