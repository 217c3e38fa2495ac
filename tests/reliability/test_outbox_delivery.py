"""The outbox sender against the sandbox with Telegram's flood limits on: bursts, faults and
permanent errors. The real bot (bot.app.ShopBot: limiter, request middleware, sender)."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from models import OutboxMessage
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.reliability.outbox_rows import (
    delivered,
    queue,
    refusals,
    settled,
    statuses,
    until_delivered,
)


@pytest.mark.slow
async def test_a_thousand_notifications_to_a_thousand_customers(tmp_path: Path) -> None:
    async with running_shop(tmp_path, flood_limits=True) as shop:
        chats = [shop.customer(f"C{i}").user.id for i in range(1000)]
        await queue(shop.services.ctx.db, chats, shop.clock.now())
        took = await until_delivered(shop.sandbox, set(chats), timeout=60)
        got = delivered(shop.sandbox)
        print(f"\n1000 notifications: {took:.1f}s, {1000 / took:.1f} msg/s, "
              f"{refusals(shop.sandbox, 429)} x 429")
        assert sum(got.values()) == 1000 and set(got.values()) == {1}  # none twice
        assert refusals(shop.sandbox, 429) == 0
        # The rate itself is a figure for bench/ (bench/README.md), not a timed assertion.
        assert await statuses(shop.services.ctx.db) == {"sent": 1000}


@pytest.mark.allow_refused
async def test_faults_during_a_burst_lose_nothing(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    async with running_shop(tmp_path, flood_limits=True) as shop:
        chats = [shop.customer(f"C{i}").user.id for i in range(120)]
        await queue(shop.services.ctx.db, chats, shop.clock.now())
        await until_delivered(shop.sandbox, set(chats[:20]), timeout=10)
        with caplog.at_level(logging.WARNING, logger="bot.runtimes.telegram_calls"):
            faults = [shop.sandbox.inject_fault(kind, count, method="sendMessage", retry_after=1)
                      for kind, count in (("429", 2), ("500", 4), ("502", 3), ("drop", 4))]
            await until_delivered(shop.sandbox, set(chats), timeout=60)
        assert [f.hits for f in faults] == [2, 4, 3, 4]  # every fault did happen
        got = delivered(shop.sandbox)
        assert set(got.values()) == {1} and len(got) == 120
        assert await statuses(shop.services.ctx.db) == {"sent": 120}
        assert_paused_after_429(shop, [r.created for r in caplog.records
                                       if r.getMessage().startswith("429")])


def assert_paused_after_429(shop: ShopUnderTest, times: list[float]) -> None:
    """After each 429 (retry_after=1) nothing was sent for that second: the pause is shared."""
    assert times
    sent = [c.time for c in shop.sandbox.requests("sendMessage") if c.ok]
    for at in times:
        assert not [t for t in sent if at < t < at + 0.9], "a sender did not honour the pause"


async def test_permanent_errors_are_recorded_and_not_retried(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running_shop(tmp_path) as shop:
        fine, blocker = shop.customer("Fine"), shop.customer("Blocker")
        await blocker.block()
        db = shop.services.ctx.db
        await queue(db, [fine.user.id, blocker.user.id, 777_000_001], shop.clock.now())
        await queue(db, [-100_999_999], shop.clock.now(), audience="admin",
                    template="alert_new_order", name="Li")
        with caplog.at_level(logging.INFO, logger="bot.outbox_sender"):
            assert await settled(db) == {"sent": 1, "failed": 3}
        async with db.read() as s:
            rows = {r.chat_id: r for r in await s.scalars(select(OutboxMessage))}
        assert "blocked" in (rows[blocker.user.id].last_error or "")
        assert "chat not found" in (rows[777_000_001].last_error or "")
        assert all(r.attempts == 1 for r in rows.values())  # tried once, never again
        merchant = [r for r in caplog.records if "-100999999" in r.getMessage()]
        assert merchant and merchant[0].levelno == logging.ERROR
        to_fine = [e for e in shop.sandbox.requests("sendMessage")
                   if e.params.get("chat_id") == fine.user.id]
        assert len(to_fine) == 1 and to_fine[0].ok  # the one deliverable message went out
