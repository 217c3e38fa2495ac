"""/stock <sku> and /restock <sku> <warehouse> <qty>: stock per warehouse, and new units."""
from __future__ import annotations

from handlers.admin.commands.common import MAX_ARG, actor, args, esc, usage
from handlers.turn import Turn
from services.errors import NotFound
from services.inventory.service import MAX_RESTOCK


async def show_stock(turn: Turn) -> None:
    """/stock <sku>: on hand, reserved and available in each warehouse."""
    words = args(turn)
    if len(words) != 1 or len(words[0]) > MAX_ARG:
        return usage(turn, "stock")
    try:
        levels = await turn.services.inventory.levels(words[0])
    except NotFound:
        return usage(turn, "stock", turn.t("admin_commands.no_such_sku", sku=esc(words[0])))
    rows = [turn.t("admin_commands.stock_row", code=esc(s.warehouse_code),
                   name=esc(s.warehouse_name),
                   on_hand=s.on_hand, reserved=s.reserved, available=s.available) for s in levels]
    turn.send("\n".join([turn.t("admin_commands.stock_head", sku=esc(words[0])), *rows]))


def _quantity(word: str) -> int | None:
    """A whole number of units within what one restock may add."""
    if not word.isascii() or not word.isdigit() or len(word) > 9:
        return None
    qty = int(word)
    return qty if 1 <= qty <= MAX_RESTOCK else None


async def restock(turn: Turn) -> None:
    """/restock <sku> <warehouse> <qty>: add units; waiting orders get them first."""
    words = args(turn)
    if len(words) != 3 or any(len(w) > MAX_ARG for w in words):
        return usage(turn, "restock")
    sku, warehouse, qty = words[0], words[1], _quantity(words[2])
    if qty is None:
        return usage(turn, "restock", turn.t("admin_commands.bad_quantity", max=MAX_RESTOCK))
    try:
        done = await turn.services.inventory.restock(sku, warehouse, qty, actor(turn))
    except NotFound as error:
        problem = ("admin_commands.no_such_warehouse" if error.params.get("what") == "warehouse"
                   else "admin_commands.no_such_sku")
        return usage(turn, "restock", turn.t(problem, sku=esc(sku), warehouse=esc(warehouse)))
    moved = (turn.t("admin_commands.restock_moved", orders=", ".join(done.reallocated_orders))
             if done.reallocated_orders else turn.t("admin_commands.restock_none_waiting"))
    turn.send("\n".join([
        turn.t("admin_commands.restocked", qty=qty, sku=esc(done.sku),
               warehouse=esc(done.warehouse_code), on_hand=done.on_hand),
        moved, turn.t("admin_commands.restock_told", count=done.subscribers_told)]))
