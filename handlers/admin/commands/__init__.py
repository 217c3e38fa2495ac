"""Admin chat commands: find orders, stock, phone orders, catalog import, figures and slips.

Only reached through AdminConversation, which has already refused anyone who is not an admin.
"""
from __future__ import annotations

from handlers.admin.commands import catalog, neworder, orders, reports, stock
from handlers.admin.commands.neworder_view import DELIVERY, FIELDS, ITEMS, PAYMENT, PREFIX, REVIEW
from handlers.callbacks import Callback
from handlers.registry import Registry
from handlers.turn import Turn

COMMANDS = ("orders", "order", "find", "stock", "restock", "neworder", "catalog", "stats",
            "settlement", "slip", "cancel", "chatid", "help")


async def help_text(turn: Turn) -> None:
    """/help (and any unknown command): what the admin chat can do."""
    turn.send("\n".join([turn.t("admin_commands.help_head"),
                         *(turn.t(f"admin_commands.help.{c}") for c in COMMANDS)]))


async def cancel(turn: Turn) -> None:
    """/cancel: leave the question the admin is being asked; nothing changes."""
    step = turn.state.name
    if not step:
        return turn.send(turn.t("admin.nothing_to_cancel"))
    turn.reset()
    key = ("admin_commands.new_cancelled" if step.startswith(PREFIX) else
           "admin_commands.catalog_cancelled" if step == catalog.STEP else "admin.cancelled")
    turn.send(turn.t(key))


async def chat_id(turn: Turn) -> None:
    """/chatid: this chat's id, for config.yaml."""
    turn.send(turn.t("admin.chat_id", id=turn.chat_id))


async def nothing(turn: Turn, pressed: Callback) -> None:
    """A button that only shows information (the page number)."""
    turn.answer()


def register(r: Registry) -> None:
    """Routes of the admin commands."""
    r.command("help", help_text)
    r.command("start", help_text)
    r.command("cancel", cancel)
    r.command("chatid", chat_id)
    r.command("skip", neworder.skip)
    r.command("orders", orders.list_orders)
    r.command("order", orders.open_order)
    r.command("find", orders.find)
    r.action("acl", orders.list_page)
    r.action("aco", orders.open_pressed)
    r.action("noop", nothing)
    r.command("stock", stock.show_stock)
    r.command("restock", stock.restock)
    r.command("catalog", catalog.start)
    r.step(catalog.STEP, catalog.received)
    r.action("acat", catalog.cancel)
    r.command("stats", reports.stats)
    r.command("settlement", reports.settlement)
    r.command("slip", reports.slip)
    r.command("neworder", neworder.start)
    r.action("anf", neworder.choice)
    r.action("and", neworder.delivery)
    r.action("anp", neworder.payment)
    for step in (*(PREFIX + f for f in FIELDS), ITEMS, DELIVERY, PAYMENT, REVIEW):
        r.step(step, neworder.typed)
