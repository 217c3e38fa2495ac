"""The `stripe` provider: Stripe Checkout links (cards, Alipay, WeChat Pay), signed webhooks,
refunds through Stripe's API.

- The Pay button opens `<web.public_url>/stripe/pay?order=..&sig=..` (bot/stripe_web.py): a link
  signed like the sandbox's, made without calling Stripe, so an order card can show it any
  number of times. Opening it creates the order's Checkout Session and redirects there. The
  session is created with the idempotency key `shopbot-checkout-<order number>` and parameters
  that depend on the order alone, so opening the link again (within Stripe's 24 hours of
  idempotency) gives the same session, never a second one that could be paid too.
- Webhooks are verified with Stripe's scheme (`Stripe-Signature: t=..,v1=..`, HMAC-SHA256 of
  "t.payload" with the endpoint secret, 300 s tolerance) by `stripe.WebhookSignature`. A paid
  session becomes a `PaymentEvent` whose charge id is the PaymentIntent id: the payment inbox
  records it and applies it once, whichever of `checkout.session.completed` and
  `checkout.session.async_payment_succeeded` comes first and however often.
- Refunds: `POST /v1/refunds` for the PaymentIntent with the refund intent's idempotency key.

Amounts: the shop keeps every price in hundredths (services/payments/ledger.py, the money
format); Stripe wants the currency's own minor unit, so a zero-decimal currency (JPY, KRW ...)
is divided by 100 on the way out and multiplied on the way in.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import stripe

from services.errors import PaymentError
from services.payments.providers import (
    CURRENCY,
    MAX_AMOUNT,
    PaymentEvent,
    PaymentRequest,
    RefundResult,
)

log = logging.getLogger(__name__)

TOLERANCE = 300  # seconds: Stripe's default for the age of a signed webhook
# Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF",
                          "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})
# Stripe's minimum charge per currency (docs.stripe.com/currencies#minimum-and-maximum-charge-
# amounts), in the shop's hundredths. CNY has no row there: a charge must be worth USD 0.50
# after conversion, taken here as CNY 4.00.
MINIMUM = {"USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50,
           "CNY": 400, "CZK": 1500, "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500,
           "INR": 50, "JPY": 5000, "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50, "PLN": 200,
           "RON": 200, "SEK": 300, "SGD": 50, "THB": 1000}
# What each payment method can charge in (Stripe's pages on Alipay and WeChat Pay).
METHOD_CURRENCIES: dict[str, frozenset[str] | None] = {
    "card": None,  # every currency in MINIMUM
    "alipay": frozenset({"AUD", "CAD", "CNY", "EUR", "GBP", "HKD", "JPY", "MYR", "NZD", "SGD",
                         "USD"}),
    "wechat_pay": frozenset({"AUD", "CAD", "CNY", "EUR", "GBP", "HKD", "JPY", "SGD", "USD", "DKK",
                             "NOK", "SEK", "CHF"}),
}
# Stripe accepts expires_at from 30 minutes to 24 hours after the session is created.
SESSION_MIN_LIFE, SESSION_MAX_LIFE = timedelta(minutes=30), timedelta(hours=24)
LIVE_PREFIXES = ("sk_live_", "rk_live_")


def currency_problem(currency: str, methods: tuple[str, ...]) -> str | None:
    """Why Stripe cannot charge this shop currency with these methods, or None."""
    if currency not in MINIMUM:
        return f"Stripe is not set up here for {currency} (known: {', '.join(sorted(MINIMUM))})"
    for method in methods:
        allowed = METHOD_CURRENCIES[method]
        if allowed is not None and currency not in allowed:
            return f"{method} cannot charge in {currency} (it can in {', '.join(sorted(allowed))})"
    return None


def to_stripe(amount: int, currency: str) -> int:
    """Shop hundredths -> Stripe's minor unit (PaymentError for a fraction of a yen)."""
    if currency.upper() not in ZERO_DECIMAL:
        return amount
    if amount % 100:
        raise PaymentError(f"{amount / 100} {currency} is not a whole amount")
    return amount // 100


def from_stripe(amount: int, currency: str) -> int:
    """Stripe's minor unit -> shop hundredths."""
    return amount * 100 if currency.upper() in ZERO_DECIMAL else amount


@dataclass(frozen=True)
class CheckoutLine:
    """A line of the Checkout page: what, at what unit price (shop hundredths), how many."""

    name: str
    unit_amount: int
    quantity: int


@dataclass(frozen=True)
class CheckoutOrder:
    """What a Checkout Session is made of: all of it comes from the order, nothing from now."""

    number: str
    lines: tuple[CheckoutLine, ...]
    total: int
    currency: str
    expires_at: datetime


@dataclass(frozen=True)
class StripeEvent:
    """A verified webhook: its id and type, the order it names, and the money it captured."""

    id: str
    type: str
    order_number: str
    payment: PaymentEvent | None = None  # a paid session, to apply through the payment inbox
    data: dict[str, Any] = field(default_factory=dict)  # the event's data.object


def session_expiry(deadline: datetime | None, created_at: datetime) -> datetime:
    """expires_at of an order's session, from the order alone, so that creating it again is the
    same request. Stripe wants it at least 30 minutes after the session is made, and the link
    may be opened up to the payment deadline: so 31 minutes after the deadline (within 24 hours
    of the order). The deadline itself still rules: money that comes after it is refunded."""
    deadline = deadline or created_at + SESSION_MIN_LIFE
    return min(deadline + SESSION_MIN_LIFE + timedelta(minutes=1),
               created_at + SESSION_MAX_LIFE - timedelta(minutes=5))


class StripeProvider:
    """Stripe Checkout: a hosted payment page per order, webhooks, refunds by API."""

    code = "stripe"
    online = True

    def __init__(self, api_key: str, webhook_secret: str, public_url: str,
                 methods: tuple[str, ...] = ("card",), api_base: str | None = None,
                 tolerance: int = TOLERANCE, network_retries: int = 2) -> None:
        if not api_key or not webhook_secret:
            raise ValueError("Stripe needs an API key and a webhook signing secret")
        self._secret = webhook_secret
        self._link_key = hmac.new(webhook_secret.encode(), b"shopbot pay link",
                                  hashlib.sha256).digest()
        self._public_url = public_url.rstrip("/")
        self.methods = methods
        self.tolerance = tolerance
        self.live = api_key.startswith(LIVE_PREFIXES)
        self._http = stripe.AIOHTTPClient()
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None,
            http_client=self._http, max_network_retries=network_retries)

    async def close(self) -> None:
        """Close the HTTP connections to Stripe."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # -- the link in the Pay button ------------------------------------------------------------

    def _sign(self, request_text: str) -> str:
        return hmac.new(self._link_key, request_text.encode(), hashlib.sha256).hexdigest()[:32]

    def create_link(self, request: PaymentRequest) -> str:
        """The bot's own link that opens the order's Checkout Session (no call to Stripe)."""
        query = urlencode({"order": request.order_number,
                           "sig": self._sign(request.order_number)})
        return f"{self._public_url}/stripe/pay?{query}"

    def link_is_genuine(self, order_number: str, sig: str) -> bool:
        """True when the link's order number is one this provider signed."""
        return hmac.compare_digest(self._sign(order_number), sig)

    def return_urls(self, order_number: str) -> tuple[str, str]:
        """Where Stripe sends the customer after paying, and after pressing back."""
        query = urlencode({"order": order_number, "sig": self._sign(order_number)})
        return (f"{self._public_url}/stripe/done?{query}&session_id={{CHECKOUT_SESSION_ID}}",
                f"{self._public_url}/stripe/cancel?{query}")

    # -- Checkout Sessions ---------------------------------------------------------------------

    def session_params(self, order: CheckoutOrder) -> dict[str, Any]:
        """The Checkout Session create parameters of an order."""
        currency = order.currency.lower()
        lines = order.lines
        if sum(line.unit_amount * line.quantity for line in lines) != order.total:
            lines = (CheckoutLine(f"Order {order.number}", order.total, 1),)
        success, cancel = self.return_urls(order.number)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": line.quantity, "price_data": {
                "currency": currency, "unit_amount": to_stripe(line.unit_amount, order.currency),
                "product_data": {"name": line.name[:250]}}} for line in lines],
            "payment_method_types": list(self.methods),
            "client_reference_id": order.number,
            "metadata": {"order_number": order.number},
            "payment_intent_data": {"metadata": {"order_number": order.number}},
            "expires_at": int(order.expires_at.timestamp()),
            "success_url": success,
            "cancel_url": cancel,
        }
        if "wechat_pay" in self.methods:
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        return params

    async def checkout_url(self, order: CheckoutOrder) -> str:
        """The URL of the order's Checkout Session: created once, the same one after that.

        PaymentError when Stripe refuses (a message for the log) or cannot be reached.
        """
        if order.total < MINIMUM.get(order.currency.upper(), 0):
            raise PaymentError("below Stripe's minimum charge")
        params = self.session_params(order)
        # Stripe keeps a key's first answer for 24 hours, a 500 too: after one, the second key
        # (at worst a second session, and money paid twice goes back as a double payment).
        for key in (f"shopbot-checkout-{order.number}", f"shopbot-checkout-{order.number}-2"):
            try:
                session = await self._client.v1.checkout.sessions.create_async(
                    params, {"idempotency_key": key})  # type: ignore[arg-type]
                break
            except stripe.APIError as error:  # Stripe's own failure
                failure: stripe.StripeError = error
            except stripe.StripeError as error:
                raise PaymentError(f"Stripe: {error.user_message or error}") from error
        else:
            raise PaymentError(f"Stripe: {failure}") from failure
        if not session.url:
            raise PaymentError("Stripe: the session has no URL")
        return str(session.url)

    # -- webhooks --------------------------------------------------------------------------------

    def parse(self, body: bytes, signature: str) -> StripeEvent:
        """A webhook's event once its signature is checked: PaymentError when it is not
        genuine, too old, or not shaped like Stripe's events."""
        try:
            payload = body.decode("utf-8")
            stripe.WebhookSignature.verify_header(  # type: ignore[no-untyped-call]
                payload, signature or "", self._secret, self.tolerance)
        except (UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
            raise PaymentError("bad signature") from exc
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise PaymentError("malformed event") from exc
        if not isinstance(data, dict):
            raise PaymentError("malformed event")
        event_id, kind = data.get("id"), data.get("type")
        wrapper = data.get("data")
        obj = wrapper.get("object") if isinstance(wrapper, dict) else None
        if not (isinstance(event_id, str) and isinstance(kind, str) and isinstance(obj, dict)):
            raise PaymentError("malformed event: id, type, data.object")
        metadata = obj.get("metadata")
        number = obj.get("client_reference_id") or (
            metadata.get("order_number") if isinstance(metadata, dict) else "") or ""
        if not isinstance(number, str) or len(number) > 64:
            raise PaymentError("malformed event: order")
        payment = None
        if kind == "checkout.session.async_payment_succeeded" or (
                kind == "checkout.session.completed" and obj.get("payment_status") == "paid"):
            payment = self._payment(event_id, kind, number, obj)
        return StripeEvent(event_id, kind, number, payment, obj)

    def _payment(self, event_id: str, kind: str, number: str, obj: dict[str, Any]) -> PaymentEvent:
        intent, amount, currency = (obj.get(k) for k in ("payment_intent", "amount_total",
                                                          "currency"))
        if not (isinstance(intent, str) and 0 < len(intent) <= 128 and number):
            raise PaymentError("malformed event: payment_intent and order")
        if not (isinstance(currency, str) and CURRENCY.fullmatch(currency.upper())):
            raise PaymentError("malformed event: currency")
        if type(amount) is not int or not 0 < from_stripe(amount, currency) <= MAX_AMOUNT:
            raise PaymentError("malformed event: amount")
        raw = {"event": event_id, "type": kind, "session": obj.get("id"),
               "payment_intent": intent}
        return PaymentEvent(self.code, intent, number, from_stripe(amount, currency),
                            currency.upper(), raw)

    def verify_event(self, body: bytes, signature: str) -> PaymentEvent:
        """A paid session's capture (PaymentError for any other event)."""
        event = self.parse(body, signature)
        if event.payment is None:
            raise PaymentError("not a capture event")
        return event.payment

    # -- refunds ---------------------------------------------------------------------------------

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        """Refund `amount` of a PaymentIntent. Stripe answers a repeated idempotency key with
        the first refund. A refusal is an answer (the merchant is alerted); a network error or
        Stripe's own error raises, and the money sweep calls again with the same key."""
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": charge_id, "amount": to_stripe(amount, currency),
                 "metadata": {"shopbot_key": idempotency_key}},
                {"idempotency_key": idempotency_key})
        except (stripe.InvalidRequestError, stripe.CardError) as error:
            return RefundResult(ok=False, error=str(error.user_message or error)[:500])
        if refund.status == "failed":
            return RefundResult(ok=False, provider_refund_id=refund.id,
                                error=f"Stripe: {refund.failure_reason or 'failed'}")
        return RefundResult(ok=True, provider_refund_id=refund.id)
