"""The sandbox provider's pay page over HTTP: signed links only, one charge per link, Fail leaves it unpaid."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.paypage import PREFIX, SIGNATURE_HEADER, pay_page_app
from models import Order
from models import Payment as PaymentRow
from services.container import Services
from services.orders.dto import PlacedOrder
from services.payments.providers import PaymentRequest
from services.payments.sandbox import SandboxProvider
from tests.shop import buyer, place, seed_shop


@pytest.fixture
async def client(svc: Services) -> AsyncIterator[TestClient]:
    """An HTTP client of a web app with the pay page mounted, as bot/web.py mounts it."""
    root = web.Application()
    provider = svc.ctx.payments.get("sandbox")
    assert isinstance(provider, SandboxProvider)
    root.add_subapp(PREFIX, pay_page_app(svc, provider))
    async with TestClient(TestServer(root)) as test_client:
        yield test_client


@pytest.fixture
async def order(svc: Services) -> PlacedOrder:
    """An unpaid order of 2 teas (standard delivery: 110.00 CNY)."""
    shop = await seed_shop(svc.ctx.db)
    return await place(svc, await buyer(svc), {shop.tea: 2})


async def link_query(svc: Services, order: PlacedOrder) -> dict[str, str]:
    """The query of the order's payment link, as the bot hands it out."""
    link = await svc.payments.payment_link(order_id=order.id, customer_id=(await buyer(svc)).id)
    parts = urlsplit(link)
    assert parts.path == "/pay/sandbox"
    return dict(parse_qsl(parts.query))


def signed_query(svc: Services, number: str, amount: int) -> dict[str, str]:
    """A genuinely signed link's query for any order number (the provider signs what it is given)."""
    provider = svc.ctx.payments.get("sandbox")
    link = provider.create_link(PaymentRequest(0, number, amount, "CNY", ""))
    return dict(parse_qsl(urlsplit(link).query))


async def status_of(svc: Services, order: PlacedOrder) -> str:
    """The order's status now."""
    async with svc.ctx.db.read() as session:
        return str(await session.scalar(select(Order.status).where(Order.id == order.id)))


async def payment_count(svc: Services) -> int:
    """Captured payments in the database."""
    async with svc.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(PaymentRow)) or 0)


async def test_a_valid_link_shows_the_page(client: TestClient, svc: Services, order: PlacedOrder) -> None:
    response = await client.get("/pay/sandbox", params=await link_query(svc, order))
    page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert f"Order No. {order.number}" in page and "CN¥110.00" in page
    assert 'value="pay"' in page and 'value="fail"' in page and 'action="/pay/sandbox/confirm"' in page
    assert "http" not in page.replace('lang="en"', "")  # no external assets


async def test_the_page_speaks_chinese(client: TestClient, svc: Services, order: PlacedOrder) -> None:
    response = await client.get("/pay/sandbox", params=await link_query(svc, order),
                                headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert f"订单 {order.number}" in await response.text()


@pytest.mark.parametrize("change", [
    {"amount": "1"}, {"sig": "0" * 64}, {"currency": "USD"}, {"order": "000000000000"},
    {"amount": "abc"}, {"sig": ""},
])
async def test_a_forged_link_is_refused(client: TestClient, svc: Services, order: PlacedOrder,
                                        change: dict[str, str]) -> None:
    query = {**await link_query(svc, order), **change}
    response = await client.get("/pay/sandbox", params=query)
    assert response.status == 403 and "not valid" in await response.text()
    response = await client.post("/pay/sandbox/confirm", data={**query, "action": "pay"})
    assert response.status == 403
    assert await payment_count(svc) == 0 and await status_of(svc, order) == "pending_payment"


async def test_missing_fields_are_refused(client: TestClient) -> None:
    assert (await client.get("/pay/sandbox")).status == 403
    assert (await client.post("/pay/sandbox/confirm", data={"action": "pay"})).status == 403


async def test_pay_twice_charges_once(client: TestClient, svc: Services, order: PlacedOrder) -> None:
    form = {**await link_query(svc, order), "action": "pay"}
    first = await client.post("/pay/sandbox/confirm", data=form)
    assert first.status == 200 and "Paid" in await first.text()
    second = await client.post("/pay/sandbox/confirm", data=form)  # a double click
    assert second.status == 200 and "Paid" in await second.text()
    assert await payment_count(svc) == 1
    assert await status_of(svc, order) == "awaiting_review"
    again = await client.get("/pay/sandbox", params=signed_query(svc, order.number, order.total))
    assert "no longer waiting for payment" in await again.text() and 'value="pay"' not in await again.text()


async def test_fail_leaves_the_order_unpaid(client: TestClient, svc: Services, order: PlacedOrder) -> None:
    response = await client.post("/pay/sandbox/confirm",
                                 data={**await link_query(svc, order), "action": "fail"})
    assert response.status == 200 and "Payment failed" in await response.text()
    assert await payment_count(svc) == 0 and await status_of(svc, order) == "pending_payment"


async def test_paying_after_the_deadline_is_refunded(client: TestClient, svc: Services,
                                                      order: PlacedOrder) -> None:
    form = {**await link_query(svc, order), "action": "pay"}
    svc.ctx.clock.advance(minutes=31)  # type: ignore[attr-defined]
    await svc.sweeps.expire_unpaid()
    response = await client.post("/pay/sandbox/confirm", data=form)
    assert response.status == 200 and "money is being returned" in await response.text()
    assert await status_of(svc, order) == "expired"


async def test_provider_callback(client: TestClient, svc: Services, order: PlacedOrder) -> None:
    provider = svc.ctx.payments.get("sandbox")
    assert isinstance(provider, SandboxProvider)
    body = provider.event_body(order.number, order.total, "CNY", "sbx_callback_1")
    bad = await client.post("/pay/sandbox/callback", data=body, headers={SIGNATURE_HEADER: "0" * 64})
    assert bad.status == 400 and await payment_count(svc) == 0
    unsigned = await client.post("/pay/sandbox/callback", data=body)
    assert unsigned.status == 400
    good = await client.post("/pay/sandbox/callback", data=body,
                             headers={SIGNATURE_HEADER: provider.sign(body)})
    assert good.status == 200 and (await good.json())["status"] == "awaiting_review"
    again = await client.post("/pay/sandbox/callback", data=body,
                              headers={SIGNATURE_HEADER: provider.sign(body)})
    assert (await again.json())["duplicate"] is True and await payment_count(svc) == 1
    junk = b"not json"
    refused = await client.post("/pay/sandbox/callback", data=junk,
                                headers={SIGNATURE_HEADER: provider.sign(junk)})
    assert refused.status == 400
    huge = await client.post("/pay/sandbox/callback", data=b"x" * 20_000)
    assert huge.status in (400, 413)


async def test_unknown_order_on_a_genuine_link(client: TestClient, svc: Services) -> None:
    await seed_shop(svc.ctx.db)
    query = signed_query(svc, "999999999999", 100)
    assert (await client.get("/pay/sandbox", params=query)).status == 404
    response = await client.post("/pay/sandbox/confirm", data={**query, "action": "pay"})
    assert response.status == 400 and await payment_count(svc) == 0


@pytest.mark.parametrize("fields", [
    {"amount": -11000}, {"amount": 0}, {"amount": 2**31}, {"amount": 2**63}, {"amount": "11000"},
    {"amount": "lots"}, {"amount": 110.5}, {"amount": None}, {"currency": "元"},
    {"charge_id": ""}, {"order": None}, {"type": "charge.refunded"},
])
async def test_a_signed_callback_with_bad_fields_answers_400(
    client: TestClient, svc: Services, order: PlacedOrder, fields: dict[str, object],
    caplog: pytest.LogCaptureFixture
) -> None:
    provider = svc.ctx.payments.get("sandbox")
    assert isinstance(provider, SandboxProvider)
    data = json.loads(provider.event_body(order.number, order.total, "CNY", "sbx_bad"))
    body = json.dumps({**data, **fields}).encode()
    response = await client.post("/pay/sandbox/callback", data=body,
                                 headers={SIGNATURE_HEADER: provider.sign(body)})
    assert response.status == 400 and "error" in await response.json()
    assert await payment_count(svc) == 0
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_signed_callback_without_a_field_answers_400(
    client: TestClient, svc: Services, order: PlacedOrder
) -> None:
    provider = svc.ctx.payments.get("sandbox")
    assert isinstance(provider, SandboxProvider)
    data = json.loads(provider.event_body(order.number, order.total, "CNY", "sbx_bad"))
    for missing in data:
        body = json.dumps({k: v for k, v in data.items() if k != missing}).encode()
        response = await client.post("/pay/sandbox/callback", data=body,
                                     headers={SIGNATURE_HEADER: provider.sign(body)})
        assert response.status == 400, missing
    assert await payment_count(svc) == 0
    # The page and a genuine callback still work.
    good = provider.event_body(order.number, order.total, "CNY", "sbx_good")
    response = await client.post("/pay/sandbox/callback", data=good,
                                  headers={SIGNATURE_HEADER: provider.sign(good)})
    assert response.status == 200 and (await response.json())["status"] == "awaiting_review"
