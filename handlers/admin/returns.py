"""Admin chat: after-sales request cards and their buttons.

Approve / Reject (with a reason) / Goods received (restock or not) / Refund (the lines' value, or
a typed amount) / Ship replacement (carrier, then tracking number) / Close, each shown only while
the request's status allows it. The card is edited in place as the request moves.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import callbacks
from handlers.admin.cards.common import CARD_STEPS, actor, leave_card_step
from handlers.admin.cards.steps import refund_amount, typed
from handlers.admin.cards.view import esc
from handlers.admin.prompts import ask, begin
from handlers.callbacks import Callback
from handlers.events import Button, EditText, Inline
from handlers.i18n import Translator
from handlers.registry import Registry
from handlers.turn import Turn
from services.errors import InvalidTransition
from services.merchant import return_actions, return_key
from services.returns import ReturnView

REASON_STEP, AMOUNT_STEP, TRACKING_STEP = (
    "admin_ret_reason", "admin_ret_amount", "admin_ret_tracking")
assert {REASON_STEP, AMOUNT_STEP, TRACKING_STEP} <= CARD_STEPS
callbacks.register("ar", "iw")   # return id, action (approve, receive, rsy, rsn, rfd, card ...)
callbacks.register("arc", "iw")  # return id, carrier code
# The press's word -> the card action that must still be allowed for it.
NEEDS = {"approve": "approve", "reject": "reject", "receive": "receive", "rsy": "receive",
         "rsn": "receive", "refund": "refund", "rfd": "refund", "replace": "replace",
         "close": "close"}


def return_text(t: Translator, view: ReturnView, alert: str = "", currency: str = "CNY") -> str:
    """The request as the merchant reads it."""
    def money(amount: int) -> str:
        return t.money(amount, currency)

    parts = [alert, ""] if alert else []
    parts += [t("admin_returns.title", id=view.id, number=esc(view.order_number)),
              t("admin_returns.kind", kind=t(f"returns.kind.{view.kind}"),
                status=t(f"returns.status.{view.status}"))]
    for line in view.lines[:20]:
        name = line.name_zh if t.language == "zh_CN" else line.name_en
        parts.append(t("admin_cards.line", qty=line.quantity, name=esc(name, 60),
                       sku=esc(line.sku, 40), total=money(line.unit_price * line.quantity)))
    parts.append(t("admin_returns.reason", reason=esc(view.reason, 1000)))
    parts.append(t("admin_returns.photos", count=len(view.photos)))
    if view.refunded_amount:
        parts.append(t("admin_returns.refunded", amount=money(view.refunded_amount)))
    if view.restocked is not None:
        parts.append(t("admin_returns.restocked_yes" if view.restocked
                       else "admin_returns.restocked_no"))
    if view.merchant_note:
        parts.append(t("admin_returns.note", note=esc(view.merchant_note)))
    return "\n".join(parts)


def return_keyboard(t: Translator, view: ReturnView) -> Inline:
    """A button per action the request's status allows."""
    buttons = [Button(t(f"admin_returns.btn.{a}"), callbacks.encode("ar", view.id, a))
               for a in return_actions(view)]
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    rows.append((Button(t("admin_cards.btn.refresh"), callbacks.encode("ar", view.id, "card")),))
    return Inline(tuple(rows))


def _text(turn: Turn, view: ReturnView, alert: str = "") -> str:
    return return_text(turn.t, view, alert, turn.services.ctx.rules.currency)


def _show(turn: Turn, view: ReturnView, message_id: int | None = None) -> None:
    text, keyboard = _text(turn, view), return_keyboard(turn.t, view)
    if message_id is not None:
        turn.replies.append(EditText(turn.chat_id, message_id, text, keyboard))
    else:
        turn.show(text, keyboard)


async def on_return(turn: Turn, pressed: Callback) -> None:
    """A button of a return card; a press the request's status no longer allows changes nothing."""
    return_id, word = pressed.int(0), pressed.word(1)
    if word != "rfd":  # the amount prompt's own button reads its step
        leave_card_step(turn)
    view = await turn.services.returns.get(return_id)
    if turn.event.callback_message_id is not None:
        await turn.services.merchant.remember_card(return_key(return_id), turn.chat_id,
                                                   turn.event.callback_message_id)
    if word != "card" and NEEDS.get(word) not in return_actions(view):
        turn.answer(_moved_on(turn, view), alert=True)
        return _show(turn, view)
    try:
        await PRESSES[word](turn, view)
    except InvalidTransition:
        view = await turn.services.returns.get(return_id)
        turn.answer(_moved_on(turn, view), alert=True)
        _show(turn, view)


def _moved_on(turn: Turn, view: ReturnView) -> str:
    return turn.t("admin_returns.stale", id=view.id,
                  status=turn.t(f"returns.status.{view.status}"))[:200]


async def _card(turn: Turn, view: ReturnView) -> None:
    _show(turn, view)
    turn.answer()


async def _approve(turn: Turn, view: ReturnView) -> None:
    _show(turn, await turn.services.returns.approve(view.id, actor(turn)))
    turn.answer(turn.t("admin_returns.approved", id=view.id))


async def _ask_restock(turn: Turn, view: ReturnView) -> None:
    rows = ((Button(turn.t("admin_returns.btn.rsy"), callbacks.encode("ar", view.id, "rsy")),
             Button(turn.t("admin_returns.btn.rsn"), callbacks.encode("ar", view.id, "rsn"))),
            (Button(turn.t("admin_cards.btn.back"), callbacks.encode("ar", view.id, "card")),))
    turn.show(_text(turn, view, turn.t("admin_returns.ask_restock")), Inline(rows))
    turn.answer()


async def _received(turn: Turn, view: ReturnView, restock: bool) -> None:
    _show(turn, await turn.services.returns.receive(view.id, actor(turn), restock))
    turn.answer(turn.t("admin_returns.received_restocked" if restock else "admin_returns.received"))


async def _refund_default(turn: Turn, view: ReturnView) -> None:
    """The prompt's "Refund <the lines' value>" button."""
    asked = turn.state.name == AMOUNT_STEP and turn.state.data.get("return_id") == view.id
    message_id = turn.state.data.get("card") if asked else None
    done = await turn.services.returns.refund(view.id, actor(turn))
    if asked:
        turn.reset()
    text = turn.t("admin_returns.refunded_done", id=view.id,
                  amount=_money(turn, done.refunded_amount - view.refunded_amount))
    turn.show(text)
    if message_id is not None:
        _show(turn, done, message_id)
    else:
        turn.send(_text(turn, done), return_keyboard(turn.t, done))
    turn.answer(text[:200])


def _money(turn: Turn, amount: int) -> str:
    return turn.t.money(amount, turn.services.ctx.rules.currency)


async def _ask(turn: Turn, view: ReturnView, step: str, key: str, hint: str,
               **params: object) -> None:
    begin(turn, step, return_id=view.id, card=turn.event.callback_message_id, **params)
    ask(turn, turn.t(key, id=view.id, **params), turn.t(hint))
    turn.answer()


async def _ask_amount(turn: Turn, view: ReturnView) -> None:
    """The card offers the items' value as a button; any other amount is a reply."""
    default = max(min(view.value - view.refunded_amount, view.refundable), 0)
    turn.go(AMOUNT_STEP, return_id=view.id, card=turn.event.callback_message_id)
    rows: list[tuple[Button, ...]] = []
    if default:
        rows.append((Button(turn.t("admin_returns.btn.rfd", amount=_money(turn, default)),
                            callbacks.encode("ar", view.id, "rfd")),))
    rows.append((Button(turn.t("admin_cards.btn.back"), callbacks.encode("ar", view.id, "card")),))
    turn.show(_text(turn, view), Inline(tuple(rows)))
    ask(turn, turn.t("admin_returns.ask_amount", id=view.id,
                          max=_money(turn, view.refundable)), turn.t("admin.hint.amount"))
    turn.answer()


async def _ask_carrier(turn: Turn, view: ReturnView) -> None:
    rows = tuple((Button(name, callbacks.encode("arc", view.id, code)),)
                 for code, name in turn.services.ctx.carriers.choices(turn.t.language))
    back = (Button(turn.t("admin_cards.btn.back"), callbacks.encode("ar", view.id, "card")),)
    turn.show(_text(turn, view, turn.t("admin_returns.ask_carrier")), Inline((*rows, back)))
    turn.answer()


async def _close(turn: Turn, view: ReturnView) -> None:
    _show(turn, await turn.services.returns.close(view.id, actor(turn)))
    turn.answer(turn.t("admin_returns.closed", id=view.id))


async def on_carrier(turn: Turn, pressed: Callback) -> None:
    """The replacement's carrier is chosen: the tracking number comes next."""
    return_id, code = pressed.int(0), pressed.word(1)
    view = await turn.services.returns.get(return_id)
    if "replace" not in return_actions(view):
        turn.answer(_moved_on(turn, view), alert=True)
        return _show(turn, view)
    carrier = turn.services.ctx.carriers.get(code)
    await _ask(turn, view, TRACKING_STEP, "admin_returns.ask_tracking", "admin.hint.tracking",
               carrier=carrier.code)


async def reason_step(turn: Turn) -> None:
    """The reason a request is rejected (the customer reads it)."""
    if (text := typed(turn)) is not None:
        await _finish(turn, lambda rid: turn.services.returns.reject(rid, actor(turn), text),
                      "admin_returns.rejected")


async def amount_step(turn: Turn) -> None:
    """A typed refund amount."""
    if (text := typed(turn)) is None:
        return
    refundable = await turn.services.returns.refundable(int(turn.state.data["return_id"]))
    if (amount := refund_amount(turn, text, refundable)) is not None:
        await _finish(turn, lambda rid: turn.services.returns.refund(rid, actor(turn), amount),
                      "admin_returns.refunded_done", amount=_money(turn, amount))


async def tracking_step(turn: Turn) -> None:
    """The replacement's tracking number; then it ships and the customer is told."""
    if (text := typed(turn)) is not None:
        carrier = str(turn.state.data["carrier"])
        await _finish(turn, lambda rid: turn.services.returns.ship_replacement(
            rid, actor(turn), carrier, text), "admin_returns.replaced")


async def _finish(turn: Turn, act: Callable[[int], Awaitable[ReturnView]], key: str,
                  **params: object) -> None:
    return_id, message_id = int(turn.state.data["return_id"]), turn.state.data.get("card")
    try:
        view = await act(return_id)
    except InvalidTransition:
        view = await turn.services.returns.get(return_id)
        turn.reset()
        turn.send(_moved_on(turn, view))
        return _show(turn, view, message_id)
    turn.reset()
    turn.send(turn.t(key, id=return_id, **params))
    _show(turn, view, message_id)


async def _reject(turn: Turn, view: ReturnView) -> None:
    await _ask(turn, view, REASON_STEP, "admin_returns.ask_reason", "admin.hint.reason")


PRESSES: dict[str, Callable[[Turn, ReturnView], Awaitable[None]]] = {
    "card": _card, "approve": _approve, "reject": _reject, "receive": _ask_restock,
    "rsy": lambda turn, view: _received(turn, view, True),
    "rsn": lambda turn, view: _received(turn, view, False),
    "refund": _ask_amount, "rfd": _refund_default, "replace": _ask_carrier, "close": _close,
}


def register(r: Registry) -> None:
    """Routes of the return cards."""
    r.action("ar", on_return)
    r.action("arc", on_carrier)
    r.step(REASON_STEP, reason_step)
    r.step(AMOUNT_STEP, amount_step)
    r.step(TRACKING_STEP, tracking_step)
