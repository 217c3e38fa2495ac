"""Where each user is in a conversation, stored in the database (survives restarts, shared)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from models import ConversationState, ProcessedUpdate
from services.context import ServiceContext

MAX_STATE_BYTES = 16_384


@dataclass
class State:
    """A user's step (e.g. "checkout.phone") and its draft data."""

    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class ConversationService:
    """Conversation state and once-only handling of updates."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _insert(self) -> Any:
        return postgresql.insert if self.ctx.db.is_postgres else sqlite.insert

    async def claim_update(self, update_id: int) -> bool:
        """Record an update as handled; False when it was handled before (a repeat)."""
        async with self.ctx.db.write() as session:
            stmt = (self._insert()(ProcessedUpdate)
                    .values(update_id=update_id, processed_at=self.ctx.clock.now())
                    .on_conflict_do_nothing(index_elements=["update_id"])
                    .returning(ProcessedUpdate.update_id))
            return await session.scalar(stmt) is not None

    async def load(self, user_id: int) -> State:
        """The user's state (empty when they have none)."""
        async with self.ctx.db.read() as session:
            row = await session.scalar(select(ConversationState).where(
                ConversationState.user_id == user_id))
            return State(row.state, dict(row.data or {})) if row else State()

    async def save(self, user_id: int, state: State) -> None:
        """Store the user's state (upsert)."""
        if len(json.dumps(state.data, default=str)) > MAX_STATE_BYTES:
            raise ValueError("conversation state too large")
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
        async with self.ctx.db.write() as session:
            await session.execute(delete(ConversationState).where(
                ConversationState.user_id == user_id))
