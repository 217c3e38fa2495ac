"""PostgreSQL plans a long backlog's batches on fresh statistics: without them, orders inserted in
a burst are planned as a near-empty table and each batch walks the whole backlog (see
test_sweep_scaling.py for the plans themselves, counted on SQLite)."""
from __future__ import annotations

from sqlalchemy import text

from bench.sweeps import DUE, seed
from services.clock import FakeClock
from services.container import Services
from services.database import Database
from services.orders.sweeps import BACKLOG, OrderSweeps


async def analysed(db: Database, table: str) -> bool:
    """True once an ANALYZE ran on `table` in the test's schema (PostgreSQL)."""
    async with db.read() as session:
        return await session.scalar(text(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables"
            " WHERE schemaname = current_schema() AND relname = :table"), {"table": table})


async def test_a_long_backlog_gets_fresh_statistics_first(svc: Services, db: Database,
                                                          clock: FakeClock, backend: str) -> None:
    """One batch: no ANALYZE; BACKLOG batches: ANALYZE first. SQLite has nothing to refresh."""
    await seed(db, DUE["remind_unpaid"], BACKLOG, clock.now(), svc.ctx.rules)
    assert await OrderSweeps(svc.ctx, batch=BACKLOG).remind_unpaid() == BACKLOG  # one batch
    if backend == "postgres":
        assert not await analysed(db, "orders")
    clock.advance(svc.ctx.rules.payment_reminder_before)  # the deadlines have passed
    assert await OrderSweeps(svc.ctx, batch=1).expire_unpaid() == BACKLOG  # BACKLOG batches
    if backend == "postgres":
        assert await analysed(db, "orders") and await analysed(db, "stock_reservations")
