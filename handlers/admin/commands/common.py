"""What the admin commands share: who acts, usage lines, order lists and the order view."""
from __future__ import annotations

from html import escape

from handlers import callbacks
from handlers.events import Button, Inline
from handlers.orders.view import status_name
from handlers.turn import Turn
from models import OrderStatus
from services.orders.dto import OrderSummary

STATUSES = tuple(s.value for s in OrderStatus)
MAX_ARG = 64  # longer arguments are not order numbers, SKUs or names: refuse before any query

callbacks.register("acl", "ii")  # order list: status index + 1 (0 = all), page
callbacks.register("aco", "i")   # open an order's card from a list


def actor(turn: Turn) -> str:
    """The admin as order timelines record them."""
    return f"admin:{turn.event.user.id}"


def args(turn: Turn) -> list[str]:
    """The command's arguments, split on blanks."""
    return turn.event.args.split()


def usage(turn: Turn, command: str, problem: str = "") -> None:
    """Say what was wrong (if known) and how the command is written."""
    line = turn.t(f"admin_commands.usage.{command}")
    turn.send(f"{problem}\n{line}" if problem else line)


def esc(value: object, limit: int = MAX_ARG) -> str:
    """Merchant- or customer-typed text, shortened and HTML-escaped."""
    text = str(value)
    return escape(text if len(text) <= limit else text[: limit - 1] + "…")


def order_row(turn: Turn, order: OrderSummary) -> str:
    """One order as a line of text."""
    flag = "❗" if order.important else ""
    return turn.t("admin_commands.order_row", flag=flag, number=order.number,
                  status=status_name(turn.t, order.status), name=esc(order.recipient_name),
                  total=turn.t.money(order.total, order.currency),
                  date=turn.t.when(order.created_at))


def order_buttons(turn: Turn, orders: list[OrderSummary]) -> list[tuple[Button, ...]]:
    """A button per order that opens its card (two per row)."""
    buttons = [Button(turn.t("admin_commands.open_order", number=o.number),
                      callbacks.encode("aco", o.id)) for o in orders]
    return [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]


def page_row(turn: Turn, status_index: int, page: int, pages: int) -> tuple[Button, ...]:
    """◀️ page x / y ▶️ for a list of several pages."""
    row = [Button(turn.t("admin_commands.page", page=page + 1, pages=pages),
                  callbacks.encode("noop"))]
    if page > 0:
        row.insert(0, Button("◀️", callbacks.encode("acl", status_index, page - 1)))
    if page + 1 < pages:
        row.append(Button("▶️", callbacks.encode("acl", status_index, page + 1)))
    return tuple(row)


def list_keyboard(turn: Turn, orders: list[OrderSummary], status_index: int, page: int,
                  pages: int) -> Inline | None:
    """Open buttons, and page arrows when there are several pages."""
    rows = order_buttons(turn, orders)
    if pages > 1:
        rows.append(page_row(turn, status_index, page, pages))
    return Inline(tuple(rows)) if rows else None
