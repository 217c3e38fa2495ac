"""Admin chat: order cards and their buttons (confirm, reject, warehouse, pack, ship, deliver,
cancel, refund) with the steps that ask for a reason, a tracking number or an amount.

For other admin features (e.g. /order and /slip in handlers/admin/commands.py):
- `await show_card(turn, order_id)` puts the order's card in the chat as a new message
  (`fresh=False` edits the pressed message instead); NotFound(what="order") for an unknown id;
- `await send_slips(turn, order_id)` sends each parcel's slip PDF; NotFound(what="shipment")
  while the order is not packed.
"""
from __future__ import annotations

from handlers.admin.cards import actions, steps
from handlers.admin.cards.actions import send_slips
from handlers.admin.cards.common import put_card
from handlers.registry import Registry
from handlers.turn import Turn


async def show_card(turn: Turn, order_id: int, fresh: bool = True) -> None:
    """The order's card with the buttons its current state allows."""
    put_card(turn, await turn.services.merchant.card(order_id), fresh)


def register(r: Registry) -> None:
    """Routes of the order cards."""
    r.action("ao", actions.on_order)
    r.action("aow", actions.on_warehouse)
    r.action("aoc", actions.on_carrier)
    r.action("ax", actions.on_abandon)
    r.step(actions.REASON_STEP, steps.reason_step)
    r.step(actions.TRACKING_STEP, steps.tracking_step)
    r.step(actions.REFUND_STEP, steps.refund_step)


__all__ = ["register", "send_slips", "show_card"]
