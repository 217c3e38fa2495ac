"""200 concurrent checkouts over 10 hot products: orders/s, conflicts, and nothing oversold.

    .venv/bin/python -m bench.checkout_contention                # SQLite (and PostgreSQL)
    .venv/bin/python -m bench.checkout_contention --buyers 500 --units 20 --backend sqlite

Every buyer fills a cart with one to three of the hot products (1-3 units each) and checks
out, all at once. Demand is about twice the stock, so many checkouts are refused with
OutOfStock (the "conflicts"). Afterwards the database must show: on every stock row
0 <= reserved <= on_hand, reserved equal to the sum of its active reservations, and every
placed order's lines covered exactly by its reservations; the units sold plus the units left
equal the units there were. The reference is the same checkouts one at a time.
"""
from __future__ import annotations

import argparse
import asyncio
import random
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from bench.common import (
    StatementCounter,
    Stopwatch,
    backends,
    bench_services,
    open_database,
    seed_catalogue,
    table,
)
from models import Order, OrderLine, ReservationStatus, Stock, StockReservation
from services.checkout import AddressInput, CheckoutRequest, new_checkout_key
from services.container import Services
from services.database import Database
from services.errors import OutOfStock, ServiceError

ADDRESS = AddressInput("Li Lei", "+86 138 0013 8000", "Shanghai", "Shanghai", "88 Nanjing Road",
                       "200001")
HOT = 10


@dataclass
class Outcome:
    """What a run of checkouts did."""

    placed: int
    refused: int
    errors: Counter[str]
    seconds: float
    statements: int


async def buy(svc: Services, telegram_id: int, products: list[int], rng: random.Random) -> str:
    """One buyer: cart, then checkout; "placed", "refused" (out of stock) or the error's code."""
    customer = await svc.customers.ensure(telegram_id, f"Buyer {telegram_id}", None, "en")
    for product in rng.sample(products, rng.randint(1, 3)):
        try:
            await svc.cart.add(customer.id, product, rng.randint(1, 3))
        except OutOfStock:
            return "refused"  # the card would have said so already
    try:
        await svc.checkout.place_order(customer.id, CheckoutRequest(
            new_checkout_key(), "standard", "sandbox", address=ADDRESS))
        return "placed"
    except OutOfStock:
        return "refused"
    except ServiceError as error:
        return error.code


async def run(backend: str, buyers: int, units: int, concurrent: bool) -> Outcome:
    """`buyers` checkouts (all at once, or one by one) over HOT products of `units` each."""
    async with open_database(backend) as bench:
        shop = await seed_catalogue(bench.db, categories=1, per_category=HOT, on_hand=units)
        products = [p for p, _ in shop.products[shop.categories[0][0]]]
        svc = bench_services(bench.db)
        counter = StatementCounter(bench.engines)
        watch = Stopwatch()
        jobs = [buy(svc, 70_000 + i, products, random.Random(i)) for i in range(buyers)]
        if concurrent:
            results = await asyncio.gather(*jobs)
        else:
            results = [await job for job in jobs]
        seconds = watch.seconds
        counter.close()
        await check(bench.db, units * HOT)
        tally = Counter(results)
        placed, refused = tally.pop("placed", 0), tally.pop("refused", 0)
        return Outcome(placed, refused, tally, seconds, counter.count)


async def check(db: Database, units: int) -> None:
    """Nothing oversold: reservations, stock rows and order lines agree."""
    async with db.read() as s:
        for row in await s.scalars(select(Stock)):
            assert 0 <= row.reserved <= row.on_hand, (
                f"oversold: {row.product_id} {row.reserved}/{row.on_hand}")
            held = await s.scalar(
                select(func.coalesce(func.sum(StockReservation.quantity), 0)).where(
                StockReservation.product_id == row.product_id,
                StockReservation.warehouse_id == row.warehouse_id,
                StockReservation.status == ReservationStatus.ACTIVE))
            assert held == row.reserved, (
                f"stock {row.product_id}: reserved {row.reserved}, held {held}")
        lines = dict((await s.execute(select(OrderLine.id, OrderLine.quantity))).all())
        covered = dict((await s.execute(
            select(StockReservation.order_line_id, func.sum(StockReservation.quantity))
            .where(StockReservation.status == ReservationStatus.ACTIVE)
            .group_by(StockReservation.order_line_id))).all())
        assert covered == lines, "an order line is not covered exactly by its reservations"
        orders = await s.scalar(select(func.count(Order.id)))
        with_lines = await s.scalar(select(func.count(func.distinct(OrderLine.order_id))))
        assert orders == with_lines, "an order without lines"
        on_hand = await s.scalar(select(func.sum(Stock.on_hand)))
        assert on_hand == units, f"on_hand moved: {on_hand} != {units}"


def main() -> None:
    """Concurrent and one-by-one runs on each backend."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--units", type=int, default=40, help="units of each hot product")
    parser.add_argument("--backend", default="all", choices=("sqlite", "postgres", "all"))
    args = parser.parse_args()
    rows = []
    for backend in backends(args.backend):
        for concurrent in (False, True):
            out = asyncio.run(run(backend, args.buyers, args.units, concurrent))
            mode = f"{args.buyers} at once" if concurrent else "one by one"
            rows.append([backend, mode, out.placed, out.refused,
                         ", ".join(f"{k}: {v}" for k, v in out.errors.items()) or "none",
                         out.seconds, out.placed / out.seconds, out.statements / args.buyers,
                         "yes"])
    print(f"\n{args.buyers} checkouts over {HOT} hot products of {args.units} units each:")
    print(table(["backend", "checkouts", "placed", "refused (OutOfStock)", "other errors",
                 "seconds", "orders/s", "SQL/checkout", "nothing oversold"], rows))


if __name__ == "__main__":
    main()
