"""Reports: performance figures and the settlement statement, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import models
from bot.db import create_database
from models import Customer, Order, OrderEvent, OrderStatus, Payment, Refund, ReturnRequest
from services.database import Database
from services.errors import InvalidInput
from services.reports import format_amount, performance, settlement, settlement_csv

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
TWO_DAYS = timedelta(days=2)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in January 2026, UTC."""
    return JAN.replace(day=day, hour=hour, minute=minute)


async def _postgres_database() -> AsyncIterator[Database]:
    url = os.environ.get("SHOPBOT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SHOPBOT_TEST_POSTGRES_URL is not set, so the PostgreSQL run is skipped")
    schema = f"t_{uuid4().hex}"
    admin_engines = create_database(url)[1]
    try:
        async with admin_engines[0].begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (OSError, SQLAlchemyError) as exc:
        await admin_engines[0].dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at SHOPBOT_TEST_POSTGRES_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at SHOPBOT_TEST_POSTGRES_URL is unreachable: {exc}")
    db, engines = create_database(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engines[0].begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        yield db
    finally:
        for engine in engines:
            await engine.dispose()
        async with admin_engines[0].begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin_engines[0].dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "postgres":
        async for database in _postgres_database():
            yield database
        return
    database, engines = create_database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with engines[0].begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
    yield database
    for engine in engines:
        await engine.dispose()


class Shop:
    """Writes orders and their ledgers straight into the tables, as the services would."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.customer_id: int | None = None
        self.count = 0

    async def _customer(self) -> int:
        if self.customer_id is None:
            async with self.db.write() as s:
                customer = Customer(telegram_id=1, name="张三")
                s.add(customer)
                await s.flush()
                self.customer_id = customer.id
        return self.customer_id

    async def order(
        self, status: OrderStatus, created: datetime, *, paid: datetime | None = None,
        cod: bool = False, **fields: Any,
    ) -> int:
        """An order; `paid` adds the pending_payment -> awaiting_shipment event at that time."""
        customer_id = await self._customer()
        self.count += 1
        async with self.db.write() as s:
            order = Order(
                number=fields.pop("number", f"SO-{self.count:04d}"), customer_id=customer_id,
                status=status, recipient_name="张三", phone="13800138000", region="广东省",
                city="深圳市", address_line="南山区 1 号", delivery_option="standard",
                subtotal=10000, total=10000, currency="CNY",
                payment_method="cod" if cod else "sandbox", created_at=created, **fields,
            )
            s.add(order)
            await s.flush()
            first = OrderStatus.AWAITING_REVIEW if cod else OrderStatus.PENDING_PAYMENT
            s.add(OrderEvent(order_id=order.id, actor="customer", from_status=None,
                             to_status=first, created_at=created))
            if paid is not None:
                s.add(OrderEvent(order_id=order.id, actor="provider", from_status=first,
                                 to_status=OrderStatus.AWAITING_SHIPMENT, created_at=paid))
            return order.id

    async def payment(self, order_id: int, amount: int, when: datetime) -> int:
        """A captured payment."""
        async with self.db.write() as s:
            payment = Payment(order_id=order_id, provider="sandbox", amount=amount,
                              provider_charge_id=uuid4().hex, currency="CNY", created_at=when)
            s.add(payment)
            await s.flush()
            return payment.id

    async def refund(self, payment_id: int, order_id: int, amount: int, when: datetime,
                     status: str = "succeeded") -> None:
        """A refund of part of a payment."""
        async with self.db.write() as s:
            s.add(Refund(payment_id=payment_id, order_id=order_id, amount=amount,
                         status=status, created_at=when))

    async def return_request(self, order_id: int, kind: str, status: str,
                             satisfied: bool | None = None, when: datetime = JAN) -> None:
        """An after-sales request in the given state (approved or rejected on the way there)."""
        rejected = status == "rejected"
        approved = status not in ("requested", "rejected")
        async with self.db.write() as s:
            s.add(ReturnRequest(order_id=order_id, customer_id=await self._customer(), kind=kind,
                                status=status, reason="", satisfied=satisfied,
                                created_at=when, updated_at=when,
                                approved_at=when if approved else None,
                                rejected_at=when if rejected else None))


@pytest.fixture
def shop(db: Database) -> Shop:
    return Shop(db)


async def test_one_order_on_time_and_one_late_make_half(shop: Shop) -> None:
    S = OrderStatus
    await shop.order(S.SHIPPED, at(5), paid=at(5, 10), shipped_at=at(7, 10))  # exactly 2 days
    await shop.order(S.SHIPPED, at(5), paid=at(5, 10), shipped_at=at(7, 10, 1))  # a minute late
    report = await performance(shop.db, JAN, FEB, TWO_DAYS)
    assert (report.shipped, report.shipped_on_time, report.overdue_unshipped) == (2, 1, 0)
    assert report.on_time_shipping_rate == 0.5


async def test_on_time_counts_cod_from_placing_and_overdue_unshipped_orders(shop: Shop) -> None:
    S = OrderStatus
    await shop.order(S.SHIPPED, at(5), paid=at(6), shipped_at=at(7))  # on time from payment
    await shop.order(S.SHIPPED, at(10), cod=True, shipped_at=at(13))  # COD: late from placing
    await shop.order(S.AWAITING_SHIPMENT, at(20), paid=at(20))  # deadline 22nd passed: overdue
    await shop.order(S.AWAITING_SHIPMENT, at(31), paid=at(31))  # deadline after the period
    await shop.order(S.PENDING_PAYMENT, at(3))  # never payable
    await shop.order(S.CANCELLED, at(3), paid=at(3))  # cancelled before shipping
    await shop.order(S.DELIVERED, at(1, 0) - timedelta(days=5), paid=at(1, 0) - timedelta(days=5),
                     shipped_at=at(1, 0) - timedelta(days=1))  # shipped in December

    report = await performance(shop.db, JAN, FEB, TWO_DAYS)
    assert report.orders_placed == 6
    assert (report.shipped, report.shipped_on_time, report.overdue_unshipped) == (2, 1, 1)
    assert report.on_time_shipping_rate == pytest.approx(1 / 3)

    # Mid-period, the order paid on the 20th is not overdue yet.
    midway = await performance(shop.db, JAN, FEB, TWO_DAYS, now=at(21))
    assert midway.overdue_unshipped == 0 and midway.on_time_shipping_rate == 0.5


async def test_accuracy_and_after_sales_satisfaction(shop: Shop) -> None:
    S = OrderStatus
    ok = await shop.order(S.DELIVERED, at(2), paid=at(2), shipped_at=at(3))
    wrong = await shop.order(S.DELIVERED, at(2), paid=at(2), shipped_at=at(3))
    refunded_only = await shop.order(S.DELIVERED, at(2), paid=at(2), shipped_at=at(3))
    await shop.return_request(ok, "return", "rejected")
    await shop.return_request(wrong, "exchange", "closed", satisfied=True, when=at(10))
    await shop.return_request(refunded_only, "refund", "closed", satisfied=False, when=at(11))
    await shop.return_request(ok, "return", "closed", satisfied=None, when=at(12))  # not rated
    await shop.return_request(ok, "return", "requested", satisfied=True, when=at(12))  # open

    report = await performance(shop.db, JAN, FEB, TWO_DAYS)
    # "ok" got an accepted return too (the closed one): only refunded_only stays accurate.
    assert (report.shipped, report.accurate_orders) == (3, 1)
    assert report.order_accuracy_rate == pytest.approx(1 / 3)
    assert (report.after_sales_rated, report.after_sales_satisfied) == (2, 1)
    assert report.after_sales_satisfaction == 0.5


async def test_sales_of_the_period(shop: Shop) -> None:
    S = OrderStatus
    first = await shop.order(S.SHIPPED, at(2), paid=at(2))
    second = await shop.order(S.SHIPPED, at(3), paid=at(3))
    old = await shop.order(S.COMPLETED, at(1, 0) - timedelta(days=3))
    pay = await shop.payment(first, 10_000, at(2))
    await shop.payment(second, 20_001, at(3))
    old_pay = await shop.payment(old, 5_000, at(1, 0) - timedelta(days=3))
    await shop.refund(pay, first, 3_000, at(4))
    await shop.refund(pay, first, 1_000, at(4), status="failed")
    await shop.refund(old_pay, old, 500, at(5))  # a refund in January of a December payment

    sales = (await performance(shop.db, JAN, FEB, TWO_DAYS)).sales
    assert (sales.captured, sales.refunded, sales.net) == (30_001, 3_500, 26_501)
    assert (sales.paid_orders, sales.average_order_value) == (2, 15_001)  # 15000.5 rounds up


async def settled_month(shop: Shop) -> None:
    """Three orders completed in January (one archived), and some that must stay out."""
    S = OrderStatus
    partly = await shop.order(S.COMPLETED, at(2), number="SO-A", completed_at=at(10))
    pay = await shop.payment(partly, 12_345, at(2))
    await shop.refund(pay, partly, 2_345, at(12))
    await shop.refund(pay, partly, 100, at(12), status="failed")
    whole = await shop.order(S.ARCHIVED, at(3), number="SO-B", completed_at=at(11))
    await shop.payment(whole, 20_000, at(3))
    await shop.payment(whole, 5_000, at(4))  # a second payment for the same order
    half = await shop.order(S.COMPLETED, at(4), number="SO-C", completed_at=at(12, 8, 30))
    await shop.payment(half, 1_250, at(4))  # fee 7.5 -> 8
    late = await shop.order(S.COMPLETED, at(5), number="SO-D", completed_at=FEB)
    await shop.payment(late, 9_999, at(5))
    await shop.order(S.DELIVERED, at(5), number="SO-E", completed_at=at(20))


async def test_settlement_figures_with_partial_refund_and_fee_rounding(shop: Shop) -> None:
    await settled_month(shop)
    statement = await settlement(shop.db, JAN, FEB)
    assert [(r.order_number, r.paid, r.refunds, r.fee, r.net) for r in statement.rows] == [
        ("SO-A", 12_345, 2_345, 74, 9_926),  # 74.07 -> 74
        ("SO-B", 25_000, 0, 150, 24_850),
        ("SO-C", 1_250, 0, 8, 1_242),  # 7.5 -> 8, half up
    ]
    assert (statement.paid, statement.refunds, statement.fees, statement.net) == (
        38_595, 2_345, 232, 36_018,
    )
    assert statement.currency == "CNY" and statement.fee_rate == Decimal("0.006")
    assert statement.rows[0].completed_at == at(10)
    assert await settlement(shop.db, JAN, FEB, Decimal("0.006")) == statement


async def test_settlement_csv_text(shop: Shop) -> None:
    await settled_month(shop)
    csv_text = settlement_csv(await settlement(shop.db, JAN, FEB))
    assert csv_text == (
        "order_number,completed_at,currency,paid,refunds,fees,net\r\n"
        "SO-A,2026-01-10T09:00:00+00:00,CNY,123.45,23.45,0.74,99.26\r\n"
        "SO-B,2026-01-11T09:00:00+00:00,CNY,250.00,0.00,1.50,248.50\r\n"
        "SO-C,2026-01-12T08:30:00+00:00,CNY,12.50,0.00,0.08,12.42\r\n"
        "TOTAL,,CNY,385.95,23.45,2.32,360.18\r\n"
    )


async def test_empty_period_has_no_rates_and_zero_totals(shop: Shop) -> None:
    await settled_month(shop)
    empty_start, empty_end = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
    report = await performance(shop.db, empty_start, empty_end, TWO_DAYS)
    assert report.orders_placed == report.shipped == report.overdue_unshipped == 0
    assert report.on_time_shipping_rate is None
    assert report.order_accuracy_rate is None
    assert report.after_sales_satisfaction is None
    assert report.sales.captured == report.sales.net == report.sales.paid_orders == 0
    assert report.sales.average_order_value is None
    statement = await settlement(shop.db, empty_start, empty_end)
    assert statement.rows == () and statement.paid == statement.net == statement.fees == 0
    assert settlement_csv(statement) == (
        "order_number,completed_at,currency,paid,refunds,fees,net\r\n"
        "TOTAL,,,0.00,0.00,0.00,0.00\r\n"
    )


@pytest.mark.parametrize("rate", [-0.1, 1, Decimal("NaN"), 1.5])
async def test_settlement_refuses_a_nonsense_fee_rate(db: Database, rate: Any) -> None:
    with pytest.raises(InvalidInput):
        await settlement(db, JAN, FEB, rate)


@pytest.mark.parametrize(
    ("minor", "shown"), [(0, "0.00"), (5, "0.05"), (12345, "123.45"), (-5, "-0.05"),
                         (-12345, "-123.45"), (100, "1.00")],
)
def test_amounts_have_two_decimal_places(minor: int, shown: str) -> None:
    assert format_amount(minor) == shown
