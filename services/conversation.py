"""Where each user is in a conversation, stored in the database (survives restarts, shared)."""
from __future__ import annotations

import copy
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import ConversationState, Customer, ProcessedUpdate
from services.context import ServiceContext
from services.customers import CustomerService, CustomerView, view_of
from services.turn_journal import PostgresJournal, TurnJournal

MAX_STATE_BYTES = 16_384


@dataclass
class State:
    """A user's step (e.g. "checkout.phone") and its draft data."""

    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnStart:
    """A claimed update's customer and their stored state."""

    customer: CustomerView
    state: State


# The turn cache (SQLite files only): how many users, and how long an entry is trusted at most
# (anything not seen by Database.epochs, such as a hand edit of the file, shows within this).
TURN_CACHE_SIZE = 10_000
TURN_CACHE_MAX_AGE = 60.0


class _TurnCache:
    """Recent users' customer rows and states, in this process, kept true by write-through
    (the journal's state writes) and by Database.epochs (any other write to those tables
    empties it). Only where one process owns the database: a SQLite file."""

    def __init__(self, epochs: dict[str, int]) -> None:
        self.epochs = epochs
        self.entries: OrderedDict[int, tuple[float, CustomerView, State]] = OrderedDict()
        self.seen = self._epoch()

    def _epoch(self) -> tuple[int, int]:
        return self.epochs.get("customers", 0), self.epochs.get("conversation_state", 0)

    def _valid(self) -> None:
        if (now := self._epoch()) != self.seen:
            self.entries.clear()
            self.seen = now

    def get(self, telegram_id: int) -> TurnStart | None:
        self._valid()
        entry = self.entries.get(telegram_id)
        if entry is None or time.monotonic() - entry[0] > TURN_CACHE_MAX_AGE:
            return None
        self.entries.move_to_end(telegram_id)
        return TurnStart(entry[1], State(entry[2].name, copy.deepcopy(entry[2].data)))

    def put(self, customer: CustomerView, state: State, epoch: tuple[int, int]) -> None:
        if epoch != self._epoch() or customer.telegram_id is None:
            return  # a write landed while it was read: do not keep what may be old
        self.entries[customer.telegram_id] = (
            time.monotonic(), customer, State(state.name, copy.deepcopy(state.data)))
        self.entries.move_to_end(customer.telegram_id)
        while len(self.entries) > TURN_CACHE_SIZE:
            self.entries.popitem(last=False)

    def stored(self, user_id: int, state: State | None) -> None:
        """The journal stored (or, None, cleared) a user's state: keep the entry in step."""
        self._valid()
        entry = self.entries.get(user_id)
        if entry is not None:
            kept = State(state.name, copy.deepcopy(state.data)) if state else State()
            self.entries[user_id] = (entry[0], entry[1], kept)


def _state(row: ConversationState | None) -> State:
    return State(row.state, dict(row.data or {})) if row else State()


def _state_of(stored: tuple[str | None, Any] | None) -> State:
    """A State from a stored (state, data) pair read by plain SQL; none stored: empty."""
    return State(stored[0], dict(stored[1] or {})) if stored and stored[0] is not None else State()


class ConversationService:
    """Conversation state and once-only handling of updates."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # On a SQLite file the per-update bookkeeping skips the ORM (see turn_journal).
        self.journal = TurnJournal(ctx.db) if ctx.db.raw_connect is not None else None
        self.turns = _TurnCache(ctx.db.epochs) if self.journal is not None else None
        self.postgres = PostgresJournal(ctx.db) if ctx.db.is_postgres else None

    def _insert(self) -> Any:
        return postgresql.insert if self.ctx.db.is_postgres else sqlite.insert

    def _claim(self, update_id: int) -> Any:
        return (self._insert()(ProcessedUpdate)
                .values(update_id=update_id, processed_at=self.ctx.clock.now())
                .on_conflict_do_nothing(index_elements=["update_id"])
                .returning(ProcessedUpdate.update_id))

    async def claim_update(self, update_id: int) -> bool:
        """Record an update as handled; False when it was handled before (a repeat)."""
        if self.journal is not None:
            return await self.journal.claim(update_id, self.ctx.clock.now())
        if self.postgres is not None:
            return await self.postgres.claim(update_id, self.ctx.clock.now())
        async with self.ctx.db.write() as session:
            return await session.scalar(self._claim(update_id)) is not None

    async def begin_turn(self, update_id: int, telegram_id: int, name: str, username: str | None,
                         language_code: str | None) -> TurnStart | None:
        """Claim a private chat's update, and read (or create) its customer and their state, in
        one transaction: None when the update was handled before (a repeat).

        One transaction and one query instead of three (claim, customer, state): this is paid
        on every update. The claim still commits before any of the turn's effects.
        """
        if self.journal is not None:
            return await self._begin_journaled(update_id, telegram_id, name, username, language_code)
        if self.postgres is not None:
            return await self._begin_postgres(update_id, telegram_id, name, username, language_code)
        async with self.ctx.db.write() as session:
            if await session.scalar(self._claim(update_id)) is None:
                return None
            found = (await session.execute(
                select(Customer, ConversationState)
                .outerjoin(ConversationState, ConversationState.user_id == Customer.telegram_id)
                .where(Customer.telegram_id == telegram_id))).first()
            if found is not None:
                return TurnStart(view_of(found[0]), _state(found[1]))
            customer = await CustomerService(self.ctx).ensure_in(
                session, telegram_id, name, username, language_code)
            state = await session.scalar(select(ConversationState).where(
                ConversationState.user_id == telegram_id))
            return TurnStart(customer, _state(state))

    async def _begin_postgres(self, update_id: int, telegram_id: int, name: str,
                              username: str | None, language_code: str | None) -> TurnStart | None:
        """begin_turn on PostgreSQL: the claim and the read in one self-committing statement
        (one round trip instead of BEGIN, claim, read and COMMIT)."""
        assert self.postgres is not None
        found = await self.postgres.begin(update_id, telegram_id, self.ctx.clock.now())
        if found is None:
            return None
        customer, state = found
        if customer is None:
            view = await self._new_customer(telegram_id, name, username, language_code)
            return TurnStart(view, await self.load(telegram_id))
        return TurnStart(CustomerView(*customer), _state_of(state))

    async def _new_customer(self, telegram_id: int, name: str, username: str | None,
                            language_code: str | None) -> CustomerView:
        """A turn of someone with no customer row yet: create it (the ORM path, rare)."""
        customers = CustomerService(self.ctx)
        try:
            async with self.ctx.db.write() as session:
                return await customers.ensure_in(session, telegram_id, name, username, language_code)
        except IntegrityError:  # their other first update created them a moment ago
            return await customers.ensure(telegram_id, name, username, language_code)

    async def _begin_journaled(self, update_id: int, telegram_id: int, name: str,
                               username: str | None, language_code: str | None) -> TurnStart | None:
        """begin_turn on a SQLite file: the claim commits on its own, then one read."""
        assert self.journal is not None and self.turns is not None
        if not await self.journal.claim(update_id, self.ctx.clock.now()):
            return None
        cached = self.turns.get(telegram_id)
        if cached is not None:
            return cached
        epoch = self.turns.seen
        found = self.journal.turn(telegram_id)
        if found is None:
            customer = await self._new_customer(telegram_id, name, username, language_code)
            state = self.journal.state(telegram_id)
        else:
            customer, state = CustomerView(*found[0]), found[1]
        start = TurnStart(customer, _state_of(state))
        self.turns.put(start.customer, start.state, epoch)
        return start

    async def load(self, user_id: int) -> State:
        """The user's state (empty when they have none)."""
        if self.journal is not None:
            return _state_of(self.journal.state(user_id))
        async with self.ctx.db.read() as session:
            return _state(await session.scalar(select(ConversationState).where(
                ConversationState.user_id == user_id)))

    async def save(self, user_id: int, state: State) -> None:
        """Store the user's state (upsert)."""
        if len(json.dumps(state.data, default=str)) > MAX_STATE_BYTES:
            raise ValueError("conversation state too large")
        if self.journal is not None and self.turns is not None:
            await self.journal.save(user_id, state.name, state.data, self.ctx.clock.now())
            return self.turns.stored(user_id, state)
        if self.postgres is not None:
            return await self.postgres.save(user_id, state.name, state.data, self.ctx.clock.now())
        values = {"user_id": user_id, "state": state.name, "data": state.data,
                  "updated_at": self.ctx.clock.now()}
        stmt = self._insert()(ConversationState).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"state": stmt.excluded.state, "data": stmt.excluded.data,
                  "updated_at": stmt.excluded.updated_at})
        async with self.ctx.db.write() as session:
            await session.execute(stmt)

    async def clear(self, user_id: int) -> None:
        """Forget the user's state."""
        if self.journal is not None and self.turns is not None:
            await self.journal.clear(user_id)
            return self.turns.stored(user_id, None)
        async with self.ctx.db.write() as session:
            await session.execute(delete(ConversationState).where(
                ConversationState.user_id == user_id))

    # pruning (issue 19) ----------------------------------------------------------------------
    async def prune(self, before: datetime) -> int:
        """Forget updates handled before `before`: they are kept only to drop Telegram's
        redeliveries. The number of rows deleted."""
        async with self.ctx.db.write() as session:
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
            return int(result.rowcount)  # type: ignore[attr-defined]
