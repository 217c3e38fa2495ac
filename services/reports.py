"""Merchant reports: performance figures and the settlement statement, aggregated in SQL."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models import Order, OrderEvent, OrderStatus, Payment, Refund, ReturnRequest
from services.database import Database
from services.errors import InvalidInput

CAPTURED = "captured"
REFUND_SUCCEEDED = "succeeded"
# Order accuracy counts a return or exchange the merchant approved as a wrong or faulty
# delivery; refund-only requests and rejected ones do not count.
ACCURACY_KINDS = ("return", "exchange")
RETURN_CLOSED = "closed"
_PAID_INTO = (OrderStatus.AWAITING_REVIEW, OrderStatus.AWAITING_SHIPMENT, OrderStatus.OUT_OF_STOCK)
_WAITING_TO_SHIP = _PAID_INTO
_SETTLED = (OrderStatus.COMPLETED, OrderStatus.ARCHIVED)


@dataclass(frozen=True)
class Sales:
    """Money in the period, in minor units."""

    captured: int
    refunded: int
    net: int
    paid_orders: int
    average_order_value: int | None


@dataclass(frozen=True)
class PerformanceReport:
    """The merchant's figures for [start, end); each rate is None when nothing was measured."""

    start: datetime
    end: datetime
    orders_placed: int
    shipped: int
    shipped_on_time: int
    overdue_unshipped: int
    on_time_shipping_rate: float | None
    accurate_orders: int
    order_accuracy_rate: float | None
    after_sales_rated: int
    after_sales_satisfied: int
    after_sales_satisfaction: float | None
    sales: Sales


@dataclass(frozen=True)
class SettlementRow:
    """One completed order in the statement, amounts in minor units."""

    order_number: str
    completed_at: datetime
    currency: str
    paid: int
    refunds: int
    fee: int
    net: int


@dataclass(frozen=True)
class Settlement:
    """The statement of orders completed in [start, end) and its totals."""

    start: datetime
    end: datetime
    fee_rate: Decimal
    currency: str
    rows: tuple[SettlementRow, ...]
    paid: int
    refunds: int
    fees: int
    net: int


class _MillisecondsBetween(FunctionElement[int]):
    """Whole milliseconds from the second timestamp to the first, on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "ms_between"


@compiles(_MillisecondsBetween)
def _ms_between_postgres(element: _MillisecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) * 1000)"


@compiles(_MillisecondsBetween, "sqlite")
def _ms_between_sqlite(element: _MillisecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # julianday() keeps milliseconds exactly; rounding removes the float noise of the division.
    return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400000) AS INTEGER)"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _in_period(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _payable_at() -> ColumnElement[datetime]:
    """When the order became the merchant's to ship: paid, or placed (cash on delivery)."""
    paid_at = (
        select(func.min(OrderEvent.created_at))
        .where(
            OrderEvent.order_id == Order.id,
            or_(OrderEvent.from_status.is_(None),
                OrderEvent.from_status == OrderStatus.PENDING_PAYMENT),
            OrderEvent.to_status.in_(_PAID_INTO),
        )
        .scalar_subquery()
    )
    # Orders without such an event (cash on delivery, entered by hand) count from creation.
    return func.coalesce(paid_at, Order.created_at)


async def _shipping(
    session: AsyncSession, start: datetime, end: datetime, ship_within: timedelta, now: datetime
) -> tuple[int, int, int]:
    """(shipped, shipped on time, overdue and still unshipped) for the period."""
    shipped_in_period = _in_period(Order.shipped_at, start, end)
    waiting = and_(Order.shipped_at.is_(None), Order.status.in_(_WAITING_TO_SHIP))
    orders = (
        select(Order.shipped_at, _payable_at().label("payable_at"))
        .where(or_(shipped_in_period, waiting)).subquery()
    )
    on_time = _MillisecondsBetween(orders.c.shipped_at, orders.c.payable_at) <= (
        ship_within // timedelta(milliseconds=1)
    )
    # An unshipped order counts once, in the period its deadline fell in, once it has passed.
    deadline_passed = _in_period(
        orders.c.payable_at, start - ship_within, min(end, now) - ship_within
    )
    row = (await session.execute(select(
        func.count().filter(orders.c.shipped_at.is_not(None)),
        func.count().filter(orders.c.shipped_at.is_not(None), on_time),
        func.count().filter(orders.c.shipped_at.is_(None), deadline_passed),
    ))).one()
    return row[0], row[1], row[2]


async def _accuracy(session: AsyncSession, start: datetime, end: datetime) -> tuple[int, int]:
    """(shipped in the period, of which no accepted return or exchange)."""
    returned = exists().where(
        ReturnRequest.order_id == Order.id,
        ReturnRequest.kind.in_(ACCURACY_KINDS),
        ReturnRequest.approved_at.is_not(None),
    )
    row = (await session.execute(
        select(func.count(), func.count().filter(~returned))
        .where(_in_period(Order.shipped_at, start, end))
    )).one()
    return row[0], row[1]


async def _satisfaction(session: AsyncSession, start: datetime, end: datetime) -> tuple[int, int]:
    """(after-sales requests closed in the period with a rating, of which satisfied)."""
    # updated_at of a closed request is when it was closed: nothing changes it afterwards.
    row = (await session.execute(
        select(func.count(), func.count().filter(ReturnRequest.satisfied.is_(True))).where(
            ReturnRequest.status == RETURN_CLOSED,
            ReturnRequest.satisfied.is_not(None),
            _in_period(ReturnRequest.updated_at, start, end),
        )
    )).one()
    return row[0], row[1]


async def _sales(session: AsyncSession, start: datetime, end: datetime) -> Sales:
    """Captured payments and succeeded refunds dated in the period."""
    captured, paid_orders = (await session.execute(
        select(func.coalesce(func.sum(Payment.amount), 0), func.count(Payment.order_id.distinct()))
        .where(Payment.status == CAPTURED, _in_period(Payment.created_at, start, end))
    )).one()
    refunded = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.status == REFUND_SUCCEEDED, _in_period(Refund.created_at, start, end))
    )
    captured, refunded = int(captured), int(refunded or 0)
    average = _round_half_up(captured, paid_orders) if paid_orders else None
    return Sales(captured, refunded, captured - refunded, paid_orders, average)


async def performance(
    db: Database, start: datetime, end: datetime, ship_within: timedelta,
    *, now: datetime | None = None,
) -> PerformanceReport:
    """On-time shipping, order accuracy, after-sales satisfaction and sales for [start, end)."""
    async with db.read() as session:
        placed = await session.scalar(
            select(func.count()).where(_in_period(Order.created_at, start, end))
        )
        # `now` keeps a report of the running period from calling future deadlines overdue.
        shipped, on_time, overdue = await _shipping(session, start, end, ship_within, now or end)
        shipped_total, accurate = await _accuracy(session, start, end)
        rated, satisfied = await _satisfaction(session, start, end)
        sales = await _sales(session, start, end)
    return PerformanceReport(
        start=start, end=end, orders_placed=placed or 0,
        shipped=shipped, shipped_on_time=on_time, overdue_unshipped=overdue,
        on_time_shipping_rate=_rate(on_time, shipped + overdue),
        accurate_orders=accurate, order_accuracy_rate=_rate(accurate, shipped_total),
        after_sales_rated=rated, after_sales_satisfied=satisfied,
        after_sales_satisfaction=_rate(satisfied, rated), sales=sales,
    )


def _fee_ratio(fee_rate: Decimal | float) -> tuple[int, int]:
    # str() first: Decimal(0.006) would carry the binary float's error into the fee.
    rate = fee_rate if isinstance(fee_rate, Decimal) else Decimal(str(fee_rate))
    if not rate.is_finite() or not 0 <= rate < 1:
        raise InvalidInput("fee rate must be in [0, 1)", field="fee_rate")
    return rate.as_integer_ratio()


async def settlement(
    db: Database, start: datetime, end: datetime, fee_rate: Decimal | float = 0.006
) -> Settlement:
    """The statement of orders completed in [start, end): paid, refunds, fee and net each."""
    numerator, denominator = _fee_ratio(fee_rate)
    paid = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.order_id == Order.id, Payment.status == CAPTURED).scalar_subquery()
    )
    refunded = (
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.order_id == Order.id, Refund.status == REFUND_SUCCEEDED).scalar_subquery()
    )
    async with db.read() as session:
        result = await session.execute(
            select(Order.number, Order.completed_at, Order.currency, paid, refunded)
            .where(Order.status.in_(_SETTLED), _in_period(Order.completed_at, start, end))
            .order_by(Order.completed_at, Order.id)
        )
        rows = []
        for number, completed_at, currency, paid_amount, refund_amount in result:
            fee = _round_half_up(int(paid_amount) * numerator, denominator)
            net = int(paid_amount) - int(refund_amount) - fee
            rows.append(SettlementRow(
                number, completed_at, currency, int(paid_amount), int(refund_amount), fee, net,
            ))
    currencies = {row.currency for row in rows}
    return Settlement(
        start=start, end=end, fee_rate=Decimal(numerator) / Decimal(denominator),
        currency=currencies.pop() if len(currencies) == 1 else "", rows=tuple(rows),
        paid=sum(r.paid for r in rows), refunds=sum(r.refunds for r in rows),
        fees=sum(r.fee for r in rows), net=sum(r.net for r in rows),
    )


def format_amount(minor: int) -> str:
    """Minor units as a decimal string with two places: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def settlement_csv(statement: Settlement) -> str:
    """The statement as CSV (RFC 4180 line endings), one row per order and a TOTAL row last."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_number", "completed_at", "currency", "paid", "refunds", "fees", "net"])
    for row in statement.rows:
        writer.writerow([
            row.order_number, row.completed_at.isoformat(timespec="seconds"), row.currency,
            *map(format_amount, (row.paid, row.refunds, row.fee, row.net)),
        ])
    writer.writerow([
        "TOTAL", "", statement.currency,
        *map(format_amount, (statement.paid, statement.refunds, statement.fees, statement.net)),
    ])
    return out.getvalue()
