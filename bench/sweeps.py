"""The scheduler's order sweeps over 10k and 100k due orders: seconds, orders/s, statements per
order.

    .venv/bin/python -m bench.sweeps                       # SQLite (and PostgreSQL when reachable)
    .venv/bin/python -m bench.sweeps --sizes 1000,10000 --backend sqlite --sweeps expire_unpaid

The due orders are inserted in bulk (core executemany), not through checkout; expiring orders
hold a real stock reservation each, so the release is part of the work. Growth from the
smaller to the larger size should be linear: the "x per 10x" column is the ratio of seconds
(10.0 is linear; more means each order costs more as the table grows). Every run checks that
each due order moved exactly once, with one event and the customer's notification.
"""
from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import StatementCounter, Stopwatch, backends, bench_services, open_database, table
from models import (
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    OutboxMessage,
    ReservationStatus,
    Stock,
    StockReservation,
)
from models import OrderStatus as S
from services.clock import FakeClock
from services.database import Database
from services.rules import ShopRules

SWEEPS = ("expire_unpaid", "remind_unpaid", "auto_complete", "remind_receipt", "archive_completed")
SIZES = (10_000, 100_000)
CHUNK = 5_000
CUSTOMERS = 1_000


@dataclass(frozen=True)
class Due:
    """How a due order of one sweep looks, and what the sweep leaves behind."""

    status: S
    fields: Callable[[datetime, ShopRules], dict[str, Any]]
    after: str | None  # the status it moves to (None: a reminder, the status stays)
    events: bool  # one order event per order
    told: bool  # one outbox message per order
    reserved: bool = False  # holds a stock reservation to release


DUE = {
    "expire_unpaid": Due(S.PENDING_PAYMENT,
                         lambda now, r: {"payment_deadline": now - timedelta(hours=1)},
                         S.EXPIRED, True, True, reserved=True),
    "remind_unpaid": Due(S.PENDING_PAYMENT, lambda now, r: {
        "payment_deadline": now + r.payment_reminder_before / 2}, None, False, True),
    "auto_complete": Due(S.DELIVERED, lambda now, r: {"receipt_deadline": now - timedelta(hours=1)},
                         S.COMPLETED, True, True),
    "remind_receipt": Due(S.DELIVERED, lambda now, r: {
        "receipt_deadline": now + r.receipt_reminder_before / 2}, None, False, True),
    "archive_completed": Due(S.COMPLETED, lambda now, r: {
        "completed_at": now - r.settlement_period - timedelta(hours=1)}, S.ARCHIVED, True, False),
}


async def seed(db: Database, due: Due, count: int, now: datetime, rules: ShopRules) -> None:
    """`count` due orders in bulk, spread over CUSTOMERS customers (with reservations if any)."""
    from bench.common import seed_catalogue

    shop = await seed_catalogue(db, categories=1, per_category=1, on_hand=count)
    product = shop.products[shop.categories[0][0]][0][0]
    async with db.write() as s:
        await s.execute(insert(Customer), [
            {"telegram_id": 50_000 + i, "name": f"C{i}", "language": "en", "created_at": now}
            for i in range(CUSTOMERS)])
        first = int(await s.scalar(select(func.min(Customer.id))) or 0)
    for start in range(0, count, CHUNK):
        rows = [{
            "number": f"B{n:09d}", "customer_id": first + n % CUSTOMERS, "status": due.status.value,
            "recipient_name": "Li Lei", "phone": "+8613800138000", "region": "Shanghai",
            "city": "Shanghai", "address_line": "88 Nanjing Road", "delivery_option": "standard",
            "subtotal": 1000, "total": 1000, "currency": "CNY", "payment_method": "sandbox",
            "created_at": now, "updated_at": now, **due.fields(now, rules),
        } for n in range(start, min(count, start + CHUNK))]
        async with db.write() as s:
            ids = list(await s.scalars(insert(Order).returning(Order.id), rows))
            if due.reserved:
                lines = list(await s.scalars(insert(OrderLine).returning(OrderLine.id), [
                    {"order_id": i, "product_id": product, "sku": "SKU", "name_en": "Goods",
                     "name_zh": "商品", "unit_price": 1000, "quantity": 1} for i in ids]))
                await s.execute(insert(StockReservation), [
                    {"order_id": i, "order_line_id": line, "product_id": product,
                     "warehouse_id": shop.warehouse, "quantity": 1,
                     "status": ReservationStatus.ACTIVE, "created_at": now}
                    for i, line in zip(ids, lines, strict=True)])
    if due.reserved:
        async with db.write() as s:
            stock = await s.get(Stock, (product, shop.warehouse))
            assert stock is not None
            stock.reserved = count


async def check(db: Database, name: str, due: Due, count: int) -> None:
    """Every due order moved once: its status, one event each, one message each, stock freed."""
    async with db.read() as s:
        if due.after is not None:
            moved = await s.scalar(select(func.count()).where(Order.status == due.after))
            assert moved == count, f"{name}: {moved} of {count} orders moved"
        events = await s.scalar(select(func.count(OrderEvent.id)))
        assert events == (count if due.events else 0), f"{name}: {events} events for {count}"
        told = await s.scalar(select(func.count(OutboxMessage.id)))
        assert told == (count if due.told else 0), f"{name}: {told} messages for {count}"
        if due.reserved:
            reserved = await s.scalar(select(func.sum(Stock.reserved)))
            assert reserved == 0, f"{name}: {reserved} units still reserved"


async def measure(backend: str, name: str, count: int) -> tuple[float, int]:
    """(seconds, statements) of one sweep over `count` due orders in a fresh database."""
    async with open_database(backend) as bench:
        clock = FakeClock()
        services = bench_services(bench.db, clock)
        due = DUE[name]
        await seed(bench.db, due, count, clock.now(), services.ctx.rules)
        counter = StatementCounter(bench.engines)
        watch = Stopwatch()
        moved = await getattr(services.sweeps, name)()
        seconds = watch.seconds
        counter.close()
        assert moved == count, f"{name} moved {moved} of {count}"
        assert await getattr(services.sweeps, name)() == 0, f"{name}: a second run moved orders"
        await check(bench.db, name, due, count)
        return seconds, counter.count


def main() -> None:
    """One table per backend: each sweep at each size."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--backend", default="all", choices=("sqlite", "postgres", "all"))
    parser.add_argument("--sweeps", default=",".join(SWEEPS))
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    for backend in backends(args.backend):
        rows = []
        for name in args.sweeps.split(","):
            previous: tuple[int, float] | None = None
            for size in sizes:
                seconds, statements = asyncio.run(measure(backend, name, size))
                growth = "-"
                if previous is not None:  # seconds ratio, scaled to a tenfold growth
                    factor = (seconds / previous[1]) * (10 / (size / previous[0]))
                    growth = f"{factor:.1f}x"
                rows.append([name, size, seconds, size / seconds, statements / size, growth])
                previous = (size, seconds)
        print(f"\nSweeps on {backend}:")
        print(table(["sweep", "due orders", "seconds", "orders/s", "SQL/order", "x per 10x"], rows))


if __name__ == "__main__":
    main()
