"""The `telegram` provider: Telegram Payments, paid inside the chat through an invoice.

There is no link and no webhook: the conversation sends an invoice (SendInvoice), answers the
pre-checkout query after `PaymentService.precheck`, and applies the `successful_payment` update
with `PaymentService.apply`, deduplicated by Telegram's charge id.

Refunds: the Bot API can refund only Telegram Stars (refundStarPayment); payments in real
currencies are refunded by the merchant in the payment provider's dashboard (Stripe, YooKassa ...)
using the provider charge id. The shop records such a refund as done, with a reference that says
it was handed to the provider by hand, so the ledger stays within what was captured and the
customer is told; the admin chat already gets every refund through the order's notifications.
"""
from __future__ import annotations

from services.errors import PaymentError
from services.payments.providers import PaymentEvent, PaymentRequest, RefundResult

MANUAL_REFUND_PREFIX = "telegram-manual:"


class TelegramPayments:
    """Telegram Payments: invoices in the chat, confirmed by `successful_payment` updates."""

    code = "telegram"
    online = True

    def __init__(self) -> None:
        self.refunds: list[tuple[str, int]] = []

    def create_link(self, request: PaymentRequest) -> str:
        """Not used: Telegram orders are paid through an invoice message, not a link."""
        raise PaymentError("Telegram Payments use an invoice in the chat, not a link")

    def verify_event(self, body: bytes, signature: str) -> PaymentEvent:
        """Not used: Telegram reports payments as updates to the bot, never as webhooks to the
        shop."""
        raise PaymentError("Telegram Payments have no provider callbacks")

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        """Recorded as done: the merchant refunds the charge in the provider's dashboard."""
        self.refunds.append((charge_id, amount))
        return RefundResult(ok=True, provider_refund_id=f"{MANUAL_REFUND_PREFIX}{charge_id}"[:128])
