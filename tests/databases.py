"""Test databases: a SQLite file per test, or a fresh PostgreSQL schema per test.

PostgreSQL tests run when SHOPBOT_TEST_POSTGRES_URL is set. On a laptop without it they skip
with the reason; in CI (CI=true) an unreachable server is a failure, never a skip.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import models
from bot.db import create_database, normalize_url
from services.database import Database

POSTGRES_ENV = "SHOPBOT_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The PostgreSQL URL for tests, or skip (fail in CI) when there is none."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: PostgreSQL tests must run there")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    return normalize_url(url)


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, str]]:
    """A new empty schema on the test server, dropped afterwards: (url, schema)."""
    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OSError as exc:
        await admin.dispose()
        pytest.fail(f"PostgreSQL at {url} is unreachable: {exc}")
    try:
        yield url, schema
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def open_test_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated-by-metadata database of the given backend, disposed of afterwards."""
    if backend == "sqlite":
        db, engines = create_database(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
        async with engines[0].begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        try:
            yield db
        finally:
            for engine in engines:
                await engine.dispose()
        return
    async with postgres_schema() as (url, schema):
        db, engines = create_database(
            url, pool_size=10, max_overflow=10, pool_timeout=120,
            connect_args={"server_settings": {"search_path": schema}},
        )
        async with engines[0].begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        try:
            yield db
        finally:
            for engine in engines:
                await engine.dispose()
