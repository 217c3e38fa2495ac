"""An order as the commands show it: the order card with its action buttons."""
from __future__ import annotations

from handlers.admin.cards import show_card
from handlers.turn import Turn


async def show_order(turn: Turn, order_id: int) -> None:
    """The order's card as a new message; NotFound(what="order") for an unknown id."""
    await show_card(turn, order_id, fresh=True)
