"""Checks of user-typed values shared by the services: lengths, quantities, phone numbers."""
from __future__ import annotations

import unicodedata

import phonenumbers

from services.errors import InvalidInput

MAX_ID = 2**63 - 1


def clean_text(value: object, field: str, *, max_len: int, min_len: int = 1) -> str:
    """Trim, drop control characters, and enforce length limits (in characters)."""
    if not isinstance(value, str):
        raise InvalidInput(field=field, reason="not_text")
    text = "".join(ch for ch in value if unicodedata.category(ch) != "Cc" or ch == "\n").strip()
    if len(text) < min_len:
        raise InvalidInput(field=field, reason="empty" if not text else "too_short", min=min_len)
    if len(text) > max_len:
        raise InvalidInput(field=field, reason="too_long", max=max_len)
    return text


def quantity(value: object, *, maximum: int, minimum: int = 1, field: str = "quantity") -> int:
    """A whole number of units within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field=field, reason="not_a_number")
    if value < minimum or value > maximum:
        raise InvalidInput(field=field, reason="out_of_range", min=minimum, max=maximum)
    return value


def identifier(value: object, field: str = "id") -> int:
    """A positive database id (anything else cannot exist)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise InvalidInput(field=field, reason="bad_id")
    return value


def phone(value: object, default_region: str) -> str:
    """A valid phone number in E.164 form, parsed with the shop's default region."""
    text = clean_text(value, "phone", max_len=32)
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(field="phone", reason="invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field="phone", reason="invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shared_phone(value: object) -> str:
    """A number shared from a Telegram account, in E.164 form.

    Telegram delivers an account's own number in international form without the "+"
    ("14155550123"); some apps add it. Either way it carries its country code, so it is never
    read with the shop's default region.
    """
    text = clean_text(value, "phone", max_len=32)
    return phone(text if text.startswith("+") else f"+{text}", "ZZ")
