"""Cash on delivery: money is captured by the courier; refunds are paid back by hand."""
from __future__ import annotations

import secrets

from services.errors import PaymentError
from services.payments.providers import PaymentEvent, PaymentRequest, RefundResult


class CashOnDelivery:
    """No link and no callbacks; delivery records the cash as captured."""

    code = "cod"
    online = False

    def create_link(self, request: PaymentRequest) -> str:
        """Cash orders have nothing to pay online."""
        raise PaymentError("cash on delivery has no payment link")

    def verify_event(self, body: bytes, signature: str) -> PaymentEvent:
        """Cash has no provider callbacks."""
        raise PaymentError("cash on delivery has no callbacks")

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        """The merchant hands the cash back; recorded as done."""
        return RefundResult(ok=True, provider_refund_id=f"cash_{secrets.token_hex(4)}")
