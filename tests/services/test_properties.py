"""Property tests: random (state, event) sequences keep the invariants; refused events change nothing."""
from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import models
from models import OrderStatus as S
from models import Payment, Refund, ReservationStatus, Stock, StockReservation
from services.clock import FakeClock
from services.container import Services, build_services
from services.errors import InvalidTransition, ServiceError
from services.orders.lifecycle import ALLOWED, move
from tests.conftest import TEST_RULES, make_context
from tests.databases import open_test_database
from tests.shop import buyer, pay, place, seed_shop

EVENTS = [
    "pay", "pay_again", "pay_wrong_amount", "customer_cancel", "merchant_cancel", "confirm",
    "reject", "pack", "ship", "deliver", "confirm_receipt", "lose_stock", "restock",
    "timer_expire", "timer_complete", "timer_archive",
]
# Events that must be refused unless the order is in one of these states (design/order-lifecycle.md,
# written out here rather than read from the code under test).
NEEDS = {
    "customer_cancel": {S.PENDING_PAYMENT, S.OUT_OF_STOCK, S.AWAITING_REVIEW, S.AWAITING_SHIPMENT},
    "merchant_cancel": {S.OUT_OF_STOCK, S.AWAITING_REVIEW, S.AWAITING_SHIPMENT},
    "confirm": {S.AWAITING_REVIEW},
    "reject": {S.AWAITING_REVIEW},
    "pack": {S.AWAITING_SHIPMENT},
    "ship": {S.AWAITING_SHIPMENT},
    "deliver": {S.SHIPPED},
    "confirm_receipt": {S.DELIVERED},
}


async def snapshot(svc: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused event changed nothing."""
    out = {}
    async with svc.ctx.db.read() as s:
        for table in models.Base.metadata.sorted_tables:
            rows = await s.execute(select(table))
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


async def check_invariants(svc: Services) -> None:
    async with svc.ctx.db.read() as s:
        for row in (await s.scalars(select(Stock))).all():
            assert row.on_hand >= 0 and 0 <= row.reserved <= row.on_hand
            held = await s.scalar(select(func.coalesce(func.sum(StockReservation.quantity), 0)).where(
                StockReservation.product_id == row.product_id,
                StockReservation.warehouse_id == row.warehouse_id,
                StockReservation.status == ReservationStatus.ACTIVE))
            assert row.reserved == held
        captured = await s.scalar(select(func.coalesce(func.sum(Payment.amount), 0)))
        refunded = await s.scalar(select(func.coalesce(func.sum(Refund.amount), 0))
                                  .where(Refund.status == "succeeded"))
        assert refunded <= captured


async def apply(svc: Services, clock: FakeClock, event: str, order: Any, customer_id: int) -> None:
    o = svc.orders
    match event:
        case "pay":
            await pay(svc, order, charge_id="ch_main")
        case "pay_again":
            await pay(svc, order)
        case "pay_wrong_amount":
            await pay(svc, order, amount=order.total - 1)
        case "customer_cancel":
            await o.cancel_by_customer(customer_id, order.id)
        case "merchant_cancel":
            await o.cancel_by_merchant(order.id, "admin:1", "test")
        case "confirm":
            await o.confirm(order.id, "admin:1")
        case "reject":
            await o.reject(order.id, "admin:1", "test")
        case "pack":
            await o.pack(order.id, "admin:1")
        case "ship":
            await o.ship(order.id, "admin:1", "sandbox", "SF1")
        case "deliver":
            await o.mark_delivered(order.id, "admin:1")
        case "confirm_receipt":
            await o.confirm_receipt(customer_id, order.id)
        case "lose_stock":  # a stock count finds goods missing: active reservations vanish
            from services.inventory import stock

            async with svc.ctx.db.write() as s:
                await stock.release(s, order.id, clock.now())
        case "restock":
            await svc.inventory.restock("TEA-1", "SH", 2, "admin:1")
        case "timer_expire":
            clock.advance(minutes=31)
            await svc.sweeps.expire_unpaid()
        case "timer_complete":
            clock.advance(days=8)
            await svc.sweeps.auto_complete()
        case "timer_archive":
            clock.advance(days=16)
            await svc.sweeps.archive_completed()


async def run_sequence(backend: str, method: str, events: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_test_database(backend, Path(tmp)) as db:
            clock = FakeClock()
            svc = build_services(make_context(db, TEST_RULES, clock))
            shop = await seed_shop(db)
            customer = await buyer(svc)
            order = await place(svc, customer, {shop.tea: 2, shop.mug: 1}, payment=method)
            for event in events:
                status = (await svc.orders.detail(order.id)).status
                before = await snapshot(svc)
                try:
                    await apply(svc, clock, event, order, customer.id)
                except ServiceError as exc:
                    assert await snapshot(svc) == before, f"{event} from {status} refused but changed data"
                    if event in NEEDS and S(status) not in NEEDS[event]:
                        assert isinstance(exc, InvalidTransition)  # noqa: PT017 (any event may be refused)
                else:
                    if event in NEEDS:
                        assert S(status) in NEEDS[event], f"{event} accepted from {status}"
                after = (await svc.orders.detail(order.id)).status
                assert after == status or (S(status), S(after)) in ALLOWED, (event, status, after)
                await check_invariants(svc)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(method=st.sampled_from(["sandbox", "cod"]),
       events=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=12))
async def test_random_event_sequences_keep_invariants_sqlite(method: str, events: list[str]) -> None:
    await run_sequence("sqlite", method, events)


@pytest.mark.postgres
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["sandbox", "cod"]),
       events=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=12))
async def test_random_event_sequences_keep_invariants_postgres(method: str, events: list[str]) -> None:
    await run_sequence("postgres", method, events)


STATUSES = [None, *S]


@pytest.mark.parametrize(
    ("source", "to"), [(f, t) for f, t in itertools.product(STATUSES, S) if (f, t) not in ALLOWED and f]
)
async def test_every_pair_outside_the_table_is_refused(svc: Services, source: S, to: S, clock) -> None:
    shop = await seed_shop(svc.ctx.db)
    order = await place(svc, await buyer(svc), {shop.tea: 1})
    async with svc.ctx.db.write() as s:
        await s.execute(models.Order.__table__.update().values(status=source.value))
    before = await snapshot(svc)
    with pytest.raises(InvalidTransition):
        async with svc.ctx.db.write() as s:
            await move(s, order.id, source.value, to, actor="test", now=clock.now())
    assert await snapshot(svc) == before


DESIGN_TABLE = {  # design/order-lifecycle.md, row by row
    (None, S.PENDING_PAYMENT), (None, S.AWAITING_REVIEW),
    (S.PENDING_PAYMENT, S.AWAITING_REVIEW), (S.PENDING_PAYMENT, S.AWAITING_SHIPMENT),
    (S.PENDING_PAYMENT, S.CANCELLED), (S.PENDING_PAYMENT, S.EXPIRED),
    (S.PENDING_PAYMENT, S.OUT_OF_STOCK),
    (S.OUT_OF_STOCK, S.AWAITING_REVIEW), (S.OUT_OF_STOCK, S.AWAITING_SHIPMENT),
    (S.OUT_OF_STOCK, S.CANCELLED),
    (S.AWAITING_REVIEW, S.AWAITING_SHIPMENT), (S.AWAITING_REVIEW, S.CANCELLED),
    (S.AWAITING_SHIPMENT, S.SHIPPED), (S.AWAITING_SHIPMENT, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED), (S.DELIVERED, S.COMPLETED), (S.COMPLETED, S.ARCHIVED),
}


def test_the_code_allows_exactly_the_design_table() -> None:
    assert set(ALLOWED) == DESIGN_TABLE
