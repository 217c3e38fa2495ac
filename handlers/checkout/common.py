"""What the checkout steps share: step names, the draft in the conversation state, screens."""
from __future__ import annotations

from typing import Any

from handlers import callbacks
from handlers.events import Button, Inline, Keyboard
from handlers.turn import Turn

ADDRESS = "checkout.address"      # choosing a saved address or a new one
DELIVERY = "checkout.delivery"
PAYMENT = "checkout.payment"
REVIEW = "checkout.review"
FIELDS = ("recipient", "phone", "region", "city", "line", "postcode")  # a new address, in order
PREFIX = "checkout."


def field_step(name: str) -> str:
    """The step where the customer types one address field."""
    return PREFIX + name


def in_checkout(turn: Turn) -> bool:
    """True while the customer is somewhere in the checkout."""
    return turn.state.name.startswith(PREFIX)


def at(turn: Turn, *steps: str) -> bool:
    """True when the customer is at one of these steps."""
    return turn.state.name in steps


def draft(turn: Turn) -> dict[str, Any]:
    """A copy of the checkout draft (address, delivery, payment, key)."""
    return dict(turn.state.data) if in_checkout(turn) else {}


def items_of(turn: Turn) -> tuple[tuple[int, int], ...]:
    """What "Buy now" (or "Buy again") checks out instead of the cart; () for the cart."""
    return tuple((int(pid), int(qty)) for pid, qty in draft(turn).get("items") or ())


def move(turn: Turn, step: str, **changes: Any) -> None:
    """Go to a checkout step, keeping the draft and applying changes."""
    turn.go(step, **{**draft(turn), **changes})


def cancel_button(turn: Turn) -> Button:
    """Leave the checkout (the cart stays as it is)."""
    return Button(turn.t("checkout.cancel"), callbacks.encode("ck", "cancel"))


def with_cancel(turn: Turn, *rows: tuple[Button, ...]) -> Inline:
    """An inline keyboard of rows plus the cancel button."""
    return Inline((*rows, (cancel_button(turn),)))


def present(turn: Turn, text: str, keyboard: Keyboard, fresh: bool = False) -> None:
    """Edit the pressed checkout screen in place, or send a new message (always for a fresh
    start)."""
    if not fresh and isinstance(keyboard, Inline | None):
        turn.show(text, keyboard)
    else:
        turn.send(text, keyboard)


def stale(turn: Turn) -> None:
    """A checkout button from an old screen: say so, change nothing."""
    turn.answer(turn.t("checkout.stale"), alert=True)
