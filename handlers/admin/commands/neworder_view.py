"""The phone-order form's texts and keyboards, and reading the merchant's "SKU qty" lines."""
from __future__ import annotations

import re

from handlers import callbacks
from handlers.admin.commands.common import esc
from handlers.admin.prompts import ask
from handlers.events import Button, Inline
from handlers.orders.view import product_name
from handlers.turn import Turn
from services.phone_orders import CASH, LINK, ItemView
from services.postal import format_phone

PREFIX = "admin.new."
FIELDS = ("customer", "phone", "region", "city", "line", "postcode")
ITEMS, DELIVERY, PAYMENT, REVIEW = (PREFIX + s for s in ("items", "delivery", "payment", "review"))
MAX_ITEM_LINES = 30
_ITEM = re.compile(r"^(\S{1,64})(?:\s+[x×*]?\s*(\d{1,9}))?$")

callbacks.register("anf", "w")  # form choice: cancel, skip, done, clear, confirm
callbacks.register("and", "i")  # delivery option index
callbacks.register("anp", "w")  # payment: cod or link


def button(turn: Turn, key: str, action: str, *arg: int | str) -> Button:
    """A form button."""
    return Button(turn.t(f"admin_commands.new_{key}"), callbacks.encode(action, *arg))


def with_cancel(turn: Turn, *rows: tuple[Button, ...]) -> Inline:
    """Rows plus the form's Cancel button."""
    return Inline((*rows, (button(turn, "cancel", "anf", "cancel"),)))


def ask_field(turn: Turn, name: str) -> None:
    """Ask for one of the customer's details (/skip passes the postcode, /cancel the form)."""
    ask(turn, turn.t(f"admin_commands.new_ask_{name}", step=FIELDS.index(name) + 1,
                     steps=len(FIELDS) + 3), turn.t(f"admin.hint.{name}"))


def parse_items(text: str) -> tuple[list[tuple[str, int]], str | None]:
    """("SKU", qty) per line ("TEA-1 2", "TEA-1 x2", "TEA-1"); the first unreadable line, if any."""
    items: list[tuple[str, int]] = []
    for raw in text.splitlines()[:MAX_ITEM_LINES + 1]:
        line = raw.strip()
        if not line:
            continue
        found = _ITEM.match(line)
        if found is None or len(items) >= MAX_ITEM_LINES:
            return [], line
        items.append((found.group(1), int(found.group(2) or 1)))
    return items, None if items else text.strip()


def items_text(turn: Turn, items: list[ItemView], currency: str) -> str:
    """The products so far, each with its price and the stock free now."""
    t = turn.t
    rows = [t("admin_commands.new_item_row", sku=esc(i.sku), qty=i.quantity,
              name=product_name(t, i.name_en, i.name_zh),
              total=t.money(i.unit_price * i.quantity, currency),
              short=t("admin_commands.new_item_short", available=i.available)
              if i.available < i.quantity else "") for i in items]
    return "\n".join([t("admin_commands.new_items_head"), *rows])


def items_keyboard(turn: Turn, has_items: bool) -> Inline:
    """Done and Clear once there are items."""
    rows = ((button(turn, "done", "anf", "done"), button(turn, "clear", "anf", "clear")),)
    return with_cancel(turn, *(rows if has_items else ()))


def ask_items(turn: Turn) -> None:
    """Ask for the products."""
    ask(turn, turn.t("admin_commands.new_ask_items", step=len(FIELDS) + 1, steps=len(FIELDS) + 3),
        turn.t("admin.hint.items"))


def show_items(turn: Turn, items: list[ItemView]) -> None:
    """The products so far with Done / Clear / Cancel, then the question for more lines."""
    turn.send(items_text(turn, items, turn.services.ctx.rules.currency), items_keyboard(turn, True))
    ask(turn, turn.t("admin_commands.new_more_items"), turn.t("admin.hint.items"))


def ask_delivery(turn: Turn) -> None:
    """A button per delivery option."""
    t, rules = turn.t, turn.services.ctx.rules
    rows = [(Button(t("admin_commands.new_delivery_option",
                      name=o.name_zh if t.language.startswith("zh") else o.name_en,
                      fee=t.money(o.fee, rules.currency)), callbacks.encode("and", i)),)
            for i, o in enumerate(rules.delivery_options)]
    turn.show(t("admin_commands.new_ask_delivery", step=len(FIELDS) + 2, steps=len(FIELDS) + 3),
              with_cancel(turn, *rows))


def ask_payment(turn: Turn, cod_ok: bool) -> None:
    """Cash on delivery (where the delivery allows it) or a payment link."""
    rows = []
    if cod_ok and CASH in turn.services.ctx.payments:
        rows.append((button(turn, "pay_cod", "anp", CASH),))
    if turn.services.phone_orders.link_provider() is not None:
        rows.append((button(turn, "pay_link", "anp", LINK),))
    turn.show(turn.t("admin_commands.new_ask_payment", step=len(FIELDS) + 3,
                     steps=len(FIELDS) + 3), with_cancel(turn, *rows))


def review_text(turn: Turn, data: dict[str, object], items: list[ItemView]) -> str:
    """Everything the order will be, before Confirm."""
    t, rules = turn.t, turn.services.ctx.rules
    delivery = rules.delivery_options[int(str(data["delivery"]))]
    subtotal = sum(i.unit_price * i.quantity for i in items)
    address = t.address(*(str(data.get(k) or "") for k in ("region", "city", "line", "postcode")))
    phone = format_phone(str(data["phone"]), rules.default_phone_region)
    return "\n".join([
        t("admin_commands.new_review_head"),
        t("admin_commands.summary_customer", name=esc(data["customer"]), phone=esc(phone)),
        t("admin_commands.summary_address", address=esc(address, 400)),
        items_text(turn, items, rules.currency),
        t("admin_commands.new_review_delivery",
          name=delivery.name_zh if t.language.startswith("zh") else delivery.name_en,
          fee=t.money(delivery.fee, rules.currency)),
        t("admin_commands.new_review_payment",
          method=t(f"admin_commands.new_pay_{data['payment']}")),
        t("admin_commands.summary_total", total=t.money(subtotal + delivery.fee, rules.currency)),
    ])


def review_keyboard(turn: Turn) -> Inline:
    """Confirm, or cancel."""
    return with_cancel(turn, (button(turn, "confirm", "anf", "confirm"),))
