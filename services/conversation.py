"""Where each user is in a conversation, and which updates were handled (with their replies)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from models import ConversationState, Customer, ProcessedUpdate
from services.context import ServiceContext
from services.customers import CustomerService, CustomerView, view_of

MAX_STATE_BYTES = 16_384


@dataclass
class State:
    """A user's step (e.g. "checkout.phone") and its draft data."""

    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnStart:
    """The customer of an update not handled yet, and their stored state."""

    customer: CustomerView
    state: State


@dataclass(frozen=True)
class Handled:
    """An update handled before: the replies its turn made (stored as JSON)."""

    replies: list[Any]


class AlreadyHandled(Exception):
    """Another delivery of this update committed first: this turn must roll back."""


def _state(row: ConversationState | None) -> State:
    return State(row.state, dict(row.data or {})) if row else State()


class ConversationService:
    """Conversation state, and the record of handled updates that makes each update's effects
    happen once.

    Call these inside `db.turn()`: the record of an update is written (`finish`) in the
    transaction of the turn's effects, so both commit or neither does.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        insert = postgresql.insert if ctx.db.is_postgres else sqlite.insert
        self._insert = insert

    async def handled(self, update_id: int) -> Handled | None:
        """The update's stored replies when it was handled before, else None."""
        async with self.ctx.db.read() as session:
            replies = await session.scalar(select(ProcessedUpdate.replies).where(
                ProcessedUpdate.update_id == update_id))
        return None if replies is None else Handled(list(replies))

    async def begin(self, update_id: int, telegram_id: int, name: str, username: str | None,
                    language_code: str | None) -> TurnStart | Handled:
        """A private chat's update: whether it was handled, and its customer (created on first
        contact) with their state, in one query on the way every update takes."""
        done = (select(ProcessedUpdate.replies)
                .where(ProcessedUpdate.update_id == update_id).scalar_subquery())
        async with self.ctx.db.read() as session:
            found = (await session.execute(
                select(done, Customer, ConversationState).select_from(Customer)
                .outerjoin(ConversationState, ConversationState.user_id == Customer.telegram_id)
                .where(Customer.telegram_id == telegram_id))).first()
        if found is not None:
            if found[0] is not None:
                return Handled(list(found[0]))
            return TurnStart(view_of(found[1]), _state(found[2]))
        handled = await self.handled(update_id)  # a first contact (or a customer erased)
        if handled is not None:
            return handled
        async with self.ctx.db.write() as session:
            customer = await CustomerService(self.ctx).ensure_in(
                session, telegram_id, name, username, language_code)
        return TurnStart(customer, State())

    async def finish(self, update_id: int, replies: list[Any]) -> None:
        """Record the update as handled, with its replies, in the turn's transaction; when
        another delivery of the update committed first, AlreadyHandled rolls this turn back.

        A turn that wrote nothing is not recorded: it changed nothing, so handling its update
        again (Telegram's redelivery after a crash) only shows the same screens again.
        """
        if not self.ctx.db.turn_wrote():
            return
        claim = (self._insert(ProcessedUpdate)
                 .values(update_id=update_id, processed_at=self.ctx.clock.now(), replies=replies)
                 .on_conflict_do_nothing(index_elements=["update_id"])
                 .returning(ProcessedUpdate.update_id))
        async with self.ctx.db.write(savepoint=False) as session:
            if await session.scalar(claim) is None:
                raise AlreadyHandled(update_id)

    async def prune(self, before: datetime) -> int:
        """Forget updates handled before `before` (Telegram redelivers within a day)."""
        async with self.ctx.db.write() as session:
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def load(self, user_id: int) -> State:
        """The user's state (empty when they have none)."""
        async with self.ctx.db.read() as session:
            return _state(await session.scalar(select(ConversationState).where(
                ConversationState.user_id == user_id)))

    async def save(self, user_id: int, state: State) -> None:
        """Store the user's state (upsert)."""
        if len(json.dumps(state.data, default=str)) > MAX_STATE_BYTES:
            raise ValueError("conversation state too large")
        stmt = self._insert(ConversationState).values(
            user_id=user_id, state=state.name, data=state.data, updated_at=self.ctx.clock.now())
        stmt = stmt.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"state": stmt.excluded.state, "data": stmt.excluded.data,
                  "updated_at": stmt.excluded.updated_at})
        async with self.ctx.db.write(savepoint=False) as session:  # fails the turn if it fails
            await session.execute(stmt)

    async def clear(self, user_id: int) -> None:
        """Forget the user's state."""
        async with self.ctx.db.write() as session:
            await session.execute(delete(ConversationState).where(
                ConversationState.user_id == user_id))
