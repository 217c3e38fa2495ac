"""The Alembic migrations build exactly the schema of models/, on SQLite and on PostgreSQL."""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import models
from bot.db import normalize_url
from bot.migrate import current_revision, downgrade_database, head_revision, upgrade_database

TABLES = set(models.Base.metadata.tables)


def schema_differences(connection: Connection) -> list[Any]:
    """What autogenerate would still change: empty when the database matches the models."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, models.Base.metadata))


def table_names(connection: Connection) -> set[str]:
    """The tables in the connection's schema."""
    return set(inspect(connection).get_table_names())


async def inspect_database(url: str, look: Any, **engine_options: Any) -> Any:
    """Run `look(sync_connection)` against the database at `url`."""
    engine = create_async_engine(normalize_url(url), poolclass=NullPool, **engine_options)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet, in a folder that does not exist yet."""
    return f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'shop.db'}"


def postgres_url() -> str:
    """The test server's URL; skip without one, fail in CI when it is set but unreachable."""
    url = os.environ.get("SHOPBOT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SHOPBOT_TEST_POSTGRES_URL is not set: PostgreSQL migration test skipped")
    return url


@pytest.fixture
async def pg_schema() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A fresh schema of its own (others test on the same database at once), dropped after."""
    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(normalize_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001 - refused, unknown host, bad password: all alike
        await engine.dispose()
        reason = f"PostgreSQL at SHOPBOT_TEST_POSTGRES_URL is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    options = {"connect_args": {"server_settings": {"search_path": schema}}}
    try:
        yield url, options
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


def test_there_is_one_head_and_it_is_the_latest_revision() -> None:
    assert head_revision() == "0007"


async def test_sqlite_upgrade_builds_exactly_the_models(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)  # from inside a running loop: runs in a thread
    assert await inspect_database(sqlite_url, table_names) == TABLES | {"alembic_version"}
    assert await inspect_database(sqlite_url, schema_differences) == []
    assert current_revision(sqlite_url) == head_revision()


async def test_sqlite_upgrade_twice_changes_nothing_and_downgrade_drops_every_table(
    sqlite_url: str,
) -> None:
    upgrade_database(sqlite_url)
    upgrade_database(sqlite_url)
    downgrade_database(sqlite_url, "base")
    assert await inspect_database(sqlite_url, table_names) == {"alembic_version"}
    assert current_revision(sqlite_url) is None
    upgrade_database(sqlite_url)
    assert await inspect_database(sqlite_url, schema_differences) == []


def test_a_missing_sqlite_file_has_no_revision_and_is_not_created(tmp_path: Path) -> None:
    assert current_revision(f"sqlite:///{tmp_path / 'absent.db'}") is None
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.postgres
async def test_postgres_upgrade_builds_exactly_the_models(
    pg_schema: tuple[str, dict[str, Any]],
) -> None:
    url, options = pg_schema
    upgrade_database(url, **options)
    tables = await inspect_database(url, table_names, **options)
    assert tables == TABLES | {"alembic_version"}
    assert await inspect_database(url, schema_differences, **options) == []
    assert current_revision(url, **options) == head_revision()


@pytest.mark.postgres
async def test_postgres_downgrade_to_base_drops_every_table(
    pg_schema: tuple[str, dict[str, Any]],
) -> None:
    url, options = pg_schema
    upgrade_database(url, **options)
    downgrade_database(url, "base", **options)
    assert await inspect_database(url, table_names, **options) == {"alembic_version"}
    assert current_revision(url, **options) is None


def test_offline_sql_names_every_table(capsys: pytest.CaptureFixture[str]) -> None:
    from alembic import command

    from bot.migrate import alembic_config

    command.upgrade(alembic_config("postgresql+asyncpg://u@h/db"), "head", sql=True)
    sql = capsys.readouterr().out
    assert all(f"CREATE TABLE {name} " in sql for name in TABLES)


def test_upgrade_from_synchronous_code(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    assert current_revision(sqlite_url) == head_revision()
