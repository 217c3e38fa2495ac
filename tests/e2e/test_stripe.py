"""Paying through Stripe Checkout, end to end: the real bot in the sandbox, the shop's web app
over HTTP, and a local fake of Stripe (tests/fakes/stripe_api.py) that the official `stripe`
library talks to and that signs its webhooks as Stripe does. Nothing reaches Stripe.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer, unused_port
from sqlalchemy import select

from bot.config import load_config
from bot.web import web_app
from models import Order, OutboxMessage, Payment, PaymentInboxEntry, Refund
from sandbox.client import SandboxUser
from services.payments.providers import ProviderRegistry
from services.payments.stripe import StripeProvider
from tests.conftest import TEST_RULES, make_context
from tests.databases import open_test_database
from tests.e2e.harness import ShopUnderTest, running_shop
from tests.e2e.steps import edited, new_message, press
from tests.e2e.test_admin_orders import card_shown
from tests.e2e.test_checkout import PHONE, check_out, with_cart
from tests.fakes.stripe_api import FakeStripe, running_fake_stripe, sign, stale
from tests.shop import buyer, place

RULES = replace(TEST_RULES, payment_methods=("stripe", "sandbox", "cod"))
METHODS = ("card", "alipay", "wechat_pay")


@dataclass
class StripeShop:
    """The running shop, its web app's address, and the fake Stripe."""

    shop: ShopUnderTest
    fake: FakeStripe
    web_url: str
    customer: SandboxUser | None = None

    async def open_link(self, url: str) -> str:
        """The customer opens the Pay button's link: where it sends them (Stripe's page)."""
        async with aiohttp.ClientSession() as client, client.get(
                url, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            return response.headers["Location"]

    async def pay_on_stripe(self, stripe_page: str, method: str = "card") -> str:
        """The customer pays on Stripe's page and lands on the shop's page: its text."""
        async with aiohttp.ClientSession() as client, client.post(
                stripe_page, data={"method": method}) as response:
            assert response.status == 200 and str(response.url).startswith(self.web_url)
            return await response.text()

    async def placed(self) -> tuple[Order, str]:
        """An order of a customer in the sandbox, placed to pay by Stripe (the chat's steps
        are tested once, below), and its Pay link."""
        self.customer = self.shop.customer("Mei")
        customer = await buyer(self.shop.services, self.customer.id)
        order = await place(self.shop.services, customer, {self.shop.data.tea: 1},
                            payment="stripe")
        link = await self.shop.services.payments.payment_link(customer.id, order.id)
        return await self.order(order.number), link

    async def order(self, number: str) -> Order:
        async with self.shop.services.ctx.db.read() as session:
            row = await session.scalar(select(Order).where(Order.number == number))
        assert row is not None
        return row

    async def rows(self, model: Any) -> list[Any]:
        async with self.shop.services.ctx.db.read() as session:
            return list((await session.scalars(select(model))).all())

    async def told(self, template: str) -> list[dict[str, Any]]:
        """Params of queued messages of a template."""
        return [m.params for m in await self.rows(OutboxMessage) if m.template == template]

    async def post(self, event: dict[str, Any], header: str | None = None,
                   body: bytes | None = None) -> tuple[int, dict[str, Any]]:
        """Post a webhook as given (signed properly unless a header is given)."""
        payload = body if body is not None else json.dumps(event).encode()
        signature = header if header is not None else sign(payload, self.fake.webhook_secret)
        async with aiohttp.ClientSession() as client, client.post(
                self.fake.webhook_url, data=payload, headers={"Stripe-Signature": signature}) as r:
            return r.status, await r.json(content_type=None)


@pytest.fixture
async def stripe_shop(tmp_path: Path) -> AsyncIterator[StripeShop]:
    """The shop with Stripe enabled (the library pointed at the fake), its web app served."""
    port = unused_port()
    web_url = f"http://127.0.0.1:{port}"
    async with running_fake_stripe() as fake, open_test_database("sqlite", tmp_path) as db:
        from services.clock import FakeClock

        clock = FakeClock()
        fake.now = clock.now
        provider = StripeProvider(fake.api_key, fake.webhook_secret, web_url, METHODS,
                                  api_base=fake.url)
        base = make_context(db, RULES, clock)
        ctx = replace(base, payments=ProviderRegistry([*base.payments, provider]))
        async with running_shop(tmp_path, rules=RULES, context=ctx) as shop:
            shop.clock = clock
            # The web app as `shopbot run` serves it (bot/web.py mounts /stripe).
            server = TestServer(web_app(load_config(tmp_path / "none.yaml", env={}), shop.bot),
                                host="127.0.0.1", port=port)
            await server.start_server()
            fake.webhook_url = f"{web_url}/stripe/webhook"
            try:
                yield StripeShop(shop, fake, web_url)
            finally:
                await server.close()
            assert shop.refused_requests() == []


async def test_a_customer_pays_by_card_through_the_link(stripe_shop: StripeShop) -> None:
    shop, fake = stripe_shop.shop, stripe_shop.fake
    li = shop.customer("Li", phone_number=PHONE)
    await with_cart(shop, li, shop.data)
    review = await check_out(li, "Card, Alipay or WeChat Pay")
    await press(li, "Confirm order")
    placed = await edited(li, review.message_id, "is placed")
    url = next(b["url"] for row in placed["reply_markup"]["inline_keyboard"] for b in row
               if "url" in b)
    assert url.startswith(f"{stripe_shop.web_url}/stripe/pay?")
    stripe_page = await stripe_shop.open_link(url)
    assert await stripe_shop.open_link(url) == stripe_page  # the same session, not a second
    (order,) = await stripe_shop.rows(Order)
    session = fake.session_of(order.number)
    assert stripe_page == session["url"] and session["amount_total"] == order.total == 11000
    assert (session["currency"], session["metadata"], session["payment_method_types"]) == (
        "cny", {"order_number": order.number}, list(METHODS))
    assert order.payment_deadline is not None
    assert session["expires_at"] > order.payment_deadline.timestamp()
    creates = [key for method, path, key in fake.requests if path == "/v1/checkout/sessions"]
    assert creates == [f"shopbot-checkout-{order.number}"] * 2  # the second was a replay

    page = await stripe_shop.pay_on_stripe(stripe_page, "card")
    assert "Thank you" in page and f"https://t.me/{shop.sandbox.bot.user.username}" in page
    await new_message(li, f"received for order No. {order.number}")
    assert fake.deliveries == [("checkout.session.completed", 200)]
    order = await stripe_shop.order(order.number)
    assert order.status == "awaiting_review"
    (payment,) = await stripe_shop.rows(Payment)
    assert (payment.provider, payment.provider_charge_id, payment.amount, payment.currency) == (
        "stripe", session["payment_intent"], 11000, "CNY")
    answer = await press(li, "Check payment")
    assert answer.text == f"Order No. {order.number} is paid. Thank you!"
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        assert response.status == 200 and "no longer waiting for payment" in await response.text()


async def test_alipay_pays_when_the_wallet_confirms(stripe_shop: StripeShop) -> None:
    order, link = await stripe_shop.placed()
    page = await stripe_shop.open_link(link)
    await stripe_shop.pay_on_stripe(page, "alipay")
    assert (await stripe_shop.order(order.number)).status == "pending_payment"  # waiting
    session = stripe_shop.fake.session_of(order.number)
    await stripe_shop.fake.settle_async(session["id"], succeeded=True)
    assert (await stripe_shop.order(order.number)).status == "awaiting_review"
    assert len(await stripe_shop.rows(Payment)) == 1
    assert [p["order_number"] for p in await stripe_shop.told("order_paid")] == [order.number]
    assert [status for _, status in stripe_shop.fake.deliveries] == [200, 200]


async def test_the_same_webhooks_five_times_in_parallel_and_out_of_order(
    stripe_shop: StripeShop
) -> None:
    fake = stripe_shop.fake
    order, link = await stripe_shop.placed()
    await stripe_shop.open_link(link)
    session = fake.session_of(order.number)
    fake.webhook_url, real = "http://127.0.0.1:9/nowhere", fake.webhook_url  # Stripe is late
    with pytest.raises(aiohttp.ClientError):
        await fake.complete(session["id"], "alipay")
    fake.webhook_url = real
    completed = fake.event("checkout.session.completed", {**session, **fake.sessions[session["id"]]})
    succeeded = {**fake.event("checkout.session.async_payment_succeeded", {}), "data": {
        "object": {**completed["data"]["object"], "payment_status": "paid"}}}
    burst = [succeeded] * 5 + [completed] * 5
    random.Random(24).shuffle(burst)
    burst.sort(key=lambda event: event is completed)  # "succeeded" comes before "completed"
    answers = await asyncio.gather(*(stripe_shop.post(event) for event in burst))
    assert {status for status, _ in answers} == {200}
    results = sorted(body["result"] for _, body in answers)
    assert results == ["duplicate"] * 4 + ["paid"] + ["waiting"] * 5
    assert (await stripe_shop.order(order.number)).status == "awaiting_review"
    (payment,) = await stripe_shop.rows(Payment)
    assert payment.amount == order.total
    assert len(await stripe_shop.rows(PaymentInboxEntry)) == 1
    assert len(await stripe_shop.told("order_paid")) == 1
    assert await stripe_shop.rows(Refund) == []


async def test_a_forged_or_stale_signature_is_refused_and_changes_nothing(
    stripe_shop: StripeShop
) -> None:
    fake = stripe_shop.fake
    order, link = await stripe_shop.placed()
    await stripe_shop.open_link(link)
    session = fake.sessions[fake.session_of(order.number)["id"]]
    session.update(status="complete", payment_status="paid", payment_intent="pi_forged")
    event = fake.event("checkout.session.completed", session)
    payload = json.dumps(event).encode()
    tampered = re.sub(rb'"amount_total": \d+', b'"amount_total": 1', payload)
    assert tampered != payload
    attempts = [
        sign(payload, "whsec_someone_else"),  # another endpoint's secret
        sign(payload, fake.webhook_secret, stale()),  # older than 300 seconds
        sign(payload, fake.webhook_secret).replace("v1=", "v0="),  # not the v1 scheme
        "",  # no signature
    ]
    for header in attempts:
        status, body = await stripe_shop.post(event, header=header)
        assert (status, body) == (400, {"error": "bad signature"})
    status, _ = await stripe_shop.post(event, header=sign(payload, fake.webhook_secret),
                                       body=tampered)
    assert status == 400  # signed, then altered
    assert (await stripe_shop.order(order.number)).status == "pending_payment"
    assert await stripe_shop.rows(PaymentInboxEntry) == [] and await stripe_shop.rows(Payment) == []
    assert await stripe_shop.told("order_paid") == []


async def test_an_amount_that_is_not_the_orders_is_refused_and_alerted(
    stripe_shop: StripeShop
) -> None:
    fake = stripe_shop.fake
    order, link = await stripe_shop.placed()
    await stripe_shop.open_link(link)
    session = fake.sessions[fake.session_of(order.number)["id"]]
    session["amount_total"] = order.total - 100  # what Stripe says was paid
    await fake.complete(session["id"], "card")
    assert (await stripe_shop.order(order.number)).status == "pending_payment"
    (alert,) = await stripe_shop.told("alert_payment_problem")
    assert (alert["problem"], alert["refunded"]) == ("amount_mismatch", order.total - 100)
    (refund,) = fake.refunds  # the money went back through Stripe
    assert (refund["payment_intent"], refund["amount"]) == (session["payment_intent"],
                                                             order.total - 100)
    (row,) = await stripe_shop.rows(Refund)
    assert row.status == "succeeded" and row.provider_refund_id == refund["id"]


async def test_a_payment_after_the_deadline_is_refunded_and_the_customer_told(
    stripe_shop: StripeShop
) -> None:
    shop, fake = stripe_shop.shop, stripe_shop.fake
    order, link = await stripe_shop.placed()
    page = await stripe_shop.open_link(link)  # the customer opened Stripe's page in time
    shop.clock.advance(minutes=31)
    assert await shop.services.sweeps.expire_unpaid() == 1
    await stripe_shop.pay_on_stripe(page, "card")  # ... and paid after the deadline
    assert (await stripe_shop.order(order.number)).status == "expired"
    (refund,) = fake.refunds
    assert refund["amount"] == order.total
    assert [n["amount"] for n in await stripe_shop.told("order_refunded")] == [order.total]
    (alert,) = await stripe_shop.told("alert_payment_problem")
    assert alert["problem"] == "late_payment"


async def test_a_session_that_expires_at_stripe_expires_the_order(
    stripe_shop: StripeShop
) -> None:
    fake = stripe_shop.fake
    order, link = await stripe_shop.placed()
    await stripe_shop.open_link(link)
    event = await fake.expire(fake.session_of(order.number)["id"])
    assert (await stripe_shop.order(order.number)).status == "expired"
    assert await stripe_shop.post(event) == (200, {"event": event["id"], "result": "ignored",
                                                   "order": order.number})
    assert [n["order_number"] for n in await stripe_shop.told("order_expired")] == [order.number]
    async with aiohttp.ClientSession() as client, client.get(link) as response:
        assert "no longer waiting for payment" in await response.text()


async def test_a_failed_alipay_payment_cancels_the_order(stripe_shop: StripeShop) -> None:
    fake = stripe_shop.fake
    order, link = await stripe_shop.placed()
    await stripe_shop.pay_on_stripe(await stripe_shop.open_link(link), "alipay")
    await fake.settle_async(fake.session_of(order.number)["id"], succeeded=False)
    assert (await stripe_shop.order(order.number)).status == "expired"
    assert len(await stripe_shop.told("stripe_payment_failed")) == 1
    assert await stripe_shop.rows(Payment) == []


async def test_a_partial_refund_from_the_admin_card_reaches_stripe_once(
    stripe_shop: StripeShop
) -> None:
    shop, fake = stripe_shop.shop, stripe_shop.fake
    boss = shop.admin_chat.as_user(shop.merchant)
    order, link = await stripe_shop.placed()
    await stripe_shop.pay_on_stripe(await stripe_shop.open_link(link), "card")
    card = await card_shown(boss, order.number, "Awaiting review")
    await press(boss, "💸 Refund part", card.message_id)
    await press(boss, "💸 Refund part", card.message_id)  # pressed twice
    question = await new_message(boss, f"How much of order No. {order.number} should be")
    await boss.send("12.50", reply_to=question.message_id)
    await new_message(boss, "CN¥12.50")
    posted = [key for _, path, key in fake.requests if path == "/v1/refunds"]
    (row,) = await stripe_shop.rows(Refund)
    assert posted == [row.idempotency_key] and row.status == "succeeded"
    (refund,) = fake.refunds
    assert (refund["amount"], refund["payment_intent"]) == (1250, fake.session_of(
        order.number)["payment_intent"])
    # Stripe's charge.refunded for it: already in the ledger, no alert.
    intent = fake.session_of(order.number)["payment_intent"]
    status, body = await stripe_shop.post(fake.charge_refunded(intent))
    assert (status, body["result"]) == (200, "refund_seen")
    assert await stripe_shop.told("alert_stripe_refund_outside") == []
    fake.intents[intent]["amount_refunded"] += 500  # a refund made in Stripe's dashboard
    dashboard = fake.charge_refunded(intent)
    answers = await asyncio.gather(*(stripe_shop.post(dashboard) for _ in range(3)))
    assert sorted(body["result"] for _, body in answers) == ["refund_recorded"] + [
        "refund_seen"] * 2
    (alert,) = await stripe_shop.told("alert_stripe_refund_outside")  # once for the event
    assert alert["amount"] == 500
    rows = await stripe_shop.rows(Refund)
    assert [(r.amount, r.status) for r in rows] == [(1250, "succeeded"), (500, "succeeded")]
    assert (await shop.services.orders.detail(order.id)).refunded == 1750
    status, body = await stripe_shop.post(fake.charge_refunded(intent))  # a later redelivery
    assert body["result"] == "refund_seen" and len(await stripe_shop.rows(Refund)) == 2


async def test_forged_links_and_the_way_back_from_stripe(stripe_shop: StripeShop) -> None:
    order, link = await stripe_shop.placed()
    page = await stripe_shop.open_link(link)
    session = stripe_shop.fake.session_of(order.number)
    chat = f"https://t.me/{stripe_shop.shop.sandbox.bot.user.username}"
    async with aiohttp.ClientSession() as client:
        async with client.get(session["cancel_url"]) as back:  # "back" on Stripe's page
            text = await back.text()
            assert back.status == 200 and "Nothing was charged" in text and chat in text
        forged = [link.replace(order.number, str(int(order.number) + 1)),
                  link[:-4] + "0000", session["cancel_url"].replace("sig=", "sig=0")]
        for url in forged:
            async with client.get(url, allow_redirects=False) as refused:
                assert refused.status == 403 and "not valid" in await refused.text()
    assert len(stripe_shop.fake.sessions) == 1 and page == session["url"]
    assert (await stripe_shop.order(order.number)).status == "pending_payment"
