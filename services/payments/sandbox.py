"""The `sandbox` provider: a local payment page whose callbacks are HMAC-signed, as a real PSP's
are."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from urllib.parse import urlencode

from services.errors import PaymentError
from services.payments.providers import PaymentEvent, PaymentRequest, RefundResult


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
        """Check the signature and the shape of a callback."""
        if not hmac.compare_digest(self.sign(body), signature or ""):
            raise PaymentError("bad signature")
        try:
            data = json.loads(body)
            event = PaymentEvent(
                provider=self.code,
                charge_id=str(data["charge_id"]),
                order_number=str(data["order"]),
                amount=int(data["amount"]),
                currency=str(data["currency"]),
                raw=data,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PaymentError("malformed event") from exc
        if data.get("type") != "charge.succeeded" or not event.charge_id:
            raise PaymentError("not a capture event")
        return event

    async def refund(self, charge_id: str, amount: int, currency: str) -> RefundResult:
        """Refunds succeed, except for charges whose id contains "refundfail" (for tests)."""
        if "refundfail" in charge_id:
            return RefundResult(ok=False, error="card issuer declined the refund")
        self.refunds.append((charge_id, amount))
        return RefundResult(ok=True, provider_refund_id=f"re_{secrets.token_hex(6)}")
