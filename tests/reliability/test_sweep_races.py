"""Two sweeps of the same kind at once (two scheduler processes): each order moved, and its
customer told, exactly once. On SQLite and on PostgreSQL (FOR UPDATE SKIP LOCKED)."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from services.clock import FakeClock
from services.container import Services, build_services
from tests.reliability.orders import (
    completed,
    delivered,
    moves,
    out_of_stock,
    placed,
    set_stock,
    shipped,
    told,
)
from tests.shop import ShopData

N = 6


@pytest.fixture
def other(svc: Services) -> Services:
    """A second process: its own services over the same database and clock."""
    return build_services(svc.ctx)


async def twice(first: Callable[[], Awaitable[int]], second: Callable[[], Awaitable[int]]) -> int:
    """Run both sweeps at the same time; the total they report."""
    counts = await asyncio.gather(first(), second())
    return sum(counts)


def once_each(rows: list[tuple[int, int | None]]) -> bool:
    return len(rows) == N and set(Counter(rows).values()) == {1}


async def test_expiry(svc: Services, other: Services, shop: ShopData, clock: FakeClock) -> None:
    await placed(svc, shop, N)
    clock.advance(minutes=20, seconds=30)
    assert await twice(svc.sweeps.remind_unpaid, other.sweeps.remind_unpaid) == N
    assert once_each(await told(svc, "payment_reminder"))
    clock.advance(minutes=10)
    assert await twice(svc.sweeps.expire_unpaid, other.sweeps.expire_unpaid) == N
    assert await moves(svc, "expired") == N and once_each(await told(svc, "order_expired"))


async def test_receipt_reminder_and_auto_complete(svc: Services, other: Services, shop: ShopData,
                                                  clock: FakeClock) -> None:
    await delivered(svc, shop, N)
    clock.advance(days=6, minutes=1)
    assert await twice(svc.sweeps.remind_receipt, other.sweeps.remind_receipt) == N
    assert once_each(await told(svc, "receipt_reminder"))
    clock.advance(days=1)
    assert await twice(svc.sweeps.auto_complete, other.sweeps.auto_complete) == N
    assert await moves(svc, "completed") == N and once_each(await told(svc, "order_completed"))


async def test_archive(svc: Services, other: Services, shop: ShopData, clock: FakeClock) -> None:
    await completed(svc, shop, N)
    clock.advance(days=16)
    assert await twice(svc.sweeps.archive_completed, other.sweeps.archive_completed) == N
    assert await moves(svc, "archived") == N


async def test_tracking(svc: Services, other: Services, shop: ShopData, clock: FakeClock) -> None:
    await shipped(svc, shop, N)
    clock.advance(days=3)
    await asyncio.gather(svc.tracking.poll(), other.tracking.poll())
    assert await moves(svc, "delivered") == N
    updates = await told(svc, "tracking_update")
    assert len(updates) == 4 * N and set(Counter(updates).values()) == {4}


async def test_stock_back(svc: Services, other: Services, shop: ShopData, clock: FakeClock) -> None:
    await out_of_stock(svc, shop, N)
    await set_stock(svc, shop.mug, shop.sh, N)
    await twice(svc.inventory.sweep_back_in_stock, other.inventory.sweep_back_in_stock)
    assert await moves(svc, "awaiting_review") == N
    assert once_each(await told(svc, "order_back_in_stock"))
    assert await svc.inventory.sweep_back_in_stock() == 0
