"""After-sales from the order card: return, exchange or refund; items, reason, photos, then the
request.

```mermaid
stateDiagram-v2
    Card --> Kind: ret:<order>
    Kind --> Lines: retk:<order>:return|exchange|refund
    Lines --> Lines: retl:<order>:<line>:<qty>
    Lines --> Reason: retgo:<order>
    Reason --> Photos: text
    Photos --> Photos: photo
    Photos --> [*]: retsend:<order> -> ReturnService.request
```
"""
from __future__ import annotations

from dataclasses import replace
from html import escape

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import Button, Inline
from handlers.orders.view import left_to_return, line_label, product_name, returnable, show_order
from handlers.registry import Registry
from handlers.turn import Turn
from services.orders.dto import OrderDetail
from services.returns import KINDS, MAX_PHOTOS, MAX_REASON

LINES, REASON, PHOTOS = "returns.lines", "returns.reason", "returns.photos"
MAX_PICKER_LINES = 30  # three buttons a line, within Telegram's 100 buttons per keyboard

callbacks.register("retsend", "i")  # order id: send the request (photos done or skipped)


async def start(turn: Turn, pressed: Callback) -> None:
    """Return pressed on the order card: which kind of after-sales?"""
    order = await _returnable_order(turn, pressed.int(0))
    if order is None:
        return
    rows = tuple((Button(turn.t(f"returns.kind.{k}"), callbacks.encode("retk", order.id, k)),)
                 for k in KINDS)
    back = Button(turn.t("returns.btn_back"), callbacks.encode("order", order.id))
    turn.show(turn.t("returns.choose_kind", number=order.number), Inline((*rows, (back,))))
    turn.answer()


async def choose_kind(turn: Turn, pressed: Callback) -> None:
    """Kind chosen: pick the items and quantities."""
    kind = pressed.word(1)
    if kind not in KINDS:
        return turn.answer(turn.t("error.stale_button"), alert=True)
    order = await _returnable_order(turn, pressed.int(0))
    if order is None:
        return
    turn.go(LINES, order_id=order.id, kind=kind, lines={})
    await _show_picker(turn, order)
    turn.answer()


async def choose_line(turn: Turn, pressed: Callback) -> None:
    """➕/➖ on an item: set how many of it go back (0 takes it out)."""
    order_id, line_id, qty = pressed.int(0), pressed.int(1), pressed.int(2)
    if not _at(turn, LINES, order_id):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    order = await turn.services.orders.detail(order_id, turn.customer.id)
    limits = await _limits(turn, order)
    if line_id not in limits:
        return turn.answer(turn.t("returns.line_unknown"), alert=True)
    if qty > limits[line_id]:
        return turn.answer(turn.t("returns.too_many", max=limits[line_id]), alert=True)
    chosen = {k: v for k, v in turn.state.data["lines"].items() if k != str(line_id)}
    turn.remember(lines={**chosen, **({str(line_id): qty} if qty else {})})
    await _show_picker(turn, order)
    turn.answer()


async def lines_done(turn: Turn, pressed: Callback) -> None:
    """Done choosing items: ask why."""
    if not _at(turn, LINES, pressed.int(0)):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    if not turn.state.data["lines"]:
        return turn.answer(turn.t("returns.choose_something"), alert=True)
    turn.go(REASON, **turn.state.data)
    turn.answer()
    turn.send(turn.t("returns.ask_reason", max=MAX_REASON))


async def lines_hint(turn: Turn) -> None:
    """Typing while choosing items: point at the buttons."""
    turn.send(turn.t("returns.lines_hint"))


async def reason(turn: Turn) -> None:
    """The reason, in words (a photo or a sticker here is asked again)."""
    text = turn.event.text.strip() if turn.event.kind == "message" else ""
    if not text:
        return turn.send(turn.t("returns.reason_need_text", max=MAX_REASON))
    if len(text) > MAX_REASON:
        return turn.send(turn.t("returns.reason_too_long", max=MAX_REASON, length=len(text)))
    turn.go(PHOTOS, **{**turn.state.data, "reason": text, "photos": []})
    turn.send(turn.t("returns.ask_photos", max=MAX_PHOTOS), _photos_keyboard(turn))


async def photo(turn: Turn) -> None:
    """A photo of the goods; anything else gets a reminder of what to send."""
    photos: list[str] = list(turn.state.data.get("photos", []))
    if turn.event.kind != "photo" or not turn.event.file_id:
        return turn.send(turn.t("returns.photos_hint", max=MAX_PHOTOS), _photos_keyboard(turn))
    if len(photos) >= MAX_PHOTOS:
        return turn.send(turn.t("returns.photos_full", max=MAX_PHOTOS), _photos_keyboard(turn))
    turn.remember(photos=[*photos, turn.event.file_id])
    turn.send(turn.t("returns.photo_added", count=len(photos) + 1, max=MAX_PHOTOS),
              _photos_keyboard(turn))


async def send_request(turn: Turn, pressed: Callback) -> None:
    """Photos done or skipped: file the request (the service checks window and quantities)."""
    if not _at(turn, PHOTOS, pressed.int(0)):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    data = turn.state.data
    turn.reset()  # a refusal below is final: leave the steps either way
    lines = [(int(line), int(qty)) for line, qty in sorted(data["lines"].items())]
    request = await turn.services.returns.request(turn.customer.id, int(data["order_id"]),
                                                  str(data["kind"]), str(data["reason"]), lines,
                                                  list(data.get("photos", [])))
    turn.answer()
    await show_order(turn, request.order_id, fresh=True,
                     note=turn.t("returns.received", id=request.id, number=request.order_number,
                                 kind=turn.t(f"returns.kind.{request.kind}")))


def _at(turn: Turn, step: str, order_id: int) -> bool:
    """The button belongs to the step the customer is at, for this order."""
    return turn.state.name == step and turn.state.data.get("order_id") == order_id


async def _returnable_order(turn: Turn, order_id: int) -> OrderDetail | None:
    """The customer's order if after-sales is open for it and something is left to ask for;
    else say why and None."""
    order = await turn.services.orders.detail(order_id, turn.customer.id)
    ctx = turn.services.ctx
    if not returnable(order, ctx.clock.now(), ctx.rules.return_window):
        turn.answer(turn.t("returns.not_open"), alert=True)
        return None
    if not any((await _limits(turn, order)).values()):
        turn.answer(turn.t("returns.nothing_left", number=order.number), alert=True)
        return None
    return order


async def _limits(turn: Turn, order: OrderDetail) -> dict[int, int]:
    """Units of each line that may still go back (the service counts what was asked for)."""
    return await left_to_return(turn, order)


async def _show_picker(turn: Turn, order: OrderDetail) -> None:
    """The items with ➖ count ➕, a summary of the choice, and Done."""
    t, chosen = turn.t, turn.state.data["lines"]
    limits = await _limits(turn, order)
    rows: list[tuple[Button, ...]] = []
    # An item with nothing left to return is not offered (its earlier request says why).
    for line in [ln for ln in order.lines if limits.get(ln.id, 0)][:MAX_PICKER_LINES]:
        n, most = chosen.get(str(line.id), 0), limits[line.id]
        label = Button(t("returns.picker_label",
                         name=product_name(t, line.name_en, line.name_zh, html=False),
                         qty=n, max=most), callbacks.encode("noop"))
        minus = Button("➖", callbacks.encode("retl", order.id, line.id, max(0, n - 1)))
        plus = Button("➕", callbacks.encode("retl", order.id, line.id, min(most, n + 1)))
        rows.append((minus, label, plus))
    rows.append((Button(t("returns.btn_lines_done"), callbacks.encode("retgo", order.id)),
                 Button(t("returns.btn_back"), callbacks.encode("order", order.id))))
    picked = [t("returns.summary_row",
                item=line_label(t, replace(line, quantity=chosen[str(line.id)])))
              for line in order.lines if str(line.id) in chosen]
    summary = "\n".join(picked) if picked else t("returns.summary_empty")
    kind = t(f"returns.kind.{turn.state.data['kind']}")
    turn.show(t("returns.choose_lines", number=escape(order.number), kind=kind, summary=summary),
              Inline(tuple(rows)))


def _photos_keyboard(turn: Turn) -> Inline:
    """Done (with photos) or Skip (without)."""
    count = len(turn.state.data.get("photos", []))
    label = (turn.t.plural("returns.btn_photos_done", count) if count
             else turn.t("returns.btn_photos_skip"))
    order_id = int(turn.state.data["order_id"])
    return Inline(((Button(label, callbacks.encode("retsend", order_id)),),))


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.action("ret", start)
    r.action("retk", choose_kind)
    r.action("retl", choose_line)
    r.action("retgo", lines_done)
    r.action("retsend", send_request)
    r.step(LINES, lines_hint)
    r.step(REASON, reason)
    r.step(PHOTOS, photo)
