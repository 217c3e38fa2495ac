"""Money is never lost: every event is written down before it is applied and applied once;
refunds are intents called at the provider after their commit and retried with the same key.
On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from bot.config_sections import SchedulerConfig
from handlers.i18n import Translator
from handlers.notifications import notice_text
from models import OutboxMessage, Payment, PaymentInboxEntry, Refund
from scheduler import jobs
from services.clock import FakeClock
from services.container import Services, build_services
from services.database import Database
from services.errors import PaymentError
from services.orders import queries
from services.payments import ledger
from services.payments.cod import CashOnDelivery
from services.payments.providers import ProviderRegistry, RefundResult
from services.payments.sandbox import SandboxProvider
from services.rules import ShopRules
from tests.conftest import PAYMENT_SECRET, make_context
from tests.services.test_bad_input import refused
from tests.services.test_merchant import admin_alerts
from tests.shop import ShopData, buyer, pay, place


class WatchedSandbox(SandboxProvider):
    """The sandbox provider, watched: what a refund call saw, and a crash after one call."""

    def __init__(self, db: Database) -> None:
        super().__init__(PAYMENT_SECRET, "http://pay.test")
        self.db = db
        self.seen: list[tuple[str, str | None]] = []  # (key, its row's status seen by others)
        self.crash_after_refund = False

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        async with self.db.read() as session:  # another connection: only committed rows
            self.seen.append((idempotency_key, await session.scalar(
                select(Refund.status).where(Refund.idempotency_key == idempotency_key))))
        answer = await super().refund(charge_id, amount, currency, idempotency_key)
        if self.crash_after_refund:  # the provider refunded; the answer never comes back
            self.crash_after_refund = False
            raise ConnectionError("the process died before recording the answer")
        return answer


@pytest.fixture
def sandbox(db: Database) -> WatchedSandbox:
    """The shop's sandbox provider, watched."""
    return WatchedSandbox(db)


@pytest.fixture
def svc(db: Database, rules: ShopRules, clock: FakeClock, sandbox: WatchedSandbox) -> Services:
    """Services paying through the watched sandbox provider."""
    providers = ProviderRegistry([sandbox, CashOnDelivery()])
    return build_services(replace(make_context(db, rules, clock), payments=providers))


def callback(number: str, **fields: Any) -> bytes:
    """A provider callback body, as the sandbox pay page posts it (`...` leaves a field out)."""
    data = {"type": "charge.succeeded", "charge_id": "sbx_cb", "order": number, "currency": "CNY",
            **fields}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


async def rows(svc: Services, model: Any) -> list[Any]:
    """Every row of a table."""
    async with svc.ctx.db.read() as session:
        return list((await session.scalars(select(model))).all())


async def told(svc: Services, template: str) -> list[dict[str, Any]]:
    """Params of the customer messages of a template, in order."""
    async with svc.ctx.db.read() as session:
        found = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.audience == "customer", OutboxMessage.template == template)
            .order_by(OutboxMessage.id))
        return [dict(m.params) for m in found]


def money_sweep(svc: Services) -> Any:
    """The scheduler's money job."""
    return jobs(svc, SchedulerConfig())["money"][0]


# --- provider callbacks ---------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [
    ("amount", -100), ("amount", 0), ("amount", 2**31), ("amount", 2**63), ("amount", 10**30),
    ("amount", "6000"), ("amount", "sixty"), ("amount", 60.5), ("amount", True),
    ("amount", None), ("amount", ...), ("currency", "cny"), ("currency", "CNYX"),
    ("currency", 156), ("currency", ...), ("charge_id", ""), ("charge_id", "x" * 129),
    ("charge_id", 7), ("charge_id", ...), ("order", 12), ("order", ...), ("type", ...),
])
async def test_a_malformed_callback_is_refused_and_changes_nothing(
    svc: Services, shop: ShopData, field: str, value: Any
) -> None:
    order = await place(svc, await buyer(svc), {shop.tea: 1})
    body = callback(order.number, **{"amount": order.total, field: value})
    sign = svc.ctx.payments.get("sandbox").sign  # type: ignore[attr-defined]
    await refused(svc, PaymentError, lambda: svc.payment_inbox.handle_callback(
        "sandbox", body, sign(body)))


@pytest.mark.parametrize("body", [b"[]", b'"charge"', b"[" * 50_000, b"\xff\xfe", b""])
async def test_a_callback_that_is_no_object_is_refused(svc: Services, shop: ShopData,
                                                        body: bytes) -> None:
    sign = svc.ctx.payments.get("sandbox").sign  # type: ignore[attr-defined]
    await refused(svc, PaymentError, lambda: svc.payment_inbox.handle_callback(
        "sandbox", body, sign(body)))


# --- the inbox --------------------------------------------------------------------------------
async def test_money_for_no_order_is_kept_and_the_merchant_alerted_once(
    svc: Services, shop: ShopData
) -> None:
    outcome = await pay(svc, "000000000000", 1234, charge_id="sbx_lost")
    assert outcome.status == "unmatched" and not outcome.duplicate
    again = await pay(svc, "000000000000", 1234, charge_id="sbx_lost")  # the provider retries
    assert again.duplicate
    (entry,) = await rows(svc, PaymentInboxEntry)
    assert (entry.provider, entry.charge_id, entry.amount, entry.status) == (
        "sandbox", "sbx_lost", 1234, "unmatched")
    assert await rows(svc, Payment) == []
    (alert,) = await admin_alerts(svc, "alert_payment_unmatched")
    assert alert == {"provider": "sandbox", "charge_id": "sbx_lost", "reference": "000000000000",
                     "amount": 1234, "currency": "CNY"}
    en = notice_text(Translator("en", "Asia/Shanghai"), "alert_payment_unmatched", alert, svc.ctx)
    assert "CN¥12.34" in en and "sbx_lost" in en and "000000000000" in en
    zh = notice_text(Translator("zh_CN", "Asia/Shanghai"), "alert_payment_unmatched", alert, svc.ctx)
    assert "¥12.34" in zh and "sbx_lost" in zh and "找不到对应的订单" in zh


async def test_a_failing_first_try_is_recorded_and_its_redelivery_pays_once(
    svc: Services, shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await place(svc, await buyer(svc), {shop.tea: 1})
    settle, tries = svc.payments.settle, []

    async def fails_once(*args: Any) -> Any:
        tries.append(args)
        if len(tries) == 1:
            raise RuntimeError("the payment service failed")
        return await settle(*args)

    monkeypatch.setattr(svc.payments, "settle", fails_once)
    with pytest.raises(RuntimeError):
        await pay(svc, order, charge_id="sbx_1")
    (entry,) = await rows(svc, PaymentInboxEntry)  # the money is written down all the same
    assert (entry.charge_id, entry.status, entry.amount) == ("sbx_1", "received", order.total)
    assert await rows(svc, Payment) == []
    paid = await pay(svc, order, charge_id="sbx_1")  # the provider's redelivery
    assert paid.status == "awaiting_review" and not paid.duplicate
    assert (await pay(svc, order, charge_id="sbx_1")).duplicate
    assert [p.provider_charge_id for p in await rows(svc, Payment)] == ["sbx_1"]
    assert [m["order_number"] for m in await told(svc, "order_paid")] == [order.number]
    assert [e.status for e in await rows(svc, PaymentInboxEntry)] == ["applied"]


async def test_the_money_sweep_applies_what_a_crash_left_recorded(
    svc: Services, shop: ShopData, clock: FakeClock
) -> None:
    order = await place(svc, await buyer(svc), {shop.tea: 1})
    provider = svc.ctx.payments.get("sandbox")
    body = callback(order.number, amount=order.total)
    event = provider.verify_event(body, provider.sign(body))  # type: ignore[attr-defined]
    await svc.payment_inbox.record(event)  # ... and the process died here
    await svc.payment_inbox.record(event)  # a redelivery that died at the same point
    sweep = money_sweep(svc)
    assert await sweep() == 0  # an apply may still be under way: not yet
    clock.advance(minutes=2)
    assert await sweep() == 1 and await sweep() == 0
    assert (await svc.orders.detail(order.id)).status == "awaiting_review"
    assert len(await told(svc, "order_paid")) == 1 and len(await rows(svc, Payment)) == 1


# --- refunds ----------------------------------------------------------------------------------
async def test_the_provider_is_called_after_the_refund_intent_committed(
    svc: Services, shop: ShopData, sandbox: WatchedSandbox
) -> None:
    customer = await buyer(svc)
    order = await place(svc, customer, {shop.tea: 1})
    await pay(svc, order, charge_id="sbx_paid")
    await svc.orders.cancel_by_customer(customer.id, order.id)
    (refund,) = await rows(svc, Refund)
    assert sandbox.seen == [(refund.idempotency_key, "pending")]  # committed before the call
    assert refund.status == "succeeded" and refund.provider_refund_id
    assert sandbox.refunds == [("sbx_paid", order.total)]
    (notice,) = await told(svc, "order_refunded")
    assert (notice["amount"], notice["currency"]) == (order.total, "CNY")


async def test_a_rolled_back_decision_never_refunds(svc: Services, shop: ShopData,
                                                    sandbox: WatchedSandbox) -> None:
    customer = await buyer(svc)
    order = await place(svc, customer, {shop.tea: 1})
    await pay(svc, order, charge_id="sbx_paid")
    async def decide_then_fail() -> None:
        async with svc.ctx.db.write() as session:
            loaded = await queries.load_order(session, order.id)
            await ledger.refund(session, svc.ctx, loaded, None, reason="test", actor="admin:1")
            raise RuntimeError("something after the decision failed")

    with pytest.raises(RuntimeError):
        await decide_then_fail()
    assert sandbox.seen == [] and sandbox.refunds == [] and await rows(svc, Refund) == []


async def test_a_crash_between_the_refund_and_its_record_is_retried_with_the_same_key(
    svc: Services, shop: ShopData, sandbox: WatchedSandbox, clock: FakeClock
) -> None:
    customer = await buyer(svc)
    order = await place(svc, customer, {shop.tea: 1})
    await pay(svc, order, charge_id="sbx_paid")
    sandbox.crash_after_refund = True
    await svc.orders.cancel_by_customer(customer.id, order.id)  # the cancel itself stands
    (refund,) = await rows(svc, Refund)
    assert refund.status == "pending" and await told(svc, "order_refunded") == []
    detail = await svc.orders.detail(order.id)
    assert detail.status == "cancelled" and detail.refunded == order.total  # on its way
    sweep = money_sweep(svc)
    assert await sweep() == 0  # not due yet: the first call may still be answering
    clock.advance(minutes=1)
    assert await sweep() == 1 and await sweep() == 0
    (refund,) = await rows(svc, Refund)
    assert refund.status == "succeeded"
    assert [key for key, _ in sandbox.seen] == [refund.idempotency_key] * 2
    assert sandbox.refunds == [("sbx_paid", order.total)]  # one refund, not two
    assert [n["amount"] for n in await told(svc, "order_refunded")] == [order.total]


async def test_a_refused_refund_goes_back_to_the_refundable_amount_and_is_alerted(
    svc: Services, shop: ShopData
) -> None:
    customer = await buyer(svc)
    order = await place(svc, customer, {shop.tea: 1})
    await pay(svc, order, charge_id="sbx_refundfail")
    left = await svc.merchant.refund_part(order.id, 1000, "admin:1")
    assert (left.refunded, left.refundable) == (0, order.total)
    (refund,) = await rows(svc, Refund)
    assert refund.status == "failed" and "declined" in refund.reason
    (alert,) = await admin_alerts(svc, "alert_refund_failed")
    assert (alert["amount"], alert["currency"]) == (1000, "CNY")
    assert await told(svc, "order_refunded") == []


async def test_the_sandbox_honours_idempotency_keys() -> None:
    provider = SandboxProvider(PAYMENT_SECRET, "http://pay.test")
    first = await provider.refund("sbx_1", 500, "CNY", "key-1")
    assert first.ok and await provider.refund("sbx_1", 500, "CNY", "key-1") == first
    reused = await provider.refund("sbx_1", 700, "CNY", "key-1")
    assert not reused.ok and "idempotency key" in reused.error
    second = await provider.refund("sbx_1", 500, "CNY", "key-2")
    assert second.ok and second.provider_refund_id != first.provider_refund_id
    assert provider.refunds == [("sbx_1", 500), ("sbx_1", 500)]
