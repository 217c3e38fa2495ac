"""Transactions for services: `db.write()` and `db.read()` each open one unit of work."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class Database:
    """Session factories handed to the services by the composition root (bot/)."""

    write_factory: async_sessionmaker[AsyncSession]
    read_factory: async_sessionmaker[AsyncSession]
    dialect: str

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks (FOR UPDATE SKIP LOCKED) exist."""
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One read-write transaction, committed on success and rolled back on any error."""
        async with self.write_factory() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """One read-only transaction (on SQLite it does not take the write lock)."""
        async with self.read_factory() as session, session.begin():
            yield session
