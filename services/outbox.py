"""Reading and marking outbox rows for the sender: claimed with a lease, so a crash loses nothing.

A claim stamps `claimed_until` (a lease) on due rows in one transaction; the sender then sends
and marks each row. A sender that dies mid-way leaves its rows leased: when the lease runs out
another sender (or the same one restarted) claims them again, so nothing is lost and a row is
sent twice only if the crash fell between the send and its mark. A live sender renews the
leases of the rows it still holds, so a slow, rate-limited batch is never taken from it.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from models import OutboxMessage, OutboxStatus
from services.context import ServiceContext

LEASE = timedelta(seconds=60)
PER_CHAT = 3  # rows of one chat per claim: a few, the chat's own limit paces them anyway
SCAN = 10  # a claim of n looks at the oldest n * SCAN due rows, not the whole backlog
MAX_ERROR = 500


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed outbox row; `claimed_until` is the lease the claim stamped on it."""

    id: int
    audience: str
    chat_id: int
    template: str
    language: str
    params: dict[str, Any]
    order_id: int | None
    attempts: int
    claimed_until: datetime | None = None


@dataclass(frozen=True)
class OutboxCounts:
    """Rows by state (for health checks and tests)."""

    pending: int
    leased: int
    sent: int
    failed: int


class OutboxService:
    """Claim due rows, then mark each sent, retried later or failed for good."""

    def __init__(self, ctx: ServiceContext, lease: timedelta = LEASE) -> None:
        self.ctx = ctx
        self.lease = lease

    async def claim(self, limit: int = 50, lease: timedelta | None = None,
                    per_chat: int = PER_CHAT) -> list[OutgoingMessage]:
        """Due rows, oldest first, each leased to us; at most `per_chat` for one chat, and none
        for a chat that already has rows in flight (so one busy group cannot hold every slot,
        and a chat's messages go out in order even with several senders)."""
        now = self.ctx.clock.now()
        until = now + (lease or self.lease)
        claimable = (OutboxMessage.status == OutboxStatus.PENDING,
                     OutboxMessage.available_at <= now,
                     or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now))
        busy = select(OutboxMessage.chat_id).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.claimed_until > now)
        due = (select(OutboxMessage.id, OutboxMessage.chat_id)
               .where(*claimable, OutboxMessage.chat_id.not_in(busy))
               .order_by(OutboxMessage.id).limit(limit * SCAN).subquery())
        ranked = select(due.c.id, func.row_number().over(
            partition_by=due.c.chat_id, order_by=due.c.id).label("n")).subquery()
        # `claimable` again on the locked rows: PostgreSQL re-checks a row's own conditions
        # when another claim changed it meanwhile, but not a subquery's.
        query = (select(OutboxMessage.id).where(
            *claimable, OutboxMessage.id.in_(select(ranked.c.id).where(ranked.c.n <= per_chat)))
            .order_by(OutboxMessage.id).limit(limit))
        async with self.ctx.db.write() as session:
            if self.ctx.db.is_postgres:
                # Rows another sender is claiming right now are skipped, not waited for.
                query = query.with_for_update(skip_locked=True)
            ids = list((await session.scalars(query)).all())
            if not ids:
                return []
            # Guarded as well: a row is leased only if it is still claimable.
            got = await session.scalars(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids), *claimable)
                .values(claimed_until=until, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage).execution_options(synchronize_session=False))
            rows = sorted(got.all(), key=lambda r: r.id)
            return [OutgoingMessage(r.id, r.audience, r.chat_id, r.template, r.language,
                                    dict(r.params), r.order_id, r.attempts, until)
                    for r in rows]

    async def renew(self, ids: Collection[int], held_until: datetime,
                    lease: timedelta | None = None) -> tuple[datetime, set[int]]:
        """Extend our lease on rows still pending and still ours: (new lease, ids renewed).

        "Ours" means the lease is the one we stamped: a row whose lease ran out and that another
        sender claimed since carries that sender's lease and is left alone.
        """
        until = self.ctx.clock.now() + (lease or self.lease)
        if not ids:
            return until, set()
        async with self.ctx.db.write() as session:
            renewed = await session.scalars(
                update(OutboxMessage).where(
                    OutboxMessage.id.in_(list(ids)), OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.claimed_until == held_until)
                .values(claimed_until=until).returning(OutboxMessage.id)
                .execution_options(synchronize_session=False))
            return until, set(renewed.all())

    async def release(self, ids: Collection[int], held_until: datetime) -> None:
        """Hand rows back unsent (a sender stopping): claimable again at once."""
        if not ids:
            return
        async with self.ctx.db.write() as session:
            await session.execute(
                update(OutboxMessage).where(
                    OutboxMessage.id.in_(list(ids)), OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.claimed_until == held_until)
                .values(claimed_until=None).execution_options(synchronize_session=False))

    async def mark_sent(self, message_id: int) -> None:
        """Delivered."""
        await self._set(message_id, status=OutboxStatus.SENT, sent_at=self.ctx.clock.now(),
                        claimed_until=None)

    async def retry_later(self, message_id: int, delay: timedelta, error: str) -> None:
        """A passing failure: try again after `delay`."""
        await self._set(message_id, available_at=self.ctx.clock.now() + delay, claimed_until=None,
                        last_error=error[:MAX_ERROR])

    async def mark_failed(self, message_id: int, error: str) -> None:
        """A permanent failure (blocked, chat not found): recorded, never retried."""
        await self._set(message_id, status=OutboxStatus.FAILED, claimed_until=None,
                        last_error=error[:MAX_ERROR])

    async def prune_sent(self, before: datetime) -> int:
        """Delete rows sent before `before` (failed and pending rows stay); how many went."""
        async with self.ctx.db.write() as session:
            result = await session.execute(
                delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT,
                                            OutboxMessage.sent_at < before))
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def counts(self) -> OutboxCounts:
        """How many rows are pending (of them leased now), sent and failed."""
        now = self.ctx.clock.now()
        async with self.ctx.db.read() as session:
            rows = dict((await session.execute(
                select(OutboxMessage.status, func.count(OutboxMessage.id))
                .group_by(OutboxMessage.status))).all())
            leased = await session.scalar(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.claimed_until > now))
        return OutboxCounts(int(rows.get(OutboxStatus.PENDING, 0)), int(leased or 0),
                            int(rows.get(OutboxStatus.SENT, 0)),
                            int(rows.get(OutboxStatus.FAILED, 0)))

    async def backlog(self) -> tuple[int, float]:
        """Rows waiting to be sent, and the age in seconds of the oldest (0 with none)."""
        async with self.ctx.db.read() as session:
            waiting, oldest = (await session.execute(
                select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at))
                .where(OutboxMessage.status == OutboxStatus.PENDING))).one()
        if oldest is None:
            return int(waiting or 0), 0.0
        return int(waiting), max(0.0, (self.ctx.clock.now() - oldest).total_seconds())

    async def _set(self, message_id: int, **values: Any) -> None:
        async with self.ctx.db.write() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                                  .values(**values).execution_options(synchronize_session=False))
