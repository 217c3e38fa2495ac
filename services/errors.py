"""Domain errors: every refusal the business makes, each with a stable code for a localized
message."""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of every refusal; `code` names the message, `params` fill it in."""

    code = "error"

    def __init__(self, detail: str = "", **params: Any) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.params = params


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not the caller's to see)."""

    code = "not_found"


class NotAllowed(ServiceError):
    """The actor may not do this."""

    code = "not_allowed"


class InvalidInput(ServiceError):
    """A value failed validation; `params['field']` names it."""

    code = "invalid_input"


class InvalidTransition(ServiceError):
    """The order is not in a state where this action is possible."""

    code = "invalid_transition"


class OutOfStock(ServiceError):
    """Not enough stock for a product; `params['sku']` and `params['available']` say which."""

    code = "out_of_stock"


class EmptyCart(ServiceError):
    """Checkout of an empty cart."""

    code = "empty_cart"


class PaymentError(ServiceError):
    """A payment event that cannot be verified or applied."""

    code = "payment_error"


class RefundError(ServiceError):
    """A refund the provider refused, or one above what was captured."""

    code = "refund_error"


class WindowClosed(ServiceError):
    """An after-sales request outside the return window."""

    code = "window_closed"
