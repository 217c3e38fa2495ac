"""Claims, leases and their renewal: what makes the outbox lose nothing and send once.

On SQLite and PostgreSQL; the sender's renderer is a stand-in that records what it was given.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.outbox_sender import STOP_GRACE, OutboxSender
from handlers.notifications import Notifications
from services.clock import FakeClock
from services.container import Services, build_services
from services.outbox import OutgoingMessage
from tests.reliability.outbox_rows import queue, statuses

LEASE = timedelta(seconds=60)


class Screen:
    """A renderer that shows nothing; each reply waits for `gate` (open unless closed)."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def one(self, reply: Any) -> int:
        await self.gate.wait()
        self.sent.append(reply.chat_id)
        return len(self.sent)


async def test_a_claimed_row_is_nobody_elses_until_its_lease_runs_out(
        svc: Services, clock: FakeClock) -> None:
    await queue(svc.ctx.db, [1, 2], clock.now())
    first = await svc.outbox.claim(10, LEASE)
    assert [m.chat_id for m in first] == [1, 2] and {m.attempts for m in first} == {1}
    assert await svc.outbox.claim(10, LEASE) == []
    await svc.outbox.mark_sent(first[0].id)
    clock.advance(LEASE)  # the sender died before marking the second one
    again = await svc.outbox.claim(10, LEASE)
    assert [(m.chat_id, m.attempts) for m in again] == [(2, 2)]


async def test_renewed_leases_are_kept_and_a_taken_over_row_is_not_renewed(
        svc: Services, clock: FakeClock) -> None:
    await queue(svc.ctx.db, [1], clock.now())
    [mine] = await svc.outbox.claim(10, LEASE)
    clock.advance(seconds=50)
    until, renewed = await svc.outbox.renew([mine.id], mine.claimed_until, LEASE)  # type: ignore[arg-type]
    assert renewed == {mine.id}
    clock.advance(seconds=20)
    assert await svc.outbox.claim(10, LEASE) == []  # 70s after the claim, still ours
    clock.advance(LEASE)
    [theirs] = await svc.outbox.claim(10, LEASE)  # we stalled: another sender took it over
    assert (await svc.outbox.renew([mine.id], until, LEASE))[1] == set()
    assert theirs.claimed_until != until


async def test_a_claim_takes_a_few_rows_per_chat_and_none_of_a_busy_chat(
        svc: Services, clock: FakeClock) -> None:
    await queue(svc.ctx.db, [-100] * 10 + [5, 6], clock.now())
    first = await svc.outbox.claim(50, LEASE)
    assert [m.chat_id for m in first] == [-100, -100, -100, 5, 6]
    assert await svc.outbox.claim(50, LEASE) == []  # the group is busy: its rows wait, in order
    for m in first:
        await svc.outbox.mark_sent(m.id)
    second = await svc.outbox.claim(50, LEASE)
    assert [m.id for m in second] == [first[2].id + 1, first[2].id + 2, first[2].id + 3]


async def test_two_senders_claiming_at_once_never_share_a_row(svc: Services, clock: FakeClock) -> None:
    await queue(svc.ctx.db, list(range(1, 201)), clock.now())
    other = build_services(svc.ctx)
    claims = await asyncio.gather(*(s.outbox.claim(30, LEASE) for s in (svc, other) * 4))
    ids = [m.id for claim in claims for m in claim]
    assert len(ids) == len(set(ids)) == 200


async def test_a_slow_batch_keeps_its_leases_and_is_sent_once(svc: Services, clock: FakeClock) -> None:
    await queue(svc.ctx.db, [1, 2, 3], clock.now())
    screen = Screen()
    screen.gate.clear()  # the rate limiter holds every message back
    sender = OutboxSender(svc.outbox, screen.one, Notifications(svc.ctx), lease=timedelta(seconds=0.3))
    running = asyncio.create_task(sender.run())
    try:
        for _ in range(6):  # twice the lease passes while they wait
            await asyncio.sleep(0.15)
            clock.advance(seconds=0.1)
            assert await svc.outbox.claim(10, LEASE) == []
        screen.gate.set()
        while (await statuses(svc.ctx.db)).get("sent", 0) < 3:
            await asyncio.sleep(0.02)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert sorted(screen.sent) == [1, 2, 3]


async def test_a_stopped_sender_hands_its_unsent_rows_back(svc: Services, clock: FakeClock) -> None:
    await queue(svc.ctx.db, [1, 2], clock.now())
    screen = Screen()
    screen.gate.clear()
    sender = OutboxSender(svc.outbox, screen.one, Notifications(svc.ctx))
    running = asyncio.create_task(sender.run())
    while not sender._held:  # wait until it holds the rows
        await asyncio.sleep(0.01)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert screen.sent == []
    assert [m.chat_id for m in await svc.outbox.claim(10, LEASE)] == [1, 2]  # at once, not in 60s


async def test_a_stop_during_a_claim_sends_or_hands_back_what_it_took(
        svc: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopping while the database answers a claim: the claimed rows are not left leased to a
    sender that is gone (a restart would send them only once the lease ran out)."""
    await queue(svc.ctx.db, [1, 2, 3], clock.now())
    screen = Screen()
    screen.gate.clear()  # nothing goes out: every claimed row must come back
    sender = OutboxSender(svc.outbox, screen.one, Notifications(svc.ctx))
    claim, in_claim = svc.outbox.claim, asyncio.Event()

    async def slow_claim(limit: int, lease: timedelta) -> list[OutgoingMessage]:
        in_claim.set()
        taken = await claim(limit, lease)  # committed: these rows are leased now
        await asyncio.sleep(0.2)  # the answer still on its way
        return taken

    monkeypatch.setattr(svc.outbox, "claim", slow_claim)
    running = asyncio.create_task(sender.run())
    await in_claim.wait()
    sender.request_stop()
    await asyncio.wait_for(running, timeout=STOP_GRACE + 2)  # ends by itself
    monkeypatch.setattr(svc.outbox, "claim", claim)
    assert screen.sent == []
    assert [m.chat_id for m in await svc.outbox.claim(10, LEASE)] == [1, 2, 3]


async def test_the_backlog_and_the_age_of_its_oldest_row(svc: Services, clock: FakeClock) -> None:
    """What /metrics reports as shopbot_outbox_backlog and shopbot_outbox_oldest_seconds."""
    assert await svc.outbox.backlog() == (0, 0.0)
    await queue(svc.ctx.db, [1], clock.now())
    clock.advance(seconds=30)
    await queue(svc.ctx.db, [2, 3], clock.now())
    clock.advance(seconds=15)
    assert await svc.outbox.backlog() == (3, 45.0)
    oldest = (await svc.outbox.claim(1, LEASE))[0]
    assert await svc.outbox.backlog() == (3, 45.0)  # leased is not sent
    await svc.outbox.mark_sent(oldest.id)
    assert await svc.outbox.backlog() == (2, 15.0)
