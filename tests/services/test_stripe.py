"""Stripe refunds and amounts, on SQLite and PostgreSQL, against the local fake of Stripe's API
(tests/fakes/stripe_api.py): refund intents reach Stripe once, with their idempotency key,
outside the write transaction; a lost answer leaves a pending intent the money sweep retries.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from models import Payment, Refund
from services.clock import FakeClock
from services.container import Services, build_services
from services.database import Database
from services.errors import PaymentError
from services.payments.providers import PaymentRequest, ProviderRegistry
from services.payments.stripe import (
    CheckoutLine,
    CheckoutOrder,
    StripeProvider,
    session_expiry,
)
from services.payments.stripe_events import StripeEvents
from services.rules import ShopRules
from tests.conftest import make_context
from tests.fakes.stripe_api import FakeStripe, running_fake_stripe, sign
from tests.services.test_merchant import admin_alerts
from tests.services.test_payment_inbox import money_sweep, told
from tests.shop import ShopData, buyer, place

ADMIN = "admin:1"


class WatchedStripe(StripeProvider):
    """The provider, watched: what the database showed other connections while Stripe was
    being called (a refund must never be called inside the write that decided it)."""

    def __init__(self, fake: FakeStripe, db: Database) -> None:
        super().__init__(fake.api_key, fake.webhook_secret, "https://shop.example.com",
                         ("card", "alipay", "wechat_pay"), api_base=fake.url,
                         network_retries=0)
        self.db = db
        self.seen: list[str | None] = []

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> Any:
        async with self.db.read() as session:  # another connection: committed rows only
            self.seen.append(await session.scalar(
                select(Refund.status).where(Refund.idempotency_key == idempotency_key)))
        return await super().refund(charge_id, amount, currency, idempotency_key)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeStripe]:
    async with running_fake_stripe(now=clock.now) as running:
        yield running


@pytest.fixture
async def stripe(fake: FakeStripe, db: Database) -> AsyncIterator[WatchedStripe]:
    provider = WatchedStripe(fake, db)
    yield provider
    await provider.close()


@pytest.fixture
def rules(rules: ShopRules) -> ShopRules:
    return replace(rules, payment_methods=("stripe", "sandbox", "cod"))


@pytest.fixture
def svc(db: Database, rules: ShopRules, clock: FakeClock, stripe: WatchedStripe) -> Services:
    base = make_context(db, rules, clock)
    return build_services(replace(base, payments=ProviderRegistry([stripe, *base.payments])))


async def paid_by_stripe(svc: Services, fake: FakeStripe, shop: ShopData,
                         items: dict[int, int] | None = None) -> tuple[int, str]:
    """A customer's order paid by card on Stripe's page; its id and PaymentIntent id."""
    customer = await buyer(svc)
    placed = await place(svc, customer, items or {shop.tea: 2}, payment="stripe")
    detail = await svc.orders.detail(placed.id)
    provider = svc.ctx.payments.get("stripe")
    assert isinstance(provider, StripeProvider)
    await provider.checkout_url(CheckoutOrder(
        detail.number, (CheckoutLine("Green tea", detail.total, 1),), detail.total,
        detail.currency, session_expiry(detail.payment_deadline, detail.created_at)))
    event = await fake.complete(fake.session_of(detail.number)["id"], "card", send=False)
    outcome = await webhook(svc, fake, event)
    assert outcome.result == "paid"
    return placed.id, str(event["data"]["object"]["payment_intent"])


async def webhook(svc: Services, fake: FakeStripe, event: dict[str, Any]) -> Any:
    payload = json.dumps(event).encode()
    return await StripeEvents(svc.ctx, svc.payment_inbox).handle(
        payload, sign(payload, fake.webhook_secret))


async def refunds(svc: Services) -> list[Refund]:
    async with svc.ctx.db.read() as session:
        return list((await session.scalars(select(Refund).order_by(Refund.id))).all())


async def test_a_customer_cancel_refunds_in_full_through_stripe_once(
    svc: Services, shop: ShopData, fake: FakeStripe, stripe: WatchedStripe
) -> None:
    order_id, intent = await paid_by_stripe(svc, fake, shop)
    customer = await buyer(svc)
    await svc.orders.cancel_by_customer(customer.id, order_id)
    (row,) = await refunds(svc)
    (refund,) = fake.refunds
    assert (refund["payment_intent"], refund["amount"]) == (intent, row.amount)
    assert (row.status, row.provider_refund_id) == ("succeeded", refund["id"])
    assert stripe.seen == ["pending"]  # called after the decision committed, not inside it
    assert [key for _, path, key in fake.requests if path == "/v1/refunds"] == [
        row.idempotency_key]
    assert [n["amount"] for n in await told(svc, "order_refunded")] == [row.amount]


async def test_a_lost_answer_leaves_an_intent_the_sweep_retries_with_the_same_key(
    svc: Services, shop: ShopData, fake: FakeStripe, clock: FakeClock
) -> None:
    order_id, _ = await paid_by_stripe(svc, fake, shop)
    fake.drop_refund_answers = 1  # Stripe refunds, the connection dies before the answer
    done = await svc.merchant.refund_part(order_id, 2500, ADMIN)
    assert done.refunded == 2500  # on its way: counted, not yet confirmed
    (row,) = await refunds(svc)
    assert row.status == "pending" and await told(svc, "order_refunded") == []
    assert len(fake.refunds) == 1  # the money moved at Stripe
    sweep = money_sweep(svc)
    assert await sweep() == 0  # not due yet: the first call may still be answering
    clock.advance(timedelta(minutes=1))
    assert await sweep() == 1 and await sweep() == 0
    (row,) = await refunds(svc)
    assert (row.status, row.provider_refund_id) == ("succeeded", fake.refunds[0]["id"])
    assert len(fake.refunds) == 1  # the retry was answered with the first refund
    keys = [key for _, path, key in fake.requests if path == "/v1/refunds"]
    assert keys == [row.idempotency_key] * 2
    assert [n["amount"] for n in await told(svc, "order_refunded")] == [2500]


async def test_stripe_unreachable_keeps_the_intent_pending(
    svc: Services, shop: ShopData, fake: FakeStripe, clock: FakeClock
) -> None:
    order_id, _ = await paid_by_stripe(svc, fake, shop)
    real, fake.api_key = fake.api_key, "sk_test_rotated"  # every call refused: 401
    await svc.merchant.refund_part(order_id, 1000, ADMIN)
    (row,) = await refunds(svc)
    assert row.status == "pending" and fake.refunds == []
    fake.api_key = real
    clock.advance(timedelta(minutes=1))
    assert await money_sweep(svc)() == 1
    (row,) = await refunds(svc)
    assert row.status == "succeeded" and len(fake.refunds) == 1


async def test_a_refund_after_a_return_goes_through_stripe(
    svc: Services, shop: ShopData, fake: FakeStripe
) -> None:
    order_id, intent = await paid_by_stripe(svc, fake, shop)
    customer = await buyer(svc)
    await svc.orders.confirm(order_id, ADMIN)
    await svc.orders.ship(order_id, ADMIN, "sandbox", "SF1")
    await svc.orders.mark_delivered(order_id, ADMIN)
    line = (await svc.orders.detail(order_id)).lines[0].id
    asked = await svc.returns.request(customer.id, order_id, "return", "Dented tin", [(line, 1)])
    await svc.returns.approve(asked.id, ADMIN)
    await svc.returns.receive(asked.id, ADMIN, restock=True)
    done = await svc.returns.refund(asked.id, ADMIN)
    assert done.status == "refunded"
    (row,) = await refunds(svc)
    (refund,) = fake.refunds
    assert (refund["payment_intent"], refund["amount"], row.return_request_id) == (
        intent, row.amount, asked.id)
    assert row.status == "succeeded"


async def test_a_refund_stripe_refuses_is_alerted_and_counts_no_more(
    svc: Services, shop: ShopData, fake: FakeStripe
) -> None:
    order_id, intent = await paid_by_stripe(svc, fake, shop)
    fake.intents[intent]["amount_refunded"] = fake.intents[intent]["amount"]  # in the dashboard
    left = await svc.merchant.refund_part(order_id, 1000, ADMIN)
    assert left.refunded == 0
    (row,) = await refunds(svc)
    assert row.status == "failed" and "already been refunded" in row.reason
    (alert,) = await admin_alerts(svc, "alert_refund_failed")
    assert alert["amount"] == 1000


async def test_zero_decimal_currencies_go_to_stripe_in_whole_units(
    svc: Services, fake: FakeStripe, stripe: WatchedStripe, clock: FakeClock
) -> None:
    deadline = clock.now() + timedelta(minutes=30)
    order = CheckoutOrder("JP1", (CheckoutLine("Matcha", 150_000, 2),), 300_000, "JPY",
                          session_expiry(deadline, clock.now()))
    await stripe.checkout_url(order)
    session = fake.session_of("JP1")
    assert session["amount_total"] == 3000 and session["currency"] == "jpy"  # ¥3000
    event = await fake.complete(session["id"], "card", send=False)
    payload = json.dumps(event).encode()
    paid = stripe.parse(payload, sign(payload, fake.webhook_secret)).payment
    assert paid is not None and (paid.amount, paid.currency) == (300_000, "JPY")
    with pytest.raises(PaymentError):  # a fraction of a yen cannot be charged
        await stripe.checkout_url(replace(order, number="JP2", total=300_050, lines=()))
    with pytest.raises(PaymentError):  # below Stripe's minimum (CNY 4.00)
        await stripe.checkout_url(replace(order, number="CN1", currency="CNY", total=399))
    assert [s["client_reference_id"] for s in fake.sessions.values()] == ["JP1"]


async def test_the_session_lives_past_the_deadline_within_stripes_limits(
    clock: FakeClock
) -> None:
    now = clock.now()
    assert session_expiry(now + timedelta(minutes=30), now) == now + timedelta(minutes=61)
    assert session_expiry(now + timedelta(hours=23, minutes=30), now) == now + timedelta(
        hours=23, minutes=55)  # within 24 hours of the order, whatever the deadline
    assert session_expiry(None, now) == now + timedelta(minutes=61)


async def test_the_pay_link_is_signed_and_makes_no_call(
    stripe: WatchedStripe, fake: FakeStripe
) -> None:
    link = stripe.create_link(PaymentRequest(1, "2601050001", 6000, "CNY", "Order"))
    assert link.startswith("https://shop.example.com/stripe/pay?order=2601050001&sig=")
    sig = link.rsplit("=", 1)[1]
    assert stripe.link_is_genuine("2601050001", sig)
    assert not stripe.link_is_genuine("2601050002", sig) and fake.requests == []


async def test_stripe_checks_the_api_key_like_stripe(
    fake: FakeStripe, clock: FakeClock
) -> None:
    wrong = StripeProvider("sk_test_wrong", fake.webhook_secret, "https://shop.example.com",
                           api_base=fake.url, network_retries=0)
    order = CheckoutOrder("X1", (CheckoutLine("Tea", 6000, 1),), 6000, "CNY",
                          session_expiry(None, clock.now()))
    with pytest.raises(PaymentError, match="Invalid API Key"):
        await wrong.checkout_url(order)
    await wrong.close()
    assert fake.sessions == {}


async def test_payments_rows_hold_the_payment_intent(
    svc: Services, shop: ShopData, fake: FakeStripe
) -> None:
    _, intent = await paid_by_stripe(svc, fake, shop)
    async with svc.ctx.db.read() as session:
        (payment,) = (await session.scalars(select(Payment))).all()
    assert (payment.provider, payment.provider_charge_id) == ("stripe", intent)


async def test_a_session_stripe_failed_to_create_is_made_with_the_second_key(
    stripe: WatchedStripe, fake: FakeStripe, clock: FakeClock
) -> None:
    fake.fail_sessions = 1  # Stripe answers 500, and keeps that answer for the key
    order = CheckoutOrder("F1", (CheckoutLine("Tea", 6000, 1),), 6000, "CNY",
                          session_expiry(None, clock.now()))
    url = await stripe.checkout_url(order)
    assert await stripe.checkout_url(order) == url  # the first key's 500, then the same session
    assert [s["url"] for s in fake.sessions.values()] == [url]
    keys = [key for _, path, key in fake.requests if path == "/v1/checkout/sessions"]
    assert keys == ["shopbot-checkout-F1", "shopbot-checkout-F1-2"] * 2


async def test_a_dashboard_refund_is_recorded_once_however_often_stripe_reports_it(
    svc: Services, shop: ShopData, fake: FakeStripe
) -> None:
    order_id, intent = await paid_by_stripe(svc, fake, shop)
    await svc.merchant.refund_part(order_id, 1000, ADMIN)  # the shop's own: already known
    fake.intents[intent]["amount_refunded"] += 700  # and 7.00 more in Stripe's dashboard
    first, second = fake.charge_refunded(intent), fake.charge_refunded(intent)
    outcomes = await asyncio.gather(*(webhook(svc, fake, e) for e in [first, second] * 3))
    assert sorted(o.result for o in outcomes) == ["refund_recorded"] + ["refund_seen"] * 5
    assert [(r.amount, r.status) for r in await refunds(svc)] == [(1000, "succeeded"),
                                                                  (700, "succeeded")]
    (alert,) = await admin_alerts(svc, "alert_stripe_refund_outside")
    assert alert["amount"] == 700
    assert (await svc.orders.detail(order_id)).refunded == 1700


async def test_one_payment_however_often_and_in_whatever_order_stripe_reports_it(
    svc: Services, shop: ShopData, fake: FakeStripe, stripe: WatchedStripe, clock: FakeClock
) -> None:
    customer = await buyer(svc)
    placed = await place(svc, customer, {shop.tea: 1}, payment="stripe")
    detail = await svc.orders.detail(placed.id)
    await stripe.checkout_url(CheckoutOrder(
        detail.number, (CheckoutLine("Green tea", detail.total, 1),), detail.total, "CNY",
        session_expiry(detail.payment_deadline, detail.created_at)))
    session_id = fake.session_of(detail.number)["id"]
    completed = await fake.complete(session_id, "alipay", send=False)
    fake.webhook_url = "http://127.0.0.1:9/unreachable"
    with pytest.raises(aiohttp.ClientConnectionError):
        await fake.settle_async(session_id)  # Stripe's first try never arrives
    succeeded = fake.event("checkout.session.async_payment_succeeded",
                           fake._public(fake.sessions[session_id]))
    outcomes = await asyncio.gather(*(webhook(svc, fake, e)
                                      for e in [succeeded, completed] * 5))
    assert sorted(o.result for o in outcomes) == ["duplicate"] * 4 + ["paid"] + ["waiting"] * 5
    async with svc.ctx.db.read() as session:
        (payment,) = (await session.scalars(select(Payment))).all()
    assert payment.amount == detail.total
    assert [n["order_number"] for n in await told(svc, "order_paid")] == [detail.number]
    assert (await svc.orders.detail(placed.id)).status == "awaiting_review"
