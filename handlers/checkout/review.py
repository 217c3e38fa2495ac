"""The review screen (everything the order will be, with edit buttons) and Confirm."""
from __future__ import annotations

import html

from handlers import callbacks
from handlers.checkout.address import chosen_address, describe
from handlers.checkout.choices import (
    choosable,
    current_delivery,
    delivery_name,
    fee_text,
    methods,
)
from handlers.checkout.common import REVIEW, draft, items_of, move, present, with_cancel
from handlers.events import Button
from handlers.turn import Turn
from services.cart import CartView
from services.checkout import AddressInput, CheckoutRequest, new_checkout_key
from services.errors import EmptyCart
from services.orders.dto import PlacedOrder
from services.postal import format_phone

LINES_BUDGET = 3000  # characters of product lines; the rest of the screen fits in Telegram's 4096


def _lines(turn: Turn, cart: CartView) -> str:
    shown: list[str] = []
    used = 0
    for index, line in enumerate(cart.lines):
        name = line.name_zh if turn.t.language == "zh_CN" else line.name_en
        text = turn.t("checkout.review_line", name=html.escape(name), qty=line.quantity,
                      amount=turn.t.money(line.total, cart.currency))
        if used + len(text) > LINES_BUDGET:
            shown.append(turn.t.plural("checkout.review_more", len(cart.lines) - index))
            break
        shown.append(text)
        used += len(text) + 1
    return "\n".join(shown)


def _buttons(turn: Turn, delivery: bool = True,
             payment: bool = True) -> tuple[tuple[Button, ...], ...]:
    parts = ("address",) + ("delivery",) * delivery + ("payment",) * payment
    edits = tuple(Button(turn.t(f"checkout.edit.{part}"), callbacks.encode("ck", f"edit_{part}"))
                  for part in parts)
    return edits, (Button(turn.t("checkout.confirm"), callbacks.encode("confirm")),)


async def show_review(turn: Turn, address: AddressInput, fresh: bool = False) -> None:
    """The review screen; the checkout key is made the first time it is shown and then kept."""
    cart = await turn.services.checkout.basket(turn.customer.id, items_of(turn))
    option = current_delivery(turn)
    if cart.is_empty:
        turn.reset()
        raise EmptyCart()
    assert option is not None  # the flow asks for the delivery before it shows the review
    key = draft(turn).get("key") or new_checkout_key()
    move(turn, REVIEW, key=key)
    text = turn.t(
        "checkout.review", lines=_lines(turn, cart),
        subtotal=turn.t.money(cart.subtotal, cart.currency),
        delivery=html.escape(delivery_name(turn, option)), fee=fee_text(turn, option.fee),
        total=turn.t.money(cart.subtotal + option.fee, cart.currency),
        recipient=html.escape(address.recipient),
        phone=html.escape(format_phone(address.phone,
                                       turn.services.ctx.rules.default_phone_region)),
        address=describe(turn.t, address),
        payment=turn.t(f"checkout.method.{draft(turn)['payment']}"),
    )
    present(turn, text, with_cancel(turn, *_buttons(turn, *choosable(turn))), fresh)


async def show_form_review(turn: Turn, fresh: bool = False) -> None:
    """The review when Telegram's form will ask for the address and delivery: the goods, the
    way to pay, and Confirm (which sends the invoice)."""
    cart = await turn.services.checkout.basket(turn.customer.id, items_of(turn))
    if cart.is_empty:
        turn.reset()
        raise EmptyCart()
    move(turn, REVIEW, key=draft(turn).get("key") or new_checkout_key())
    text = turn.t("checkout.review_form", lines=_lines(turn, cart),
                  subtotal=turn.t.money(cart.subtotal, cart.currency),
                  payment=turn.t("checkout.method.telegram"))
    edits = (Button(turn.t("checkout.edit.payment"), callbacks.encode("ck", "edit_payment")),)
    rows = ((edits,) if choosable(turn)[1] else ()) + (
        (Button(turn.t("checkout.confirm"), callbacks.encode("confirm")),),)
    present(turn, text, with_cancel(turn, *rows), fresh)


def request_of(turn: Turn) -> CheckoutRequest:
    """The order the review screen shows, with its key."""
    data = draft(turn)
    typed = data.get("address")
    return CheckoutRequest(
        checkout_key=data["key"], delivery=data["delivery"], payment_method=data["payment"],
        address=AddressInput(**typed) if typed else None,
        address_id=None if typed else data.get("address_id"),
        items=items_of(turn),
    )


def placed_text(turn: Turn, placed: PlacedOrder) -> str:
    """ "Order No. ... is placed", and for cash on delivery what happens next."""
    total = turn.t.money(placed.total, placed.currency)
    text = turn.t("checkout.placed", number=placed.number, total=total)
    if placed.payment_method == "cod":
        text += "\n\n" + turn.t("checkout.placed_cod", total=total)
    return text


async def ready(turn: Turn) -> bool:
    """True when the draft has every part the review screen needs."""
    option = current_delivery(turn)
    return (option is not None and draft(turn).get("payment") in methods(turn, option)
            and await chosen_address(turn) is not None)
