"""How an order looks in the chat: the list, the detail card (timeline, parcels, returns) and its
buttons."""
from __future__ import annotations

from datetime import datetime
from html import escape

from handlers import callbacks
from handlers.events import Button, Inline
from handlers.i18n import Translator, catalogue
from handlers.turn import Turn
from models import OrderStatus as S
from services.context import ServiceContext
from services.errors import InvalidInput, PaymentError
from services.orders.dto import LineView, OrderDetail, OrderSummary, ShipmentView
from services.orders.lifecycle import ACTIONS
from services.postal import format_phone
from services.reorder import REORDERABLE
from services.returns import RETURNABLE, ReturnView
from services.reviews import REVIEWABLE
from services.shipping.carriers import CarrierRegistry

MAX_TEXT = 4096  # Bot API: a message holds at most 4096 characters
MAX_LINES, MAX_EVENTS, MAX_TRACKING = 20, 12, 6  # keep a big order's card readable and in bounds
CANCELLABLE = frozenset(ACTIONS["customer_cancel"])


def status_name(t: Translator, status: str) -> str:
    """An order status in words."""
    return _word(t, f"orders.status.{status}", status)


def _word(t: Translator, key: str, fallback: str) -> str:
    """A text for a code the catalogue may not know (a new carrier, a new payment method)."""
    return t(key) if key in catalogue(t.language) or key in catalogue("en") else escape(fallback)


def product_name(t: Translator, name_en: str, name_zh: str, html: bool = True) -> str:
    """The product's name in the customer's language, HTML-escaped for message texts.

    Button labels are not parsed as HTML, so they take the name as it is (`html=False`).
    """
    name = name_zh if t.language.startswith("zh") and name_zh else name_en
    return escape(name) if html else name


def line_label(t: Translator, line: LineView) -> str:
    """"Green tea × 2"."""
    return t("orders.line_label", name=product_name(t, line.name_en, line.name_zh),
             qty=line.quantity)


def summary_button(t: Translator, order: OrderSummary) -> Button:
    """A row of the order list."""
    text = t("orders.list_row", number=order.number, status=status_name(t, order.status),
             total=t.money(order.total, order.currency), date=t.when(order.created_at))
    return Button(text, callbacks.encode("order", order.id))


def list_keyboard(t: Translator, orders: list[OrderSummary], page: int, pages: int) -> Inline:
    """The orders as buttons, with page arrows when there are several pages."""
    rows: list[tuple[Button, ...]] = [(summary_button(t, o),) for o in orders]
    again = next((o for o in orders if o.status in REORDERABLE), None)
    if again is not None and page == 0:  # the newest delivered order, again in one tap
        rows.append((Button(t("orders.btn_again_list", number=again.number),
                            callbacks.encode("again", again.id)),))
    if pages > 1:
        arrows = [Button(t("orders.page", page=page + 1, pages=pages), callbacks.encode("noop"))]
        if page > 0:
            arrows.insert(0, Button("◀️", callbacks.encode("orders", page - 1)))
        if page + 1 < pages:
            arrows.append(Button("▶️", callbacks.encode("orders", page + 1)))
        rows.append(tuple(arrows))
    return Inline(tuple(rows))


def detail_text(t: Translator, order: OrderDetail, returns: list[ReturnView],
                ctx: ServiceContext) -> str:
    """The order card: status, lines, money, address, timeline, parcels and after-sales."""
    parts = [_head(t, order), _lines(t, order), _address(t, order, ctx.rules.default_phone_region),
             _timeline(t, order)]
    parts += [_shipment(t, s, ctx.carriers) for s in order.shipments]
    if returns:
        parts.append("\n".join([t("orders.returns_title")] + [
            t("orders.return_row", id=r.id, kind=t(f"returns.kind.{r.kind}"),
              status=t(f"returns.status.{r.status}")) for r in returns]))
    return fit("\n\n".join(p for p in parts if p))


def fit(text: str) -> str:
    """Cut at a line boundary to stay within Telegram's limit (each line closes its own tags)."""
    if len(text) <= MAX_TEXT:
        return text
    cut = text[: MAX_TEXT - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def _head(t: Translator, order: OrderDetail) -> str:
    rows = [t("orders.detail_title", number=order.number),
            t("orders.detail_status", status=status_name(t, order.status)),
            t("orders.detail_placed", date=t.when(order.created_at))]
    if order.status == S.PENDING_PAYMENT and order.payment_deadline:
        rows.append(t("orders.detail_pay_by", date=t.when(order.payment_deadline)))
    if order.status == S.DELIVERED and order.receipt_deadline:
        rows.append(t("orders.detail_confirm_by", date=t.when(order.receipt_deadline)))
    if order.cancel_reason:
        rows.append(t("orders.detail_cancel_reason", reason=escape(order.cancel_reason)))
    return "\n".join(rows)


def _lines(t: Translator, order: OrderDetail) -> str:
    money = order.currency
    rows = [t("orders.detail_line", item=line_label(t, ln), amount=t.money(ln.total, money))
            for ln in order.lines[:MAX_LINES]]
    if len(order.lines) > MAX_LINES:
        rows.append(t.plural("orders.more_lines", len(order.lines) - MAX_LINES))
    rows.append(t("orders.detail_delivery_fee", amount=t.money(order.delivery_fee, money)))
    rows.append(t("orders.detail_total", amount=t.money(order.total, money)))
    if order.paid:
        rows.append(t("orders.detail_paid", amount=t.money(order.paid, money)))
    if order.refunded:
        rows.append(t("orders.detail_refunded", amount=t.money(order.refunded, money)))
    rows.append(t("orders.detail_payment", method=_word(t, f"orders.payment.{order.payment_method}",
                                                         order.payment_method)))
    return "\n".join(rows)


def _address(t: Translator, order: OrderDetail, phone_region: str) -> str:
    place = t.address(order.region, order.city, order.address_line, order.postcode)
    return t("orders.detail_address", recipient=escape(order.recipient_name),
             phone=escape(format_phone(order.phone, phone_region)), address=escape(place))


def _timeline(t: Translator, order: OrderDetail) -> str:
    rows = [t("orders.timeline_row", when=t.when(e.at), status=status_name(t, e.to_status))
            for e in order.changes[-MAX_EVENTS:]]
    return "\n".join([t("orders.timeline_title"), *rows]) if rows else ""


def _shipment(t: Translator, shipment: ShipmentView, carriers: CarrierRegistry) -> str:
    if not shipment.carrier:
        return t("orders.parcel_packed")
    carrier = escape(carriers.name(shipment.carrier, t.language))
    key = "orders.parcel_replacement" if shipment.is_replacement else "orders.parcel_title"
    rows = [t(key, carrier=carrier, tracking=escape(shipment.tracking_number or ""))]
    if shipment.expected_delivery and not shipment.delivered_at:
        rows.append(t("orders.parcel_expected", date=t.day(shipment.expected_delivery)))
    rows += [t("orders.tracking_row", when=t.when(e.at), where=escape(e.location),
               what=tracking_status(t, e.code, e.description))
             for e in shipment.events[-MAX_TRACKING:]]
    return "\n".join(rows)


def tracking_status(t: Translator, code: str, description: str) -> str:
    """A carrier event in the reader's words (the carrier's own only for a problem)."""
    key = f"notify.tracking.{code}"
    known = key in catalogue(t.language) or key in catalogue("en")
    return t(key, description=escape(description)) if known else escape(description)


def returnable(order: OrderDetail, now: datetime, window: object) -> bool:
    """Whether the return button belongs on the card (the service decides for real)."""
    return (order.status in RETURNABLE and order.delivered_at is not None
            and now <= order.delivered_at + window)  # type: ignore[operator]


async def detail_keyboard(turn: Turn, order: OrderDetail) -> Inline:
    """The buttons the order's state allows."""
    t = turn.t
    rows: list[tuple[Button, ...]] = []
    if order.status == S.PENDING_PAYMENT and order.payment_method != "cod":
        link = await _payment_link(turn, order.id)
        # A link where the provider has one; otherwise (Telegram Payments) the payment step again.
        rows.append((Button(t("orders.btn_pay"), url=link) if link
                     else Button(t("orders.btn_pay"), callbacks.encode("paylink", order.id)),))
    if order.status == S.OUT_OF_STOCK:
        rows.append((Button(t("orders.btn_oos_wait"), callbacks.encode("oos", order.id, "wait")),))
        rows.append((Button(t("orders.btn_oos_cancel"),
                            callbacks.encode("oos", order.id, "cancel")),))
    elif order.status in CANCELLABLE:
        rows.append((Button(t("orders.btn_cancel"), callbacks.encode("cancel", order.id)),))
    if order.status == S.DELIVERED:
        rows.append((Button(t("orders.btn_received"), callbacks.encode("received", order.id)),))
    if order.status in REVIEWABLE and not await turn.services.reviews.reviewed(
            turn.customer.id, order.id):
        rows.append(tuple(Button(f"{n}⭐", callbacks.encode("rate", order.id, n))
                          for n in range(1, 6)))
    ctx = turn.services.ctx
    if returnable(order, ctx.clock.now(), ctx.rules.return_window) and any(
            (await left_to_return(turn, order)).values()):
        rows.append((Button(t("orders.btn_return"), callbacks.encode("ret", order.id)),))
    if order.status in REORDERABLE:
        rows.append((Button(t("orders.btn_again"), callbacks.encode("again", order.id)),))
    if turn.services.support.rules.chat_id is not None:
        rows.append((Button(t("support.ask_order"), callbacks.encode("supo", order.id)),))
    rows.append((Button(t("orders.btn_back"), callbacks.encode("orders", 0)),))
    return Inline(tuple(rows))


async def left_to_return(turn: Turn, order: OrderDetail) -> dict[int, int]:
    """Units of each line that may still be asked for after-sales."""
    return await turn.services.returns.left_to_return(order.id, turn.customer.id)


async def _payment_link(turn: Turn, order_id: int) -> str | None:
    """The online payment link, or None where the method has none (it is paid another way)."""
    try:
        return await turn.services.payments.payment_link(turn.customer.id, order_id)
    except (PaymentError, InvalidInput):
        return None


async def show_order(turn: Turn, order_id: int, fresh: bool = False, note: str = "") -> None:
    """Show the order card: in place of the pressed message, or `fresh` below the last one;
    `note` (what the customer's last step did) heads the card: one message, not two."""
    order = await turn.services.orders.detail(order_id, turn.customer.id)
    returns = await turn.services.returns.for_order(order.id, turn.customer.id)
    text = detail_text(turn.t, order, returns, turn.services.ctx)
    if note:
        text = fit(f"{note}\n\n{text}")
    keyboard = await detail_keyboard(turn, order)
    if fresh:
        turn.send(text, keyboard)
    else:
        turn.show(text, keyboard)
