"""/orders [status], /order <number>, /find <phone or name>: the merchant finds orders."""
from __future__ import annotations

from handlers.admin.commands.common import (
    MAX_ARG,
    STATUSES,
    esc,
    list_keyboard,
    order_buttons,
    order_row,
    usage,
)
from handlers.admin.commands.order_view import show_order
from handlers.callbacks import Callback
from handlers.events import Inline
from handlers.i18n import catalogue
from handlers.orders.view import status_name
from handlers.turn import Turn
from services.errors import NotFound


def status_of(turn: Turn, word: str) -> str | None:
    """A status typed as its code or its name in either language ("awaiting review", "待发货")."""
    key = word.strip().lower().replace(" ", "_").replace("-", "_")
    for status in STATUSES:
        names = {status, *(catalogue(lang).get(f"orders.status.{status}", "").lower()
                           for lang in ("en", "zh_CN"))}
        if key in names or word.strip().lower() in names:
            return status
    return None


async def list_orders(turn: Turn) -> None:
    """/orders [status]: the newest orders, ten per page."""
    word = turn.event.args.strip()
    status = status_of(turn, word) if word else None
    if word and status is None:
        valid = ", ".join(f"{s} ({status_name(turn.t, s)})" for s in STATUSES)
        return turn.send(turn.t("admin_commands.unknown_status", status=esc(word), valid=valid))
    await _show_page(turn, STATUSES.index(status) + 1 if status else 0, 0)


async def list_page(turn: Turn, pressed: Callback) -> None:
    """acl:<status index>:<page>: another page of the list."""
    index, page = pressed.int(0), pressed.int(1)
    if index > len(STATUSES):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    turn.answer()
    await _show_page(turn, index, page)


async def _show_page(turn: Turn, index: int, page: int) -> None:
    status = STATUSES[index - 1] if index else None
    orders, pages = await turn.services.orders.listing(status, page)
    page = min(page, pages - 1)
    title = (turn.t("admin_commands.orders_title_status", status=status_name(turn.t, status))
             if status else turn.t("admin_commands.orders_title"))
    if not orders:
        return turn.show(turn.t("admin_commands.no_orders", title=title))
    text = "\n".join([turn.t("admin_commands.list_head", title=title, page=page + 1, pages=pages),
                      *(order_row(turn, o) for o in orders)])
    turn.show(text, list_keyboard(turn, orders, index, page, pages))


async def open_order(turn: Turn) -> None:
    """/order <number>: the order's card."""
    number = turn.event.args.strip().lstrip("#№").removeprefix("No.").strip()
    if not number or len(number) > 20 or " " in number:
        return usage(turn, "order")
    try:
        order = await turn.services.orders.by_number(number)
    except NotFound:
        return turn.send(turn.t("admin_commands.no_such_order", number=esc(number)))
    await show_order(turn, order.id)


async def open_pressed(turn: Turn, pressed: Callback) -> None:
    """aco:<order id>: a list's button; the card comes as a new message below the list."""
    turn.answer()
    await show_order(turn, pressed.int(0))


async def find(turn: Turn) -> None:
    """/find <order number, phone or name>."""
    query = turn.event.args.strip()
    if not query or len(query) > MAX_ARG:
        return usage(turn, "find")
    found = await turn.services.orders.find(query)
    if not found:
        return turn.send(turn.t("admin_commands.nothing_found", query=esc(query)))
    text = "\n".join([turn.t("admin_commands.found_head", query=esc(query), count=len(found)),
                      *(order_row(turn, o) for o in found)])
    turn.send(text, Inline(tuple(order_buttons(turn, found))))

