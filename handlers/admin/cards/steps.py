"""What an admin types after a card button asked for it: a reason, a tracking number, an amount.

A wrong value is refused politely and the step stays, so the admin simply sends it again; the
step's Cancel button leaves it. If the order moved on meanwhile, nothing changes and the admin is
told what happened.
"""
from __future__ import annotations

import re

from handlers.admin.cards.common import actor, edit_card, told_raced
from handlers.admin.cards.view import esc
from handlers.admin.prompts import ask_again
from handlers.turn import Turn
from services.errors import InvalidInput, InvalidTransition

_AMOUNT = re.compile(r"(\d{1,12})(?:[.,](\d{1,2}))?")


def typed(turn: Turn) -> str | None:
    """The text the admin sent, or None (and a hint) for a photo, sticker or the like."""
    text = turn.event.text.strip() if turn.event.kind == "message" else ""
    if not text:
        ask_again(turn, turn.t("admin_cards.send_text"))
        return None
    return text


def parse_amount(text: str) -> int:
    """ "12.50", "12,5", "¥12" -> minor units above zero; else InvalidInput(field="amount",
    reason=not_a_number | negative | zero)."""
    typed = text.strip().lstrip("¥￥$").strip()
    found = _AMOUNT.fullmatch(typed.removeprefix("-").strip())
    if found is None:
        raise InvalidInput(field="amount", reason="not_a_number")
    whole, cents = found.groups()
    amount = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    if amount == 0:
        raise InvalidInput(field="amount", reason="zero")
    if typed.startswith("-"):
        raise InvalidInput(field="amount", reason="negative")
    return amount


def refund_amount(turn: Turn, text: str, refundable: int) -> int | None:
    """The typed amount when it can be refunded; else None, and the admin is told why and what
    the most is (the step stays for another try)."""
    most = turn.t.money(refundable, turn.services.ctx.rules.currency)
    if refundable <= 0:
        turn.send(turn.t("admin_cards.nothing_to_refund"))
        return None
    try:
        amount = parse_amount(text)
    except InvalidInput as error:
        ask_again(turn, turn.t(f"admin_cards.amount_{error.params['reason']}", text=esc(text, 40),
                               max=most))
        return None
    if amount > refundable:
        ask_again(turn, turn.t("admin_cards.over_refundable", max=most))
        return None
    return amount


async def lost(turn: Turn, order_id: int) -> None:
    """The order moved on while the admin typed: leave the step, say so, show the card."""
    card, message_id = await turn.services.merchant.card(order_id), turn.state.data.get("card")
    turn.reset()
    turn.send(told_raced(turn, card))
    edit_card(turn, card, message_id)


async def reason_step(turn: Turn) -> None:
    """The reason for rejecting or cancelling; the customer reads it, their money goes back."""
    text, data = typed(turn), dict(turn.state.data)
    if text is None:
        return
    orders, order_id = turn.services.orders, int(data["order_id"])
    step = orders.reject if data["action"] == "reject" else orders.cancel_by_merchant
    try:
        done = await step(order_id, actor(turn), text)
    except InvalidTransition:
        return await lost(turn, order_id)
    turn.reset()
    turn.send(turn.t(f"admin_cards.done.{data['action']}", number=esc(done.number),
                     reason=esc(text)))
    edit_card(turn, await turn.services.merchant.card(order_id), data.get("card"))


async def tracking_step(turn: Turn) -> None:
    """The tracking number (spaces removed by the carrier's rules); then the order ships."""
    text, data = typed(turn), dict(turn.state.data)
    if text is None:
        return
    order_id = int(data["order_id"])
    try:
        await turn.services.orders.ship(order_id, actor(turn), str(data["carrier"]), text)
    except InvalidTransition:
        return await lost(turn, order_id)
    turn.reset()
    card = await turn.services.merchant.card(order_id)
    parcel = next((s for s in card.order.shipments if s.shipped_at), None)
    turn.send(turn.t("admin_cards.shipped", number=esc(card.order.number),
                     carrier=esc(turn.services.ctx.carriers.name(str(data["carrier"]),
                                                                 turn.t.language)),
                     tracking=esc(parcel.tracking_number if parcel else "")))
    edit_card(turn, card, data.get("card"))


async def refund_step(turn: Turn) -> None:
    """The amount to refund: above zero and at most what is left."""
    text, data = typed(turn), dict(turn.state.data)
    if text is None:
        return
    order_id = int(data["order_id"])
    card = await turn.services.merchant.card(order_id)

    def money(value: int) -> str:
        return turn.t.money(value, card.order.currency)

    if (amount := refund_amount(turn, text, card.refundable)) is None:
        return None
    try:
        done = await turn.services.merchant.refund_part(order_id, amount, actor(turn))
    except InvalidTransition:
        return await lost(turn, order_id)
    turn.reset()
    key = "admin_cards.refunded" if done.refunded else "admin_cards.refund_failed"
    turn.send(turn.t(key, number=esc(done.order_number), amount=money(done.refunded),
                     left=money(done.refundable)))
    edit_card(turn, await turn.services.merchant.card(order_id), data.get("card"))
