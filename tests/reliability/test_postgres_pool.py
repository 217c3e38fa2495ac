"""The PostgreSQL pool: a fixed number of connections, and connections cut under the bot (a
server restart, an idle timeout on the way).

The pool pings a connection only when it has rested (bot.db.PING_IDLE_AFTER): a connection
used a moment ago goes straight to work, one that rested is checked first and replaced, with
every connection pooled before it, when it is dead.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

import bot.db
import models
from bot.db import create_database
from models import Customer
from services.clock import FakeClock
from services.container import build_services
from services.conversation import Handled, State, TurnStart
from services.database import Database
from tests.conftest import TEST_RULES, make_context
from tests.databases import postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg() -> AsyncIterator[tuple[Database, str, str]]:
    """A database whose connections carry their own application_name: (db, url, name)."""
    name = f"shopbot-reconnect-{uuid.uuid4().hex[:8]}"
    async with postgres_schema() as (url, schema):
        db, engines = create_database(url, pool_size=3, connect_args={
            "server_settings": {"search_path": schema, "application_name": name}})
        async with engines[0].begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        try:
            yield db, url, name
        finally:
            for engine in engines:
                await engine.dispose()


async def _connections(url: str, name: str) -> int:
    """How many server connections the pool named `name` has open."""
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            return int((await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name})).scalar_one())
    finally:
        await admin.dispose()


async def _cut(url: str, name: str) -> int:
    """Terminate every server connection of the pool named `name`, as a restart would."""
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            cut = (await conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": name})).scalar_one()
    finally:
        await admin.dispose()
    await asyncio.sleep(0.2)  # the server closes them asynchronously
    return int(cut)


async def _customers(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)))


async def _busy(db: Database) -> None:
    """Check several connections out at once so the pool holds more than one."""
    await asyncio.gather(*(_customers(db) for _ in range(3)))


async def _restart(pg: tuple[Database, str, str], monkeypatch: pytest.MonkeyPatch,
                   ping_idle_after: float) -> Database:
    """Fill the pool, then cut all its connections as a server restart would."""
    db, url, name = pg
    monkeypatch.setattr(bot.db, "PING_IDLE_AFTER", ping_idle_after)
    await _busy(db)
    assert await _cut(url, name) >= 2
    return db


async def test_rested_connections_cut_by_the_server_are_replaced_unnoticed(
        pg: tuple[Database, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = await _restart(pg, monkeypatch, 0.3)

    await asyncio.sleep(0.4)  # longer than PING_IDLE_AFTER: the next checkout pings
    assert await _customers(db) == 0  # no error: the dead connection was replaced
    async with db.write() as session:
        session.add(Customer(telegram_id=1, name="Ann"))
    await _busy(db)
    assert await _customers(db) == 1


async def test_a_connection_used_a_moment_ago_is_not_pinged(
        pg: tuple[Database, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    db, _url, _name = pg
    engine = db.write_factory.kw["bind"]
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or ping(conn))

    for _ in range(20):
        assert await _customers(db) == 0
    assert pings == []  # at every checkout this was three round trips (BEGIN, ";", ROLLBACK)

    monkeypatch.setattr(bot.db, "PING_IDLE_AFTER", 0.1)
    await asyncio.sleep(0.2)
    assert await _customers(db) == 0
    assert len(pings) == 1  # a rested one is checked


async def test_a_cut_within_the_rest_interval_fails_one_statement_then_the_pool_recovers(
        pg: tuple[Database, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    db = await _restart(pg, monkeypatch, 60.0)
    with pytest.raises(DBAPIError) as failed:
        await _customers(db)
    assert failed.value.connection_invalidated
    # The failure dropped every connection pooled before it: no second statement fails.
    for _ in range(5):
        await _busy(db)
    assert await _customers(db) == 0


async def test_a_customer_tap_right_after_a_restart_is_not_lost(
        pg: tuple[Database, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The first statement of a turn meets the dead connection: that try fails whole (nothing
    of it committed) and the poller's second try (bot/polling.py) goes through."""
    svc = build_services(make_context(pg[0], TEST_RULES, FakeClock()))
    async with pg[0].turn():
        assert isinstance(await svc.conversation.begin(1, 42, "Ann", None, "en"), TurnStart)
        await svc.conversation.finish(1, [])
    db = await _restart(pg, monkeypatch, 60.0)

    async def tap() -> None:
        async with db.turn():
            start = await svc.conversation.begin(2, 42, "Ann", None, "en")
            assert isinstance(start, TurnStart) and start.customer.telegram_id == 42
            await svc.conversation.save(42, State("checkout.phone", {"address": "1 Main St"}))
            await svc.conversation.finish(2, [])

    with pytest.raises(DBAPIError) as failed:
        await tap()
    assert failed.value.connection_invalidated
    await tap()  # the retry
    async with db.turn():  # handled once
        assert await svc.conversation.begin(2, 42, "Ann", None, "en") == Handled([])
    assert (await svc.conversation.load(42)).name == "checkout.phone"
    assert await _customers(db) == 1


async def test_more_turns_at_once_than_connections_wait_for_one_and_all_succeed() -> None:
    """pool_size connections and no overflow: the 50 turns share 3 connections, none is opened
    and closed for a single turn, and none fails."""
    name = f"shopbot-pool-{uuid.uuid4().hex[:8]}"
    async with postgres_schema() as (url, schema):
        db, engines = create_database(url, 3, connect_args={
            "server_settings": {"search_path": schema, "application_name": name}})
        try:
            async with engines[0].begin() as conn:
                await conn.run_sync(models.Base.metadata.create_all)
            svc = build_services(make_context(db, TEST_RULES, FakeClock()))
            peak = 0

            async def turn(user: int) -> None:
                nonlocal peak
                async with db.turn():
                    start = await svc.conversation.begin(1000 + user, user, f"U{user}", None, "en")
                    assert isinstance(start, TurnStart) and start.customer.telegram_id == user
                    peak = max(peak, engines[0].pool.checkedout())
                    await svc.conversation.save(user, State("catalog", {"page": user}))
                    await svc.conversation.finish(1000 + user, [])

            await asyncio.gather(*(turn(user) for user in range(1, 51)))
            assert peak == 3 and engines[0].pool.overflow() <= 0
            assert await _connections(url, name) == 3
            assert await _customers(db) == 50
            assert [(await svc.conversation.load(u)).data for u in (1, 50)] == [{"page": 1}, {"page": 50}]
        finally:
            for engine in engines:
                await engine.dispose()
