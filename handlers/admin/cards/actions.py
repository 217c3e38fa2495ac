"""The order card's buttons: each checks the order's current state, then calls one service.

A press on a card whose order has moved on changes nothing: it is answered with the current state
and the card is shown as it is now. Two admins pressing at once: the services' compare-and-set
lets one win; the other is told who won.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from handlers.admin.cards.common import (
    CARD_STEPS,
    actor,
    leave_card_step,
    pressed_their_card,
    put_card,
    refuse_stale,
    told_raced,
)
from handlers.admin.cards.view import carrier_screen, esc, warehouse_screen
from handlers.admin.prompts import ask, begin
from handlers.callbacks import Callback
from handlers.events import SendDocument
from handlers.turn import Turn
from services import merchant as m
from services.errors import InvalidTransition
from services.merchant import OrderCard

REASON_STEP, TRACKING_STEP, REFUND_STEP = "admin_reason", "admin_tracking", "admin_refund"
assert {REASON_STEP, TRACKING_STEP, REFUND_STEP} <= CARD_STEPS
CardAction = Callable[[Turn, OrderCard], Awaitable[None]]


async def on_order(turn: Turn, pressed: Callback) -> None:
    """A button of an order card: `card` re-renders it, any other word is an action."""
    order_id, action = pressed.int(0), pressed.word(1)
    leave_card_step(turn)
    card = await turn.services.merchant.card(order_id)
    theirs = await pressed_their_card(turn, order_id)
    await remember_pressed(turn, order_id)
    if action == "card":
        turn.answer()
        return put_card(turn, card)
    if action not in card.actions or action not in ACTIONS:
        return refuse_stale(turn, card, theirs)
    try:
        await ACTIONS[action](turn, card)
    except InvalidTransition:
        await lost_race(turn, order_id, theirs)


async def lost_race(turn: Turn, order_id: int, their_card: bool = False) -> None:
    """Someone else's compare-and-set won: say what the order is now, and show it."""
    card = await turn.services.merchant.card(order_id)
    turn.replies.clear()  # whatever the lost attempt prepared is void
    turn.answer(told_raced(turn, card)[:200], alert=True)
    if not their_card:
        put_card(turn, card)


async def remember_pressed(turn: Turn, order_id: int) -> None:
    """The card the admin works with is the one later alerts edit."""
    if turn.event.callback_message_id is not None:
        await turn.services.merchant.remember_card(order_id, turn.chat_id,
                                                   turn.event.callback_message_id)


async def confirm(turn: Turn, card: OrderCard) -> None:
    """Review passed: the order waits for shipment."""
    await turn.services.orders.confirm(card.order.id, actor(turn))
    put_card(turn, await turn.services.merchant.card(card.order.id))
    turn.answer(turn.t("admin_cards.confirmed", number=card.order.number))


async def ask_reason(turn: Turn, card: OrderCard, action: str) -> None:
    """Reject or cancel: the reason (sent to the customer) comes in the next message."""
    begin(turn, REASON_STEP, order_id=card.order.id, action=action,
          card=turn.event.callback_message_id)
    ask(turn, turn.t(f"admin_cards.ask_reason.{action}", number=esc(card.order.number)),
        turn.t("admin.hint.reason"))
    turn.answer()


async def warehouse(turn: Turn, card: OrderCard) -> None:
    """The suggested warehouse and the others, to choose from."""
    options = await turn.services.merchant.warehouse_options(card.order.id)
    turn.show(*warehouse_screen(turn.t, card, options))
    turn.answer()


async def pack(turn: Turn, card: OrderCard) -> None:
    """Pack: one parcel per warehouse, and its slip PDF to print."""
    await turn.services.orders.pack(card.order.id, actor(turn))
    put_card(turn, await turn.services.merchant.card(card.order.id))
    count = await send_slips(turn, card.order.id)
    turn.answer(turn.t.plural("admin_cards.packed", count, number=card.order.number))


async def slip(turn: Turn, card: OrderCard) -> None:
    """The slips again (a printer jammed)."""
    count = await send_slips(turn, card.order.id)
    turn.answer(turn.t.plural("admin_cards.slips_sent", count))


async def send_slips(turn: Turn, order_id: int) -> int:
    """Every parcel's slip PDF as a document here; NotFound(shipment) before packing."""
    slips = await turn.services.merchant.slips(order_id)
    for s in slips:
        number = s.filename.removeprefix("slip-").removesuffix(".pdf")
        turn.replies.append(SendDocument(turn.chat_id, s.filename, s.content, turn.t(
            "admin_cards.slip_caption", number=esc(number), index=s.parcel_index,
            count=s.parcel_count), turn.event.thread_id))
    return len(slips)


async def ship(turn: Turn, card: OrderCard) -> None:
    """Which carrier? (then the tracking number)."""
    turn.show(*carrier_screen(turn.t, card, turn.services.ctx.carriers.choices(turn.t.language)))
    turn.answer()


async def deliver(turn: Turn, card: OrderCard) -> None:
    """The parcel arrived (a carrier without tracking, or tracking that lags): the merchant says
    so."""
    await turn.services.orders.mark_delivered(card.order.id, actor(turn))
    put_card(turn, await turn.services.merchant.card(card.order.id))
    turn.answer(turn.t("admin_cards.delivered", number=card.order.number))


async def refund(turn: Turn, card: OrderCard) -> None:
    """Refund part of the order: the amount comes in the next message."""
    begin(turn, REFUND_STEP, order_id=card.order.id, card=turn.event.callback_message_id)
    ask(turn, turn.t("admin_cards.ask_amount", number=esc(card.order.number),
                     max=turn.t.money(card.refundable, card.order.currency)),
        turn.t("admin.hint.amount"))
    turn.answer()


async def on_warehouse(turn: Turn, pressed: Callback) -> None:
    """Ship the order from the chosen warehouse (refused when it lacks stock)."""
    order_id, warehouse_id = pressed.int(0), pressed.int(1)
    leave_card_step(turn)
    card = await turn.services.merchant.card(order_id)
    if m.WAREHOUSE not in card.actions:
        return refuse_stale(turn, card)
    try:
        card = await turn.services.merchant.choose_warehouse(order_id, warehouse_id, actor(turn))
    except InvalidTransition:
        return await lost_race(turn, order_id, await pressed_their_card(turn, order_id))
    put_card(turn, card)
    turn.answer(turn.t("admin_cards.warehouse_set", number=card.order.number,
                       warehouse=card.warehouse))


async def on_carrier(turn: Turn, pressed: Callback) -> None:
    """The carrier is chosen: the tracking number comes in the next message."""
    order_id, code = pressed.int(0), pressed.word(1)
    card = await turn.services.merchant.card(order_id)
    if m.SHIP not in card.actions:
        return refuse_stale(turn, card)
    carrier = turn.services.ctx.carriers.get(code)
    begin(turn, TRACKING_STEP, order_id=order_id, carrier=carrier.code,
          card=turn.event.callback_message_id)
    ask(turn, turn.t("admin_cards.ask_tracking", number=esc(card.order.number),
                     carrier=esc(carrier.profile.name(turn.t.language))),
        turn.t("admin.hint.tracking"))
    turn.answer()


async def on_abandon(turn: Turn, pressed: Callback) -> None:
    """Leave the step: nothing changes."""
    turn.reset()
    turn.show(turn.t("admin_cards.abandoned"))
    turn.answer(turn.t("admin_cards.abandoned"))


ACTIONS: dict[str, CardAction] = {
    m.CONFIRM: confirm, m.REJECT: partial(ask_reason, action="reject"),
    m.WAREHOUSE: warehouse, m.PACK: pack, m.SLIP: slip, m.SHIP: ship, m.DELIVER: deliver,
    m.CANCEL: partial(ask_reason, action="cancel"), m.REFUND: refund,
}
