"""Reading and marking outbox rows for the sender: claimed with a lease, so a crash loses nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from models import OutboxMessage, OutboxStatus
from services.context import ServiceContext

LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed outbox row."""

    id: int
    audience: str
    chat_id: int
    template: str
    language: str
    params: dict[str, Any]
    order_id: int | None
    attempts: int


class OutboxService:
    """Claim due rows, then mark each sent, retried later or failed for good."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def claim(self, limit: int = 50) -> list[OutgoingMessage]:
        """Due rows not leased by another sender; each is leased to us for LEASE."""
        now = self.ctx.clock.now()
        async with self.ctx.db.write() as session:
            query = (select(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now))
                .order_by(OutboxMessage.id).limit(limit))
            if self.ctx.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            claimed = []
            for row in rows:
                done = await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row.id,
                                                OutboxMessage.status == OutboxStatus.PENDING)
                    .values(claimed_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
                    .execution_options(synchronize_session=False))
                if done.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(OutgoingMessage(row.id, row.audience, row.chat_id, row.template,
                                                   row.language, dict(row.params), row.order_id,
                                                   row.attempts + 1))
            return claimed

    async def mark_sent(self, message_id: int) -> None:
        """Delivered."""
        await self._set(message_id, status=OutboxStatus.SENT, sent_at=self.ctx.clock.now(),
                        claimed_until=None)

    async def retry_later(self, message_id: int, delay: timedelta, error: str) -> None:
        """A passing failure: try again after `delay`."""
        await self._set(message_id, available_at=self.ctx.clock.now() + delay, claimed_until=None,
                        last_error=error[:500])

    async def mark_failed(self, message_id: int, error: str) -> None:
        """A permanent failure (blocked, chat not found): recorded, never retried."""
        await self._set(message_id, status=OutboxStatus.FAILED, claimed_until=None,
                        last_error=error[:500])

    async def _set(self, message_id: int, **values: Any) -> None:
        async with self.ctx.db.write() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                                  .values(**values).execution_options(synchronize_session=False))
