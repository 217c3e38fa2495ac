"""The `sandbox` provider: a local payment page whose callbacks are HMAC-signed, as a real PSP's
are."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlencode

from services.errors import PaymentError
from services.payments.providers import (
    CURRENCY,
    MAX_AMOUNT,
    PaymentEvent,
    PaymentRequest,
    RefundResult,
)


class SandboxProvider:
    """Pays through the bot's own web page; refunds succeed unless the charge id asks to fail."""

    code = "sandbox"
    online = True

    def __init__(self, secret: str, base_url: str) -> None:
        if not secret:
            raise ValueError("the sandbox payment secret must not be empty")
        self._secret = secret.encode()
        self._base_url = base_url.rstrip("/")
        self.refunds: list[tuple[str, int]] = []
        # idempotency key -> (what was asked, the answer), as Stripe keeps them
        self._answered: dict[str, tuple[tuple[str, int, str], RefundResult]] = {}

    def sign(self, body: bytes) -> str:
        """The signature the sandbox page sends with a callback body."""
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def create_link(self, request: PaymentRequest) -> str:
        """A link to the local pay page, its query signed so the amount cannot be altered."""
        query = {"order": request.order_number, "amount": request.amount,
                 "currency": request.currency}
        token = self.sign(urlencode(query).encode())
        return f"{self._base_url}/pay/sandbox?{urlencode({**query, 'sig': token})}"

    def link_is_genuine(self, order: str, amount: int, currency: str, sig: str) -> bool:
        """True when the pay page's query is one this provider signed."""
        query = urlencode({"order": order, "amount": amount, "currency": currency})
        return hmac.compare_digest(self.sign(query.encode()), sig)

    def event_body(self, order_number: str, amount: int, currency: str,
                   charge_id: str = "") -> bytes:
        """The callback body the pay page posts when the customer presses Pay."""
        charge = charge_id or f"sbx_{secrets.token_hex(8)}"
        payload = {"type": "charge.succeeded", "charge_id": charge, "order": order_number,
                   "amount": amount, "currency": currency}
        return json.dumps(payload, sort_keys=True).encode()

    def verify_event(self, body: bytes, signature: str) -> PaymentEvent:
        """Check the signature and the shape of a callback: PaymentError for anything that is
        not a genuine capture of a positive amount (a signed body can still be malformed)."""
        if not hmac.compare_digest(self.sign(body), signature or ""):
            raise PaymentError("bad signature")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
            raise PaymentError("malformed event") from exc
        if not isinstance(data, dict) or data.get("type") != "charge.succeeded":
            raise PaymentError("not a capture event")
        charge, order, amount, currency = (data.get(k) for k in
                                           ("charge_id", "order", "amount", "currency"))
        if not (isinstance(charge, str) and 0 < len(charge) <= 128
                and isinstance(order, str) and 0 < len(order) <= 64):
            raise PaymentError("malformed event: charge_id and order")
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:  # bool and 1.5 are not
            raise PaymentError("malformed event: amount")
        if not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
            raise PaymentError("malformed event: currency")
        return PaymentEvent(self.code, charge, order, amount, currency, data)

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        """Refunds succeed, except for charges whose id contains "refundfail" (for tests).

        Like Stripe: the same idempotency key answers the same refund again, and refuses a
        key reused for a different refund.
        """
        asked = (charge_id, amount, currency)
        if idempotency_key in self._answered:
            before, answer = self._answered[idempotency_key]
            if before != asked:
                return RefundResult(ok=False, error="idempotency key reused with other parameters")
            return answer
        if "refundfail" in charge_id:
            answer = RefundResult(ok=False, error="card issuer declined the refund")
        else:
            self.refunds.append((charge_id, amount))
            answer = RefundResult(ok=True, provider_refund_id=f"re_{secrets.token_hex(6)}")
        self._answered[idempotency_key] = (asked, answer)
        return answer
