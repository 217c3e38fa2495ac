"""Where each user is in a conversation, stored in the database (survives restarts, shared)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from models import ConversationState, Customer, ProcessedUpdate
from services.context import ServiceContext
from services.customers import CustomerService, CustomerView, view_of
from services.turn_journal import TurnJournal

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


def _state(row: ConversationState | None) -> State:
    return State(row.state, dict(row.data or {})) if row else State()


class ConversationService:
    """Conversation state and once-only handling of updates."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # On a SQLite file the per-update bookkeeping skips the ORM (see turn_journal).
        self.journal = TurnJournal(ctx.db) if ctx.db.raw_connect is not None else None

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

    async def _begin_journaled(self, update_id: int, telegram_id: int, name: str,
                               username: str | None, language_code: str | None) -> TurnStart | None:
        """begin_turn on a SQLite file: the claim commits on its own, then one read."""
        assert self.journal is not None
        if not await self.journal.claim(update_id, self.ctx.clock.now()):
            return None
        found = self.journal.turn(telegram_id)
        if found is None:  # a new customer: the ORM path (rare)
            async with self.ctx.db.write() as session:
                customer = await CustomerService(self.ctx).ensure_in(
                    session, telegram_id, name, username, language_code)
            state = self.journal.state(telegram_id)
        else:
            customer, state = CustomerView(*found[0]), found[1]
        return TurnStart(customer, State(state[0], dict(state[1] or {})) if state else State())

    async def load(self, user_id: int) -> State:
        """The user's state (empty when they have none)."""
        if self.journal is not None:
            found = self.journal.state(user_id)
            return State(found[0], dict(found[1] or {})) if found else State()
        async with self.ctx.db.read() as session:
            return _state(await session.scalar(select(ConversationState).where(
                ConversationState.user_id == user_id)))

    async def save(self, user_id: int, state: State) -> None:
        """Store the user's state (upsert)."""
        if len(json.dumps(state.data, default=str)) > MAX_STATE_BYTES:
            raise ValueError("conversation state too large")
        if self.journal is not None:
            return await self.journal.save(user_id, state.name, state.data, self.ctx.clock.now())
        values = {"user_id": user_id, "state": state.name, "data": state.data,
                  "updated_at": self.ctx.clock.now()}
        async with self.ctx.db.write() as session:
            stmt = self._insert()(ConversationState).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["user_id"],
                set_={"state": stmt.excluded.state, "data": stmt.excluded.data,
                      "updated_at": stmt.excluded.updated_at})
            await session.execute(stmt)

    async def clear(self, user_id: int) -> None:
        """Forget the user's state."""
        if self.journal is not None:
            return await self.journal.clear(user_id)
        async with self.ctx.db.write() as session:
            await session.execute(delete(ConversationState).where(
                ConversationState.user_id == user_id))
