"""Checkout: from a full cart to a placed order, one step at a time, the draft kept in the database.

```mermaid
stateDiagram-v2
    [*] --> address: "checkout" button or /checkout (cart not empty), or "Buy now" on a card
    [*] --> address: "Buy again" on a delivered order (what is still to be had)
    [*] --> review: a returning customer (last address, delivery, payment preselected)
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
    review --> [*]: Telegram Payments and no address yet: Confirm -> an invoice whose form asks
    the name, phone, address and delivery (the order is placed at the pre-checkout query)
```
A step with one possible answer (one delivery option, one payment method) is skipped, its
answer taken. After an edit the flow returns to the review as soon as every part is filled.
Each typed value is checked at once and asked again politely when it is wrong. The checkout
key is made when the review is first shown, so Confirm pressed twice places one order.
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
    items_of,
    move,
    stale,
)
from handlers.registry import Registry
from handlers.start import main_menu
from handlers.turn import Turn
from models import OrderStatus as S
from services.errors import EmptyCart
from services.reorder import Missing

ALERT_CHARS = 200  # Bot API: answerCallbackQuery text is 0-200 characters


async def start(turn: Turn, items: tuple[tuple[int, int], ...] = ()) -> None:
    """Begin a checkout of the cart (or of `items`, the cart left alone): a new draft every
    time."""
    if not items and await turn.services.cart.is_empty(turn.customer.id):
        raise EmptyCart()
    turn.go(ADDRESS, **({"items": [list(item) for item in items]} if items else {}))
    last = await turn.services.checkout.last_choices(turn.customer.id)
    if last is not None:  # a returning customer starts at the review, their last choices made
        move(turn, ADDRESS, address_id=last.address_id, delivery=last.delivery,
             payment=last.payment_method)
    await advance(turn, fresh=True)


async def buy_now(turn: Turn, pressed: Callback) -> None:
    """buy:<product id>: straight to the checkout of one unit of the product; the cart stays.

    A second press on the same card while that checkout is open (a double click) leaves it as
    it is rather than starting it over below."""
    product_id = pressed.int(0)
    if in_checkout(turn) and items_of(turn) == ((product_id, 1),):
        return turn.answer(turn.t("checkout.buy_now_open"))
    await turn.services.checkout.buy_now(turn.customer.id, product_id)
    turn.answer()
    await start(turn, ((product_id, 1),))


async def start_command(turn: Turn) -> None:
    """/checkout."""
    await start(turn)


async def start_button(turn: Turn, pressed: Callback) -> None:
    """The cart's "Check out" button: a new message, the cart stays on screen."""
    turn.answer()
    await start(turn)


async def buy_again(turn: Turn, pressed: Callback) -> None:
    """again:<order id>: the goods of a delivered order to the checkout, at today's prices and
    stock; what cannot be had as it was is said in an alert the customer has to close."""
    reorder = await turn.services.reorder.buy_again(turn.customer.id, pressed.int(0))
    notes = [_missing(turn, m) for m in reorder.missing]
    if not reorder.items:
        return turn.answer(turn.t("checkout.again_nothing", number=reorder.number,
                                  missing="\n".join(notes))[:ALERT_CHARS], alert=True)
    turn.answer(turn.t("checkout.again_missing", missing="\n".join(notes))[:ALERT_CHARS]
                if notes else "", alert=bool(notes))
    await start(turn, reorder.items)


def _missing(turn: Turn, line: Missing) -> str:
    name = line.name_zh if turn.t.language == "zh_CN" else line.name_en
    if line.gone:
        return turn.t("checkout.again_gone", name=name)
    if not line.available:
        return turn.t("checkout.again_sold_out", name=name)
    return turn.t("checkout.again_fewer", name=name, qty=line.available, wanted=line.wanted)


async def advance(turn: Turn, fresh: bool = False) -> None:
    """Ask for the first missing part, or show the review when nothing is missing; a part
    with a single possible answer is not asked."""
    choices.preselect(turn)
    if choices.form_pays(turn):
        return await review.show_form_review(turn, fresh)
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
    if choices.form_pays(turn) and draft(turn).get("key"):
        return await _send_form(turn)
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


async def _send_form(turn: Turn) -> None:
    """Confirm with Telegram's form: the invoice goes out (the order is placed when the
    customer pays); the review says so in place of its buttons."""
    form = await turn.services.checkout_form.open(turn.customer.id, draft(turn)["key"],
                                                  items_of(turn))
    turn.reset()
    turn.answer()
    turn.show(turn.t("checkout.form_below", number=form.number))
    turn.replies.append(payment.form_invoice(turn, form))


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.command("checkout", start_command)
    r.action("checkout", start_button)
    r.action("buy", buy_now)
    r.action("again", buy_again)
    r.action("ck", step_button)
    r.action("addr", saved_address)
    r.action("fix", address.fix_field)
    r.action("dlv", delivery)
    r.action("pay", pay_method)
    r.action("confirm", confirm)
    for step in (ADDRESS, DELIVERY, PAYMENT, REVIEW, *(field_step(f) for f in FIELDS)):
        r.step(step, typed)
