"""Each sweep's work per order stays flat as the backlog grows: linear, measured without a clock.

The work is counted in SQLite virtual-machine instructions (a progress handler on the raw
connection, called every STEP instructions) while the sweep runs, over the same kind of due
orders as bench/sweeps.py at two sizes. A plan that walks the backlog once per batch (an index
on the status instead of the ids) does more work per order the more orders are due; a linear
sweep does the same. Instruction counts are deterministic, unlike seconds on a busy machine.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import models
from bench.sweeps import DUE, SWEEPS, seed
from bot.db import create_database
from services.clock import FakeClock
from services.orders.sweeps import OrderSweeps
from tests.conftest import TEST_RULES, make_context

# Eight times the orders in small batches: a plan that walks the backlog once per batch does
# 1.9-3x the work per order at LARGE (measured), a linear one the same (1.00x).
SMALL, LARGE = 400, 3200
BATCH = 50
STEP = 100  # instructions per progress-handler call: fine enough to read 1.00x as 1.00x
MAX_GROWTH = 1.3  # per-order work at LARGE over that at SMALL


class InstructionCounter:
    """Counts SQLite VM instructions (in STEPs) on every connection of the engines, when on."""

    def __init__(self) -> None:
        self.steps = 0
        self.counting = False

    def attach(self, dbapi_connection: Any, _record: Any) -> None:
        """The engines' "connect" hook: install the handler on the raw sqlite3 connection."""
        # aiosqlite owns the sqlite3 connection in its thread; reach it through the adapter.
        dbapi_connection.run_async(lambda conn: conn.set_progress_handler(self._step, STEP))

    def _step(self) -> int:
        if self.counting:
            self.steps += 1
        return 0  # 0: let the statement go on


@asynccontextmanager
async def due_orders(path: Path, name: str, count: int,
                     counter: InstructionCounter) -> AsyncIterator[OrderSweeps]:
    """A SQLite file with `count` orders due for sweep `name`, and sweeps in batches of BATCH."""
    db, engines = create_database(f"sqlite+aiosqlite:///{path}")
    for engine in engines:  # before the first connection, so every connection counts
        event.listen(engine.sync_engine, "connect", counter.attach)
    try:
        async with engines[0].begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        ctx = make_context(db, TEST_RULES, FakeClock())
        await seed(db, DUE[name], count, ctx.clock.now(), ctx.rules)
        yield OrderSweeps(ctx, batch=BATCH)
    finally:
        for engine in engines:
            await engine.dispose()


async def work_per_order(tmp_path: Path, name: str, count: int) -> float:
    """SQLite instructions one sweep spends per due order (to within STEP per statement)."""
    counter = InstructionCounter()
    async with due_orders(tmp_path / f"{name}-{count}.db", name, count, counter) as sweeps:
        counter.counting = True
        moved = await getattr(sweeps, name)()
        counter.counting = False
    assert moved == count
    return counter.steps * STEP / count


@pytest.mark.parametrize("name", SWEEPS)
async def test_work_per_order_does_not_grow_with_the_backlog(tmp_path: Path, name: str) -> None:
    small = await work_per_order(tmp_path, name, SMALL)
    large = await work_per_order(tmp_path, name, LARGE)
    assert large <= MAX_GROWTH * small, (
        f"{name}: {large:.0f} SQLite instructions per order at {LARGE} due orders, "
        f"{small:.0f} at {SMALL} ({large / small:.2f}x)")

