"""Rate and review a completed order: stars by button, then a text (or Skip)."""
from __future__ import annotations

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import Button, Inline
from handlers.orders.view import show_order
from handlers.turn import Turn
from services.errors import InvalidInput
from services.reviews import MAX_TEXT, REVIEWABLE

STEP = "orders.review_text"


async def rate(turn: Turn, pressed: Callback) -> None:
    """Stars chosen: ask for a few words about the order."""
    order_id, stars = pressed.int(0), pressed.int(1)
    if not 1 <= stars <= 5:
        return turn.answer(turn.t("error.stale_button"), alert=True)
    order = await turn.services.orders.detail(order_id, turn.customer.id)
    if order.status not in REVIEWABLE:
        return turn.answer(turn.t("orders.review_not_yet"), alert=True)
    if await turn.services.reviews.reviewed(turn.customer.id, order.id):
        return turn.answer(turn.t("orders.review_already"), alert=True)
    if turn.state.name == STEP and turn.state.data == {"order_id": order.id, "stars": stars}:
        return turn.answer()  # pressed twice: the question is already there
    turn.go(STEP, order_id=order.id, stars=stars)
    skip = Button(turn.t("orders.btn_skip"), callbacks.encode("revskip", order.id))
    turn.send(turn.t("orders.review_ask", stars="⭐" * stars, max=MAX_TEXT), Inline(((skip,),)))
    turn.answer()


async def review_text(turn: Turn) -> None:
    """The review's words (anything but text is asked again)."""
    text = turn.event.text.strip() if turn.event.kind == "message" else ""
    if not text:
        return turn.send(turn.t("orders.review_need_text", max=MAX_TEXT))
    if len(text) > MAX_TEXT:
        return turn.send(turn.t("orders.review_too_long", max=MAX_TEXT, length=len(text)))
    await _save(turn, text)


async def skip(turn: Turn, pressed: Callback) -> None:
    """No words, just the stars."""
    if turn.state.name != STEP or turn.state.data.get("order_id") != pressed.int(0):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    turn.answer()
    await _save(turn, "")


async def _save(turn: Turn, text: str) -> None:
    order_id, stars = int(turn.state.data["order_id"]), int(turn.state.data["stars"])
    turn.reset()  # leave the step whatever the service says: a refusal is final
    try:
        await turn.services.reviews.review(turn.customer.id, order_id, stars, text)
    except InvalidInput as error:
        if error.params.get("reason") != "already_reviewed":
            raise
        return turn.send(turn.t("orders.review_already"))
    await show_order(turn, order_id, fresh=True, note=turn.t("orders.review_thanks"))
