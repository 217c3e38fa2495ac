"""The payment provider interface: create a payment link, verify an event, refund."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.errors import InvalidInput

MAX_AMOUNT = 2**31 - 1  # minor units; payments.amount is a 32-bit integer
CURRENCY = re.compile(r"[A-Z]{3}")  # an ISO 4217 code


@dataclass(frozen=True)
class PaymentRequest:
    """What a provider needs to build a payment link for an order."""

    order_id: int
    order_number: str
    amount: int
    currency: str
    description: str


@dataclass(frozen=True)
class PaymentEvent:
    """A verified "money captured" event from a provider."""

    provider: str
    charge_id: str
    order_number: str
    amount: int
    currency: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    """What the provider answered to a refund."""

    ok: bool
    provider_refund_id: str | None = None
    error: str = ""


class PaymentProvider(Protocol):
    """A payment platform the shop takes money through."""

    code: str
    online: bool

    def create_link(self, request: PaymentRequest) -> str:
        """A URL where the customer pays."""
        ...

    def verify_event(self, body: bytes, signature: str) -> PaymentEvent:
        """Parse and authenticate a provider callback; PaymentError when it is not genuine."""
        ...

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        """Give `amount` of a captured charge back; a call repeated with the same
        `idempotency_key` answers the first call's refund and moves no money again."""
        ...


class ProviderRegistry:
    """The providers this shop has enabled, by code."""

    def __init__(self, providers: list[PaymentProvider]) -> None:
        self._providers = {p.code: p for p in providers}

    def get(self, code: str) -> PaymentProvider:
        """The provider for `code`, or InvalidInput for one that is not enabled."""
        try:
            return self._providers[code]
        except KeyError:
            raise InvalidInput(field="payment_method", value=code) from None

    def __contains__(self, code: object) -> bool:
        return code in self._providers

    def __iter__(self) -> Iterator[PaymentProvider]:
        return iter(self._providers.values())

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes of the enabled providers."""
        return tuple(self._providers)
