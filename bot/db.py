"""Engines and session factories: only the composition root creates them."""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

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


PRAGMAS = ("PRAGMA journal_mode=WAL", f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
           "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")


def _sqlite_engine(url: str, writer: bool, **kwargs: Any) -> AsyncEngine:
    """A SQLite engine on aiosqlite: the writer's transactions take the write lock at BEGIN;
    the reader's statements each commit by themselves (no BEGIN and ROLLBACK around reads)."""
    if not writer:
        kwargs = {"isolation_level": "AUTOCOMMIT", "skip_autocommit_rollback": True, **kwargs}
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit (see "begin"),
        # as SQLAlchemy's SQLite documentation shows.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    if writer:
        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            # A writer takes SQLite's write lock at BEGIN: a deferred transaction that upgrades
            # later fails with "database is locked" instead of waiting for busy_timeout.
            # (Db.autocommit's statements commit by themselves: no BEGIN for them.)
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_engines(url: str, pool_size: int = DEFAULT_POOL_SIZE,
                   **kwargs: Any) -> tuple[AsyncEngine, AsyncEngine]:
    """The write engine and the read engine; `pool_size` is PostgreSQL's."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # One connection for writers: SQLite lets one writer in at a time anyway, and writers
        # queued on the pool (first come, first served) wait far less than writers polling the
        # file lock in busy_timeout's sleeps (p99 2 s -> tens of ms at 50 customers).
        writer = {"pool_size": 1, "max_overflow": 0,
                  "pool_timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, **kwargs}
        return _sqlite_engine(url, True, **writer), _sqlite_engine(url, False, **kwargs)
    # A fixed pool without overflow: SQLAlchemy's default (5, and 10 more opened and closed
    # per checkout beyond that) made every busy moment pay a connect, its authentication and
    # the re-preparing of each statement.
    kwargs = {"pool_size": pool_size, "max_overflow": 0, **kwargs}
    engine = create_async_engine(url, **kwargs)
    _ping_when_idle(engine)
    # Reads share the pool, each statement committing by itself (asyncpg then sends no
    # BEGIN and ROLLBACK around them).
    return engine, engine.execution_options(isolation_level="AUTOCOMMIT")


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


def create_database(url: str, pool_size: int = DEFAULT_POOL_SIZE,
                    **kwargs: Any) -> tuple[Database, list[AsyncEngine]]:
    """A `Database` for the services and the engines to dispose of at shutdown."""
    write, read = create_engines(url, pool_size, **kwargs)
    db = Database(
        write_factory=async_sessionmaker(write, expire_on_commit=False),
        read_factory=async_sessionmaker(read, expire_on_commit=False),
        dialect=write.dialect.name,
    )
    engines = [write] if read.sync_engine.pool is write.sync_engine.pool else [write, read]
    return db, engines
