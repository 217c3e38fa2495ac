"""The cart: lines with − / + / 🗑, clear, checkout and "continue shopping"; edited in place."""
from __future__ import annotations

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.catalog import catalog_button, fit, localized, short
from handlers.events import Button, Inline
from handlers.i18n import Translator
from handlers.registry import Registry
from handlers.turn import Turn
from services.cart import CartLineView, CartView
from services.errors import OutOfStock

MAX_BUTTONS = 100  # Bot API: inline buttons under one message
LINE_NAME_CHARS = 60  # of a product name in the cart's text (30 lines must fit 4096)
LINE_BUTTON_CHARS = 18  # of a product name on a line's button


def cart_text(t: Translator, cart: CartView) -> str:
    """Each line with quantity and total (and a warning when stock ran short), then the subtotal."""
    parts = [t("cart.title")]
    for number, line in enumerate(cart.lines, 1):
        parts.append(t("cart.line", number=number,
                       name=fit(localized(t, line.name_en, line.name_zh), LINE_NAME_CHARS),
                       qty=line.quantity, price=t.money(line.unit_price, cart.currency),
                       total=t.money(line.total, cart.currency)))
        if line.quantity > line.available:  # others bought meanwhile; checkout would refuse
            parts.append(t("cart.short", available=line.available) if line.available
                         else t("cart.sold_out"))
    parts.append(t("cart.subtotal", subtotal=t.money(cart.subtotal, cart.currency)))
    return "\n".join(parts)


def _line_row(t: Translator, line: CartLineView, named: bool) -> tuple[Button, ...]:
    pid = line.product_id
    name = Button(t("cart.line_button", name=short(localized(t, line.name_en, line.name_zh),
                                                   LINE_BUTTON_CHARS), qty=line.quantity),
                  callbacks.encode("prod", pid))
    return ((Button("➖", callbacks.encode("dec", pid)),) + ((name,) if named else ())
            + (Button("➕", callbacks.encode("inc", pid)),
               Button("🗑", callbacks.encode("del", pid))))


def cart_keyboard(t: Translator, cart: CartView) -> Inline:
    """Per line − / name / + / 🗑 (the name left out when 100 buttons would not hold them)."""
    named = len(cart.lines) * 4 + 3 <= MAX_BUTTONS
    rows = tuple(_line_row(t, line, named) for line in cart.lines)
    return Inline(rows + (
        (Button(t("cart.clear"), callbacks.encode("clear")),
         Button(t("cart.checkout"), callbacks.encode("checkout"))),
        (Button(t("cart.continue"), callbacks.encode("cats")),),
    ))


def _render(turn: Turn, cart: CartView) -> None:
    """The cart (or "empty") in place of the pressed screen; a new message after a command."""
    t = turn.t
    if cart.is_empty:
        text, keyboard = t("cart.empty"), Inline(((catalog_button(t),),))
    else:
        text, keyboard = cart_text(t, cart), cart_keyboard(t, cart)
    turn.answer()
    turn.show(text, keyboard)


async def open_cart(turn: Turn) -> None:
    """Menu button and /cart."""
    _render(turn, await turn.services.cart.view(turn.customer.id))


async def cart_button(turn: Turn, pressed: Callback) -> None:
    """The "cart" button, under lists, cards and the "added" note: the cart in their place."""
    _render(turn, await turn.services.cart.view(turn.customer.id))


async def _line(turn: Turn, product_id: int) -> CartLineView | None:
    """The cart's line for a product; when it has none, say so and show the cart as it is."""
    cart = await turn.services.cart.view(turn.customer.id)
    line = next((x for x in cart.lines if x.product_id == product_id), None)
    if line is None:
        _render(turn, cart)
        turn.answer(turn.t("cart.not_in_cart"), alert=True)
    return line


async def inc(turn: Turn, pressed: Callback) -> None:
    """One more; beyond the stock, say how many there are."""
    line = await _line(turn, pressed.int(0))
    if line is None:
        return
    try:
        cart = await turn.services.cart.set_quantity(turn.customer.id, line.product_id,
                                                     line.quantity + 1)
    except OutOfStock as refusal:
        available = refusal.params.get("available", line.available)
        return turn.answer(turn.t("cart.no_more", available=available), alert=True)
    _render(turn, cart)


async def dec(turn: Turn, pressed: Callback) -> None:
    """One fewer; the last one leaves the cart."""
    line = await _line(turn, pressed.int(0))
    if line is None:
        return
    _render(turn, await turn.services.cart.set_quantity(turn.customer.id, line.product_id,
                                                        line.quantity - 1))


async def delete(turn: Turn, pressed: Callback) -> None:
    """Take a line out."""
    line = await _line(turn, pressed.int(0))
    if line is None:
        return
    _render(turn, await turn.services.cart.remove(turn.customer.id, line.product_id))
    turn.answer(turn.t("cart.removed", name=localized(turn.t, line.name_en, line.name_zh))[:200])


async def clear(turn: Turn, pressed: Callback) -> None:
    """Empty the cart."""
    _render(turn, await turn.services.cart.clear(turn.customer.id))
    turn.answer(turn.t("cart.cleared"))


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.command("cart", open_cart)
    r.menu_button("menu.cart", open_cart)
    r.action("cart", cart_button)
    r.action("inc", inc)
    r.action("dec", dec)
    r.action("del", delete)
    r.action("clear", clear)
