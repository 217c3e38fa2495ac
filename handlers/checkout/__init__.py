"""Checkout: from a full cart to a placed order, one step at a time, the draft kept in the database.

```mermaid
stateDiagram-v2
    [*] --> address: "checkout" button or /checkout (cart not empty)
    address --> recipient: New address (or no saved address)
    address --> delivery: a saved address
    recipient --> phone --> region --> city --> line --> postcode
    postcode --> delivery: typed or Skip
    recipient --> delivery: the whole address pasted (fields missing asked first), shown
    delivery --> recipient: fix:<field> under a pasted address (any field, then on again)
    delivery --> payment: dlv:<code>
    payment --> review: pay:<code>
    review --> address: ck:edit_address
    review --> delivery: ck:edit_delivery
    review --> payment: ck:edit_payment
    review --> [*]: Confirm -> "Order No. ... is placed" with the payment step
```
After an edit the flow returns to the review as soon as every part is filled. Each typed value is
checked at once and asked again politely when it is wrong. The checkout key is made when the
review is first shown, so Confirm pressed twice places one order.
"""
from __future__ import annotations

from handlers import payment
from handlers.callbacks import Callback
from handlers.checkout import address, choices, review
from handlers.checkout.common import (
    ADDRESS,
    DELIVERY,
    FIELDS,
    PAYMENT,
    REVIEW,
    at,
    draft,
    field_step,
    in_checkout,
    move,
    stale,
)
from handlers.registry import Registry
from handlers.start import main_menu
from handlers.turn import Turn
from models import OrderStatus as S
from services.errors import EmptyCart


async def start(turn: Turn) -> None:
    """Begin a checkout of the cart: a new draft every time."""
    if await turn.services.cart.is_empty(turn.customer.id):
        raise EmptyCart()
    turn.go(ADDRESS)
    await address.ask_address(turn, fresh=True)


async def start_command(turn: Turn) -> None:
    """/checkout."""
    await start(turn)


async def start_button(turn: Turn, pressed: Callback) -> None:
    """The cart's "Check out" button: a new message, the cart stays on screen."""
    turn.answer()
    await start(turn)


async def advance(turn: Turn, fresh: bool = False) -> None:
    """Ask for the first missing part, or show the review when nothing is missing."""
    found = await address.chosen_address(turn)
    if found is None:
        return await address.ask_address(turn, fresh)
    if choices.current_delivery(turn) is None:
        return choices.ask_delivery(turn, fresh)
    if not await review.ready(turn):
        return choices.ask_payment(turn, fresh)
    await review.show_review(turn, found, fresh)


async def typed(turn: Turn) -> None:
    """Text (or a photo, a contact ...) while at a checkout step."""
    if turn.state.name.removeprefix("checkout.") in FIELDS:
        if await address.on_field(turn):
            await advance(turn, fresh=True)
        return
    # A screen of buttons: say so, and show the same screen again below.
    turn.send(turn.t("checkout.use_buttons"))
    if at(turn, ADDRESS):
        await address.ask_address(turn, fresh=True)
    elif at(turn, DELIVERY):
        choices.ask_delivery(turn, fresh=True)
    elif at(turn, PAYMENT):
        choices.ask_payment(turn, fresh=True)
    else:
        await advance(turn, fresh=True)


async def step_button(turn: Turn, pressed: Callback) -> None:
    """ck:<new|skip|cancel|edit_address|edit_delivery|edit_payment>."""
    choice = pressed.word(0)
    if choice == "cancel":
        return await cancel(turn)
    if choice == "new":
        return await address.new_address(turn)
    if choice == "skip":
        pasted = address.pasting(turn)  # the pasted address is shown in place: on below it
        if await address.skip_postcode(turn):
            await advance(turn, fresh=pasted)
        return
    if not at(turn, REVIEW) or choice not in EDITS:
        return stale(turn)
    turn.answer()
    await EDITS[choice](turn)


async def _edit_address(turn: Turn) -> None:
    move(turn, ADDRESS, address=None, address_id=None)
    await address.ask_address(turn)


async def _edit_delivery(turn: Turn) -> None:
    choices.ask_delivery(turn)


async def _edit_payment(turn: Turn) -> None:
    choices.ask_payment(turn)


EDITS = {"edit_address": _edit_address, "edit_delivery": _edit_delivery,
         "edit_payment": _edit_payment}


async def cancel(turn: Turn) -> None:
    """Leave the checkout; the cart is kept."""
    if not in_checkout(turn):
        return stale(turn)
    turn.answer()
    turn.reset()
    turn.show(turn.t("checkout.cancelled"))
    turn.send(turn.t("start.menu"), main_menu(turn.t))


async def saved_address(turn: Turn, pressed: Callback) -> None:
    """addr:<id>."""
    if await address.choose_saved(turn, pressed):
        await advance(turn)


async def delivery(turn: Turn, pressed: Callback) -> None:
    """dlv:<code>."""
    if await choices.choose_delivery(turn, pressed):
        await advance(turn)


async def pay_method(turn: Turn, pressed: Callback) -> None:
    """pay:<code>."""
    if await choices.choose_payment(turn, pressed):
        await advance(turn)


async def confirm(turn: Turn, pressed: Callback) -> None:
    """Confirm on the review screen: place the order once, whatever the number of presses."""
    if not at(turn, REVIEW):
        number = turn.state.data.get("placed_number") if not turn.state.name else None
        if number:  # the same Confirm again, after the order was placed
            return turn.answer(turn.t("checkout.already_placed", number=number))
        return stale(turn)
    if not await review.ready(turn) or not draft(turn).get("key"):
        turn.answer()
        return await advance(turn)
    placed = await turn.services.checkout.place_order(turn.customer.id, review.request_of(turn))
    turn.reset()
    turn.remember(placed_number=placed.number)
    turn.answer("" if placed.created else turn.t("checkout.already_placed", number=placed.number))
    # One message in place of the review (its buttons go: nothing to press twice): the order
    # is placed, and how to pay it.
    if placed.status == S.PENDING_PAYMENT:
        return await payment.offer(turn, placed, placed=review.placed_text(turn, placed))
    turn.show(review.placed_text(turn, placed))


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.command("checkout", start_command)
    r.action("checkout", start_button)
    r.action("ck", step_button)
    r.action("addr", saved_address)
    r.action("fix", address.fix_field)
    r.action("dlv", delivery)
    r.action("pay", pay_method)
    r.action("confirm", confirm)
    for step in (ADDRESS, DELIVERY, PAYMENT, REVIEW, *(field_step(f) for f in FIELDS)):
        r.step(step, typed)
