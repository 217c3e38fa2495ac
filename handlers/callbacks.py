"""Callback data: a compact, validated codec that always fits Telegram's 64 bytes.

Data is "<action>:<arg>:<arg>..." with integer or short-word arguments. Nothing decoded here is
trusted: the schema bounds every argument, and the handlers check every id against the acting
user's rights before using it.
"""
from __future__ import annotations

import builtins
import re
from dataclasses import dataclass

MAX_BYTES = 64  # Bot API: callback_data is 1-64 bytes
MAX_INT = 2**53
_WORD = re.compile(r"^[a-z0-9_]{1,16}$")

# action -> argument kinds: "i" a non-negative integer, "w" a short lowercase word
SCHEMA: dict[str, str] = {
    "menu": "",
    "cats": "",
    "cat": "ii",        # category id, page
    "prod": "i",        # product id
    "qty": "ii",        # product id, quantity chosen on the card
    "add": "ii",        # product id, quantity
    "notify": "i",      # product id
    "cart": "",
    "inc": "i",
    "dec": "i",
    "del": "i",
    "clear": "",
    "checkout": "",
    "ck": "w",          # checkout step choice: new, edit_address, edit_delivery, edit_payment ...
    "addr": "i",        # saved address id
    "fix": "w",         # a field of a pasted address to change: recipient, phone ... postcode
    "dlv": "w",         # delivery option code
    "pay": "w",         # payment method code
    "confirm": "",
    "buy": "i",         # "Buy now": product id (one unit, the cart left alone)
    "again": "i",       # "Buy again": order id
    "orders": "i",      # page
    "order": "i",       # order id
    "paylink": "i",
    "cancel": "i",
    "received": "i",
    "rate": "ii",       # order id, stars
    "ret": "i",         # start a return for an order
    "retk": "iw",       # order id, kind
    "retl": "iii",      # order id, order line id, quantity
    "retgo": "i",
    "oos": "iw",        # order id, wait|cancel
    "lang": "w",
    "search": "",
    "sp": "i",          # search page
    "noop": "",
    "sup": "i",         # talk to a person (the message id the bot did not understand, or 0)
    "supo": "i",        # ask about this order
    "supe": "",         # end the support chat
    "supr": "ii",       # support conversation id, stars
    "spt": "i",         # agents: take over (the customer's Telegram id)
    "spr": "i",         # release
    "spc": "i",         # close
    "spo": "i",         # the order in question
}


@dataclass(frozen=True)
class Callback:
    """A decoded button press."""

    action: str
    args: tuple[int | str, ...]

    def int(self, index: int) -> int:
        """The integer argument at `index`."""
        value = self.args[index]
        assert isinstance(value, int)
        return value

    def word(self, index: builtins.int) -> str:
        """The word argument at `index`."""
        value = self.args[index]
        assert isinstance(value, str)
        return value


def register(action: str, kinds: str) -> None:
    """Add a feature's action (e.g. the admin chat's) to the codec; the same twice is fine."""
    if SCHEMA.get(action, kinds) != kinds or not set(kinds) <= {"i", "w"}:
        raise ValueError(f"callback action {action!r} registered with another schema")
    SCHEMA[action] = kinds


def encode(action: str, *args: int | str) -> str:
    """Callback data for a button; raises ValueError if it would be invalid or too long."""
    kinds = SCHEMA[action]
    if len(args) != len(kinds):
        raise ValueError(f"{action} takes {len(kinds)} arguments")
    parts = [action]
    for kind, arg in zip(kinds, args, strict=True):
        if kind == "i" and not (isinstance(arg, int) and 0 <= arg < MAX_INT):
            raise ValueError(f"bad integer {arg!r} for {action}")
        if kind == "w" and not (isinstance(arg, str) and _WORD.match(arg)):
            raise ValueError(f"bad word {arg!r} for {action}")
        parts.append(str(arg))
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError("callback data over 64 bytes")
    return data


def decode(data: str | None) -> Callback | None:
    """The button press, or None for anything malformed, unknown or out of bounds."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    action, *raw = data.split(":")
    kinds = SCHEMA.get(action)
    if kinds is None or len(raw) != len(kinds):
        return None
    args: list[int | str] = []
    for kind, value in zip(kinds, raw, strict=True):
        if kind == "i":
            if not value.isascii() or not value.isdigit() or len(value) > 16:
                return None
            number = int(value)
            if number >= MAX_INT:
                return None
            args.append(number)
        elif _WORD.match(value):
            args.append(value)
        else:
            return None
    return Callback(action, tuple(args))
