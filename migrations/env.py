"""Alembic environment: runs the migrations on an async engine for the caller's database URL."""
from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

import models
from bot.db import normalize_url

if context.config.config_file_name:  # the alembic command line, with alembic.ini's logging
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

target_metadata = models.Base.metadata
# Any fixed number: every process upgrading PostgreSQL at once waits on this lock in turn.
MIGRATION_LOCK_ID = 7_231_004_518


def _database_url() -> str:
    """The URL from bot.migrate, else (the alembic command line) from the settings."""
    url = context.config.attributes.get("database_url")
    if url:
        return str(url)
    from bot.config import load_config

    return load_config().database.url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write project column types (UTCDateTime) as their plain SQLAlchemy type."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _configure(connection: Connection | None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=True,
        render_item=render_item,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    """Write the SQL to stdout (alembic upgrade --sql)."""
    _configure(None, url=_database_url())
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one connection, one at a time across processes on PostgreSQL."""
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open an async engine and hand its connection to the synchronous migration code."""
    options: dict[str, Any] = context.config.attributes.get("engine_options") or {}
    engine = create_async_engine(normalize_url(_database_url()), poolclass=NullPool, **options)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
