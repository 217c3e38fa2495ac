"""/neworder: a phone or e-mail order, entered by the merchant one step at a time.

```mermaid
stateDiagram-v2
    [*] --> customer: /neworder
    customer --> phone --> region --> city --> line --> postcode
    postcode --> items: typed or Skip
    items --> items: "SKU qty" lines
    items --> delivery: Done
    delivery --> payment: and:<option>
    payment --> review: anp:<cod|link>
    review --> [*]: Confirm -> "Order No. ..." and its card
```
Every typed value is checked at once and asked again when wrong; Cancel leaves at any step. The
order key is made when the review is first shown, so Confirm pressed twice places one order.
"""
from __future__ import annotations

from typing import Any

from handlers.admin.commands.common import actor, esc
from handlers.admin.commands.neworder_view import (
    DELIVERY,
    FIELDS,
    ITEMS,
    PAYMENT,
    PREFIX,
    REVIEW,
    ask_delivery,
    ask_field,
    ask_items,
    ask_payment,
    items_keyboard,
    parse_items,
    review_keyboard,
    review_text,
    show_items,
)
from handlers.admin.commands.order_view import show_order
from handlers.admin.prompts import ask_again
from handlers.callbacks import Callback
from handlers.router import error_text
from handlers.turn import Turn
from services.checkout import new_checkout_key
from services.errors import InvalidInput, NotFound, ServiceError
from services.phone_orders import PhoneOrderRequest
from services.validation import clean_text, phone

# field -> (max length, min length, the error field whose message explains it)
LIMITS = {"customer": (64, 1, "recipient"), "region": (64, 1, "region"), "city": (64, 1, "city"),
          "line": (256, 3, "address_line"), "postcode": (16, 0, "postcode")}


def _data(turn: Turn) -> dict[str, Any]:
    return dict(turn.state.data) if turn.state.name.startswith(PREFIX) else {}


def _move(turn: Turn, step: str, **changes: Any) -> None:
    turn.go(step, **{**_data(turn), **changes})


def _stale(turn: Turn) -> None:
    turn.answer(turn.t("admin_commands.new_stale"), alert=True)


async def start(turn: Turn) -> None:
    """/neworder: a fresh form."""
    turn.go(PREFIX + FIELDS[0])
    ask_field(turn, FIELDS[0])


async def typed(turn: Turn) -> None:
    """Anything sent while the form is open."""
    step = turn.state.name.removeprefix(PREFIX)
    if turn.event.kind != "message":
        return ask_again(turn, turn.t("admin_commands.new_need_text"))
    if step in FIELDS:
        return _field(turn, step, turn.event.text)
    if turn.state.name == ITEMS:
        return await _items(turn, turn.event.text)
    turn.send(turn.t("admin_commands.new_use_buttons"), review_keyboard(turn)
              if turn.state.name == REVIEW else None)


def _field(turn: Turn, name: str, text: str) -> None:
    try:
        if name == "phone":
            value = phone(text, turn.services.ctx.rules.default_phone_region)
        else:
            most, least, field = LIMITS[name]
            value = clean_text(text, field, max_len=most, min_len=least)
    except InvalidInput as error:
        return ask_again(turn, error_text(turn.t, error))
    _next_field(turn, name, value)


def _next_field(turn: Turn, name: str, value: str) -> None:
    following = FIELDS.index(name) + 1
    if following < len(FIELDS):
        _move(turn, PREFIX + FIELDS[following], **{name: value})
        return ask_field(turn, FIELDS[following])
    _move(turn, ITEMS, items=[], **{name: value})
    ask_items(turn)


async def _items(turn: Turn, text: str) -> None:
    added, bad = parse_items(text)
    if bad is not None:
        return ask_again(turn, turn.t("admin_commands.new_bad_item", line=_short(bad)))
    items = _merge(_data(turn).get("items", []), added)
    try:
        views = await turn.services.phone_orders.items(tuple(items))
    except NotFound as error:
        return ask_again(turn, turn.t("admin_commands.no_such_sku",
                                      sku=_short(error.params.get("sku", ""))))
    except ServiceError as error:
        return ask_again(turn, error_text(turn.t, error))
    _move(turn, ITEMS, items=[[v.sku, v.quantity] for v in views])
    show_items(turn, views)


def _merge(old: list[list[Any]], added: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(str(sku), int(qty)) for sku, qty in old] + added


def _short(text: str) -> str:
    return esc(text, 64)


async def skip(turn: Turn) -> None:
    """/skip at the postcode: there is none."""
    if turn.state.name != PREFIX + "postcode":
        return _stale(turn)
    _next_field(turn, "postcode", "")


async def choice(turn: Turn, pressed: Callback) -> None:
    """anf:<cancel|skip|done|clear|confirm>."""
    word = pressed.word(0)
    if word == "confirm":
        return await _confirm(turn)
    if not turn.state.name.startswith(PREFIX):
        return _stale(turn)
    if word == "cancel":
        turn.answer()
        turn.reset()
        return turn.show(turn.t("admin_commands.new_cancelled"))
    if word == "skip" and turn.state.name == PREFIX + "postcode":
        turn.answer()
        return _next_field(turn, "postcode", "")
    if turn.state.name != ITEMS or word not in ("done", "clear"):
        return _stale(turn)
    turn.answer()
    if word == "clear":
        _move(turn, ITEMS, items=[])
        return turn.show(turn.t("admin_commands.new_cleared"), items_keyboard(turn, False))
    if not _data(turn).get("items"):
        return ask_items(turn)
    _move(turn, DELIVERY)
    ask_delivery(turn)


async def delivery(turn: Turn, pressed: Callback) -> None:
    """and:<index>: the delivery option."""
    options = turn.services.ctx.rules.delivery_options
    if turn.state.name != DELIVERY or pressed.int(0) >= len(options):
        return _stale(turn)
    turn.answer()
    _move(turn, PAYMENT, delivery=pressed.int(0))
    ask_payment(turn, options[pressed.int(0)].allows_cod)


async def payment(turn: Turn, pressed: Callback) -> None:
    """anp:<cod|link>: how the customer pays; then the review."""
    if turn.state.name != PAYMENT or pressed.word(0) not in ("cod", "link"):
        return _stale(turn)
    option = turn.services.ctx.rules.delivery_options[int(_data(turn)["delivery"])]
    if pressed.word(0) == "cod" and not option.allows_cod:  # a forged press: no such button
        return _stale(turn)
    turn.answer()
    _move(turn, REVIEW, payment=pressed.word(0), key=_data(turn).get("key") or new_checkout_key())
    views = await turn.services.phone_orders.items(tuple(_merge(_data(turn)["items"], [])))
    turn.show(review_text(turn, _data(turn), views), review_keyboard(turn))


def _request(data: dict[str, Any], rules_delivery: str) -> PhoneOrderRequest:
    return PhoneOrderRequest(
        key=data["key"], name=data["customer"], phone=data["phone"], region=data["region"],
        city=data["city"], line=data["line"], postcode=data.get("postcode", ""),
        lines=tuple(_merge(data["items"], [])), delivery=rules_delivery, payment=data["payment"])


async def _confirm(turn: Turn) -> None:
    if turn.state.name != REVIEW:
        placed = turn.state.data.get("placed_number") if not turn.state.name else None
        if placed:  # the same Confirm again, after the order was placed
            return turn.answer(turn.t("admin_commands.new_already", number=placed))
        return _stale(turn)
    data = _data(turn)
    option = turn.services.ctx.rules.delivery_options[int(data["delivery"])]
    result = await turn.services.phone_orders.place(_request(data, option.code), actor(turn))
    turn.reset()
    turn.remember(placed_number=result.order.number)
    turn.answer("" if result.order.created else
                turn.t("admin_commands.new_already", number=result.order.number))
    lines = [turn.t("admin_commands.new_placed", number=result.order.number,
                    name=_short(data["customer"]))]
    if result.uses_bot:
        lines.append(turn.t("admin_commands.new_uses_bot"))
    if not result.stock_reserved:
        lines.append(turn.t("admin_commands.new_backorder"))
    if result.payment_link:
        lines.append(turn.t("admin_commands.new_link", link=esc(result.payment_link, 1000)))
    turn.show("\n".join(lines))
    await show_order(turn, result.order.id)
