"""The bookkeeping every update pays, on a SQLite file, in plain sqlite3 statements.

Each private update claims its update id, reads its customer with their conversation state,
and, when the step moved, stores the new state. Through the ORM each of those is a unit of
work costing ~300 µs of Python around a statement SQLite runs in ~30 µs, and they are paid on
every update, including the many that read nothing else (profile in bench/README.md). Here
they are one autocommit statement each on a connection of their own, with values converted
by the same SQLAlchemy column types the ORM uses, so rows read either way are the same.

Writes queue behind `Database.writer()` like every other writer; reads need no turn (WAL).

On PostgreSQL (`PostgresJournal`) the same bookkeeping is SQL text sent through SQLAlchemy's
`exec_driver_sql` on a pooled self-committing connection: SQLAlchemy still translates errors,
drops cut connections and fires its statement events, but builds, caches and compiles nothing
(the claim-and-read construct cost ~1.5 ms of Python per update, the text ~0.7 ms).
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from models import ConversationState, Customer, ProcessedUpdate
from services.database import Database

log = logging.getLogger(__name__)

_DIALECT = SQLiteDialect_pysqlite()
_CUSTOMER = [Customer.__table__.c[n] for n in ("id", "telegram_id", "name", "language", "phone")]
_STATE = [ConversationState.__table__.c[n] for n in ("state", "data")]


def _to_db(column: Column[Any], dialect: Dialect = _DIALECT) -> Callable[[Any], Any]:
    """The conversion SQLAlchemy applies to a value of this column (JSON, dates)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


def _from_db(column: Column[Any]) -> Callable[[Any], Any]:
    """The conversion SQLAlchemy applies to a value read from this column on SQLite."""
    impl = column.type.dialect_impl(_DIALECT)
    return impl.result_processor(_DIALECT, None) or (lambda value: value)


_UPDATE_AT = _to_db(ProcessedUpdate.__table__.c.processed_at)
_STATE_IN = [_to_db(ConversationState.__table__.c[n]) for n in ("state", "data", "updated_at")]
_ROW_OUT = [_from_db(c) for c in (*_CUSTOMER, *_STATE)]
_STATE_OUT = [_from_db(c) for c in _STATE]

CLAIM = ("INSERT INTO processed_updates (update_id, processed_at) VALUES (?, ?) "
         "ON CONFLICT (update_id) DO NOTHING")
TURN = (f"SELECT {', '.join(f'c.{c.name}' for c in _CUSTOMER)}, s.state, s.data "
        "FROM customers AS c LEFT OUTER JOIN conversation_state AS s ON s.user_id = c.telegram_id "
        "WHERE c.telegram_id = ?")
STATE = "SELECT state, data FROM conversation_state WHERE user_id = ?"
SAVE = ("INSERT INTO conversation_state (user_id, state, data, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, data = excluded.data, "
        "updated_at = excluded.updated_at")
CLEAR = "DELETE FROM conversation_state WHERE user_id = ?"

Listener = Callable[[str], None]


class TurnJournal:
    """Claims, turn reads and state writes of one SQLite file (one connection, autocommit)."""

    # every statement, as sent (bench/common.StatementCounter)
    listeners: ClassVar[list[Listener]] = []

    def __init__(self, db: Database) -> None:
        assert db.raw_connect is not None
        self.db = db
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The journal's connection, opened on first use."""
        if self._conn is None:
            assert self.db.raw_connect is not None
            self._conn = self.db.raw_connect()
        return self._conn

    def _run(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        for listener in TurnJournal.listeners:
            listener(sql)
        return self.conn.execute(sql, params)

    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record an update as handled (committed at once); False when it was handled before."""
        async with self.db.writer():
            return self._run(CLAIM, (update_id, _UPDATE_AT(now))).rowcount == 1

    def turn(self, telegram_id: int) -> tuple[tuple[Any, ...], tuple[str, Any] | None] | None:
        """(customer id, telegram id, name, language, phone) and (state, data) or None; None
        when there is no such customer yet."""
        row = self._run(TURN, (telegram_id,)).fetchone()
        if row is None:
            return None
        values = [convert(value) for convert, value in zip(_ROW_OUT, row, strict=True)]
        state = None if row[len(_CUSTOMER)] is None else (values[-2], values[-1])
        return tuple(values[:len(_CUSTOMER)]), state

    def state(self, user_id: int) -> tuple[str, Any] | None:
        """A stored (state, data), or None."""
        row = self._run(STATE, (user_id,)).fetchone()
        if row is None:
            return None
        return _STATE_OUT[0](row[0]), _STATE_OUT[1](row[1])

    async def save(self, user_id: int, name: str, data: Any, now: datetime) -> None:
        """Store a state (upsert), committed at once."""
        values = [convert(v) for convert, v in zip(_STATE_IN, (name, data, now), strict=True)]
        async with self.db.writer():
            self._run(SAVE, (user_id, *values))

    async def clear(self, user_id: int) -> None:
        """Forget a state."""
        async with self.db.writer():
            self._run(CLEAR, (user_id,))


# PostgreSQL: asyncpg's codecs (set up by SQLAlchemy on each connection) decode JSON and
# dates; only the values sent need SQLAlchemy's conversions.
_PG = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialects are untyped
_PG_UPDATE_AT = _to_db(ProcessedUpdate.__table__.c.processed_at, _PG)
_PG_STATE_IN = [_to_db(ConversationState.__table__.c[n], _PG)
                for n in ("state", "data", "updated_at")]

PG_CLAIM = ("INSERT INTO processed_updates (update_id, processed_at) VALUES ($1, $2) "
            "ON CONFLICT (update_id) DO NOTHING RETURNING update_id")
# The claim and the read in one statement: the claim's CTE runs whatever the join finds.
PG_BEGIN = (f"WITH claimed AS ({PG_CLAIM}) "
            "SELECT (SELECT update_id FROM claimed), "
            f"{', '.join(f'c.{c.name}' for c in _CUSTOMER)}, "
            "s.state, s.data FROM (SELECT 1) AS one "
            "LEFT OUTER JOIN customers AS c ON c.telegram_id = $3 "
            "LEFT OUTER JOIN conversation_state AS s ON s.user_id = $3")
PG_SAVE = SAVE.replace("VALUES (?, ?, ?, ?)", "VALUES ($1, $2, $3, $4)")


class PostgresJournal:
    """Claims, turn reads and state writes on PostgreSQL: one self-committing statement each."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _run(self, sql: str, params: tuple[Any, ...]) -> Any:
        """Run one statement, committed by itself; once more if the server had cut the
        connection.

        These statements open every turn, so after a server restart they are the first to
        meet a dead pooled connection (see bot.db.PING_IDLE_AFTER). A cut connection ran
        nothing, and the pool has dropped its other old connections: the second try runs on
        a new one, and the customer's tap is not lost.
        """
        for attempt in (1, 2):
            try:
                async with self.db.autocommit() as conn:
                    result = await conn.exec_driver_sql(sql, params)
                    return result.first() if result.returns_rows else None
            except DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
                log.warning("database connection was cut; trying again on a new one")

    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record an update as handled (committed at once); False when it was handled before."""
        return await self._run(PG_CLAIM, (update_id, _PG_UPDATE_AT(now))) is not None

    async def begin(self, update_id: int, telegram_id: int, now: datetime
                    ) -> tuple[tuple[Any, ...] | None, tuple[str, Any] | None] | None:
        """Claim the update and read the customer (id, telegram id, name, language, phone) and
        their (state, data): None when the update was handled before; the customer is None
        when there is none yet, the state None when they have none."""
        row = await self._run(PG_BEGIN, (update_id, _PG_UPDATE_AT(now), telegram_id))
        if row[0] is None:
            return None
        customer = None if row[1] is None else tuple(row[1:len(_CUSTOMER) + 1])
        state = None if row[-2] is None else (row[-2], row[-1])
        return customer, state

    async def save(self, user_id: int, name: str, data: Any, now: datetime) -> None:
        """Store a state (upsert), committed at once."""
        values = [convert(v) for convert, v in zip(_PG_STATE_IN, (name, data, now), strict=True)]
        await self._run(PG_SAVE, (user_id, *values))
