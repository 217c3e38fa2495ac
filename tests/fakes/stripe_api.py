"""A local stand-in for the parts of Stripe the shop uses, so no test ever reaches Stripe.

    async with running_fake_stripe(now=clock.now) as fake:
        provider = StripeProvider(fake.api_key, fake.webhook_secret, ..., api_base=fake.url)

What it copies from Stripe (docs.stripe.com/api, stripe-python's own test fixtures):
- `Authorization: Bearer <secret key>` checked (401 with Stripe's error body otherwise);
  bodies form-encoded the way Stripe's libraries encode them (`line_items[0][price_data][...]`).
- `Idempotency-Key`: a repeated key with the same parameters answers the first response again
  (header `Idempotent-Replayed: true`); with other parameters, 400 `idempotency_error`.
- POST /v1/checkout/sessions: Stripe's checks that matter here (mode, line items in one
  currency, expires_at 30 min to 24 h ahead, wechat_pay needs payment_method_options.wechat_pay
  .client, amount at least the currency's minimum), and a `checkout.session` object back.
- POST /v1/refunds: against a PaymentIntent, at most what is left unrefunded
  (`charge_already_refunded`, `amount_too_large` otherwise), a `refund` object back.
- The hosted page `/c/pay/<session id>`: what the customer does on Stripe; paying sends the
  webhooks Stripe sends (`checkout.session.completed`, then for Alipay
  `checkout.session.async_payment_succeeded` or `..._failed` once the wallet answers), signed
  with Stripe's scheme (`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">`).
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.payments.stripe import MINIMUM, ZERO_DECIMAL

API_VERSION = "2025-09-30.clover"
_counter = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(8)}{next(_counter)}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back into nested dicts and lists: a[b][0][c]=1."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        *path, last = re.findall(r"[^\[\]]+", key)
        node = root
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return {key: _lists(value) for key, value in root.items()}


def _lists(value: Any) -> Any:
    """Dicts keyed 0, 1, 2 ... become lists."""
    if not isinstance(value, dict):
        return value
    items = {k: _lists(v) for k, v in value.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, as Stripe signs webhooks."""
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def _error(status: int, message: str, kind: str = "invalid_request_error", code: str = "",
           param: str = "") -> web.Response:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return web.json_response({"error": body}, status=status)


@dataclass
class FakeStripe:
    """Stripe's API, hosted pages and webhooks, in memory."""

    now: Callable[[], datetime]
    api_key: str = field(default_factory=lambda: f"sk_test_{secrets.token_hex(12)}")
    webhook_secret: str = field(default_factory=lambda: f"whsec_{secrets.token_hex(16)}")
    url: str = ""
    webhook_url: str = ""  # where events go (the shop's /stripe/webhook)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, key
    deliveries: list[tuple[str, int]] = field(default_factory=list)  # event type, HTTP status
    drop_refund_answers: int = 0  # refunds made whose answer is lost (a timeout, a crash)
    fail_sessions: int = 0  # session creations that fail inside Stripe (500, kept for the key)
    _answers: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = field(default_factory=dict)

    # -- the API -----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._api(self._create_session))
        app.router.add_post("/v1/refunds", self._api(self._create_refund))
        app.router.add_get("/c/pay/{id}", self._page)
        app.router.add_post("/c/pay/{id}", self._pay)
        return app

    def _api(self, handler: Callable[[dict[str, Any]], web.Response]
             ) -> Callable[[web.Request], Any]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            key = request.headers.get("Idempotency-Key")
            self.requests.append((request.method, request.path, key))
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                return _error(401, "Invalid API Key provided.")
            if request.content_type != "application/x-www-form-urlencoded":
                return _error(400, "Stripe expects a form-encoded body.")
            params = decode_form(list((await request.post()).items()))  # type: ignore[arg-type]
            if key is not None and key in self._answers:
                before, status, body = self._answers[key]
                if before != params:
                    return _error(400, "Keys for idempotent requests can only be used with the "
                                  "same parameters they were first used with.",
                                  kind="idempotency_error")
                response: web.StreamResponse = web.json_response(body, status=status)
                response.headers["Idempotent-Replayed"] = "true"
            else:
                response = handler(params)
                if key is not None and response.status != 400:  # validation errors are not kept
                    assert isinstance(response, web.Response) and response.text is not None
                    self._answers[key] = (params, response.status, json.loads(response.text))
            if request.path == "/v1/refunds" and self.drop_refund_answers > 0:
                self.drop_refund_answers -= 1
                assert request.transport is not None
                request.transport.close()  # done at Stripe; the answer never arrives
            return response

        return endpoint

    def _create_session(self, params: dict[str, Any]) -> web.Response:
        if self.fail_sessions > 0:
            self.fail_sessions -= 1
            return _error(500, "An unknown error occurred", kind="api_error")
        if params.get("mode") != "payment":
            return _error(400, "Only payment mode is used here.", param="mode")
        items = params.get("line_items") or []
        currencies = {item["price_data"]["currency"] for item in items}
        if not items or len(currencies) != 1:
            return _error(400, "All line items must be in one currency.", param="line_items")
        (currency,) = currencies
        if currency != currency.lower():
            return _error(400, f"Invalid currency: {currency}.", param="currency")
        methods = params.get("payment_method_types") or ["card"]
        wechat = (params.get("payment_method_options") or {}).get("wechat_pay") or {}
        if "wechat_pay" in methods and wechat.get("client") not in ("web", "ios", "android"):
            return _error(400, "payment_method_options[wechat_pay][client] is required.",
                          param="payment_method_options[wechat_pay][client]")
        now = int(self.now().timestamp())
        expires = int(params.get("expires_at") or now + 86400)
        if not now + 1800 <= expires <= now + 86400:
            return _error(400, "The `expires_at` timestamp must be between 30 minutes and 24 "
                          "hours from Checkout Session creation.", param="expires_at")
        total = sum(int(i["price_data"]["unit_amount"]) * int(i["quantity"]) for i in items)
        shop_total = total * 100 if currency.upper() in ZERO_DECIMAL else total
        if shop_total < MINIMUM.get(currency.upper(), 50):
            return _error(400, "The Checkout Session's total amount due must add up to at least "
                          "the minimum charge.", code="amount_too_small")
        sid = _id("cs")
        session = {
            "id": sid, "object": "checkout.session", "amount_subtotal": total,
            "amount_total": total, "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"), "created": now,
            "currency": currency, "expires_at": expires, "livemode": False,
            "metadata": params.get("metadata") or {}, "mode": "payment",
            "payment_intent": None, "payment_method_types": methods,
            "payment_status": "unpaid", "status": "open",
            "success_url": params.get("success_url"), "url": f"{self.url}/c/pay/{sid}",
            "_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
        }
        self.sessions[sid] = session
        return web.json_response(self._public(session))

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _create_refund(self, params: dict[str, Any]) -> web.Response:
        intent = self.intents.get(str(params.get("payment_intent")))
        if intent is None or intent["status"] != "succeeded":
            return _error(400, f"No such payment_intent: '{params.get('payment_intent')}'",
                          code="resource_missing", param="payment_intent")
        left = intent["amount"] - intent["amount_refunded"]
        amount = int(params.get("amount") or left)
        if left <= 0:
            return _error(400, "Charge has already been refunded.",
                          code="charge_already_refunded")
        if not 0 < amount <= left:
            return _error(400, f"Refund amount ({amount}) is greater than unrefunded amount on "
                          f"charge ({left})", code="amount_too_large", param="amount")
        intent["amount_refunded"] += amount
        refund = {"id": _id("re"), "object": "refund", "amount": amount,
                  "charge": intent["latest_charge"], "created": int(self.now().timestamp()),
                  "currency": intent["currency"], "metadata": params.get("metadata") or {},
                  "payment_intent": intent["id"], "reason": None, "status": "succeeded"}
        self.refunds.append(refund)
        return web.json_response(refund)

    # -- the hosted page and what paying there sends ----------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return web.Response(status=404, text="Something went wrong")
        return web.Response(text=f"Pay {session['amount_total']} {session['currency']}",
                            content_type="text/html")

    async def _pay(self, request: web.Request) -> web.Response:
        """The customer pays on the page: form field `method` (card, alipay, wechat_pay)."""
        form = await request.post()
        session = self.sessions.get(request.match_info["id"])
        method = str(form.get("method", "card"))
        if session is None or session["status"] != "open":
            return web.Response(status=410, text="This Checkout Session is no longer active.")
        if method not in session["payment_method_types"]:
            return web.Response(status=400, text="That payment method is not offered.")
        await self.complete(session["id"], method)
        target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
        raise web.HTTPSeeOther(target)

    def _intent(self, session: dict[str, Any], method: str, status: str) -> dict[str, Any]:
        intent = {"id": _id("pi"), "object": "payment_intent", "amount": session["amount_total"],
                  "amount_refunded": 0, "currency": session["currency"],
                  "latest_charge": _id("ch"), "metadata": session["_intent_metadata"],
                  "payment_method_types": [method], "status": status}
        self.intents[intent["id"]] = intent
        return intent

    async def complete(self, session_id: str, method: str = "card",
                       send: bool = True) -> dict[str, Any]:
        """The customer pays: a card is paid at once; Alipay waits for the wallet
        (`settle_async`). Sends checkout.session.completed (unless `send` is False: the
        caller delivers it); returns the event."""
        session = self.sessions[session_id]
        paid = method in ("card", "wechat_pay")
        intent = self._intent(session, method, "succeeded" if paid else "processing")
        session.update(status="complete", payment_status="paid" if paid else "unpaid",
                       payment_intent=intent["id"])
        event = self.event("checkout.session.completed", self._public(session))
        if send:
            await self.send(event)
        return event

    async def settle_async(self, session_id: str, succeeded: bool = True) -> dict[str, Any]:
        """The wallet answers a delayed payment: Stripe sends ..._succeeded or ..._failed."""
        session = self.sessions[session_id]
        intent = self.intents[session["payment_intent"]]
        intent["status"] = "succeeded" if succeeded else "requires_payment_method"
        if succeeded:
            session["payment_status"] = "paid"
        kind = "succeeded" if succeeded else "failed"
        event = self.event(f"checkout.session.async_payment_{kind}", self._public(session))
        await self.send(event)
        return event

    async def expire(self, session_id: str) -> dict[str, Any]:
        """The session's expires_at passed unpaid: checkout.session.expired."""
        session = self.sessions[session_id]
        session.update(status="expired")
        event = self.event("checkout.session.expired", self._public(session))
        await self.send(event)
        return event

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """An event object as Stripe posts it."""
        return {"id": _id("evt"), "object": "event", "api_version": API_VERSION,
                "created": int(self.now().timestamp()), "data": {"object": dict(obj)},
                "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "type": kind}

    def charge_refunded(self, intent_id: str) -> dict[str, Any]:
        """The charge.refunded event of a PaymentIntent's charge, as it stands."""
        intent = self.intents[intent_id]
        charge = {"id": intent["latest_charge"], "object": "charge", "amount": intent["amount"],
                  "amount_refunded": intent["amount_refunded"], "currency": intent["currency"],
                  "metadata": intent["metadata"], "payment_intent": intent_id,
                  "refunded": intent["amount_refunded"] == intent["amount"]}
        return self.event("charge.refunded", charge)

    async def send(self, event: dict[str, Any], *, timestamp: int | None = None,
                   secret: str | None = None) -> tuple[int, dict[str, Any]]:
        """Post an event to the webhook URL, signed (with another secret or time if asked)."""
        payload = json.dumps(event).encode()
        header = sign(payload, secret or self.webhook_secret, timestamp)
        async with aiohttp.ClientSession() as client, client.post(
                self.webhook_url, data=payload,
                headers={"Stripe-Signature": header, "Content-Type": "application/json"}) as r:
            body = await r.json(content_type=None)
        self.deliveries.append((event["type"], r.status))
        return r.status, body

    def session_of(self, order_number: str) -> dict[str, Any]:
        """The one session made for an order."""
        (session,) = [s for s in self.sessions.values()
                      if s["client_reference_id"] == order_number]
        return session


@asynccontextmanager
async def running_fake_stripe(now: Callable[[], datetime] | None = None
                              ) -> AsyncIterator[FakeStripe]:
    """The fake served on 127.0.0.1 at a free port."""
    fake = FakeStripe(now=now or (lambda: datetime.now(UTC)))
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        await server.close()


def stale(seconds: int = 301) -> int:
    """A signing time older than Stripe's default tolerance of 300 seconds."""
    return int(time.time()) - seconds

