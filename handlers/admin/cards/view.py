"""The order card as the merchant reads it: text and the buttons its current state allows."""
from __future__ import annotations

import html
from typing import Any

from handlers import callbacks
from handlers.events import Button, Inline
from handlers.i18n import Translator
from handlers.notifications import notice_text
from services.context import ServiceContext
from services.merchant import CardReview, OrderCard, WarehouseOption
from services.orders.dto import LineView
from services.postal import format_phone
from services.reviews import LOW_RATING

MAX_LINES = 20  # keeps a card far below Telegram's 4096 characters with 30-line orders
MAX_FIELD = 300  # characters of a merchant- or customer-typed value shown on a card
TEXT_LIMIT = 4096

callbacks.register("ao", "iw")   # order id, action (confirm, pack, ship ... or card)
callbacks.register("aow", "ii")  # order id, warehouse id
callbacks.register("aoc", "iw")  # order id, carrier code
callbacks.register("ax", "")     # leave the step the admin is in


def esc(value: object, limit: int = MAX_FIELD) -> str:
    """A user-typed value, shortened and escaped for HTML."""
    text = str(value)
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


def alert_line(t: Translator, template: str, params: dict[str, Any], ctx: ServiceContext) -> str:
    """What happened, in one line: the outbox template's text with money formatted."""
    return notice_text(t, template, params, ctx)


def product_name(t: Translator, line: LineView) -> str:
    """The line's product name in the admin's language."""
    return line.name_zh if t.language == "zh_CN" and line.name_zh else line.name_en


def status_text(t: Translator, status: str) -> str:
    """The localized name of an order status."""
    return t(f"orders.status.{status}")


def card_text(t: Translator, card: OrderCard, ctx: ServiceContext, alert: str = "") -> str:
    """The card's text: what happened, then the order."""
    o, rules = card.order, ctx.rules

    def money(amount: int) -> str:
        return t.money(amount, o.currency)

    parts = [alert, ""] if alert else []
    parts.append(t("admin_cards.title", number=esc(o.number))
                 + (" " + t("admin_cards.important") if o.important else ""))
    parts.append(t("admin_cards.status", status=status_text(t, o.status)))
    who = esc(card.customer_name) + (f" @{esc(card.customer_username)}"
                                     if card.customer_username else "")
    parts.append(t("admin_cards.customer", name=who or "—"))
    parts.append(t("admin_cards.recipient", name=esc(o.recipient_name),
                   phone=esc(format_phone(o.phone, rules.default_phone_region))))
    address = t.address(o.region, o.city, o.address_line, o.postcode)
    parts.append(t("admin_cards.address", address=esc(address)))
    delivery = rules.delivery(o.delivery_option)
    parts.append(t("admin_cards.delivery", payment=t(f"checkout.method.{o.payment_method}"),
                   delivery=esc((delivery.name_zh if t.language == "zh_CN" else delivery.name_en)
                                if delivery else o.delivery_option)))
    parts += [t("admin_cards.line", qty=ln.quantity, name=esc(product_name(t, ln), 60),
                sku=esc(ln.sku, 40), total=money(ln.total)) for ln in o.lines[:MAX_LINES]]
    if len(o.lines) > MAX_LINES:
        parts.append(t.plural("admin_cards.more_lines", len(o.lines) - MAX_LINES))
    parts.append(t("admin_cards.total", total=money(o.total), paid=money(o.paid),
                   refunded=money(o.refunded)))
    parts.append(t("admin_cards.warehouse", warehouse=esc(card.warehouse))
                 if card.warehouse else t("admin_cards.no_warehouse"))
    parts += _parcels(t, card, ctx)
    if o.cancel_reason:
        parts.append(t("admin_cards.reason", reason=esc(o.cancel_reason)))
    if o.waits_for_restock:
        parts.append(t("admin_cards.waits_for_restock"))
    parts += [t("admin_cards.return_row", id=r.id, kind=t(f"returns.kind.{r.kind}"))
              for r in card.returns]
    if card.review is not None:
        parts.append(review_line(t, card.review))
    return within_limit(parts)


def review_line(t: Translator, review: CardReview) -> str:
    """The customer's stars and words; a low rating is marked as one."""
    key = "admin_cards.review_low" if review.rating <= LOW_RATING else "admin_cards.review"
    words = esc(review.text, 1000) if review.text else t("admin_cards.review_no_text")
    return t(key, stars="⭐" * review.rating, rating=review.rating, text=words)


def within_limit(parts: list[str]) -> str:
    """Join lines, dropping whole lines from the end past Telegram's limit (never half a tag)."""
    while len(text := "\n".join(parts)) > TEXT_LIMIT and len(parts) > 1:
        parts = parts[:-2] + ["…"]
    return text


def _parcels(t: Translator, card: OrderCard, ctx: ServiceContext) -> list[str]:
    out = []
    for s in card.order.shipments:
        if s.shipped_at:
            out.append(t("admin_cards.parcel_shipped",
                         carrier=esc(ctx.carriers.name(s.carrier, t.language)),
                         tracking=esc(s.tracking_number or "")))
        else:
            out.append(t("admin_cards.parcel_packed", id=s.id))
    return out


def card_keyboard(t: Translator, card: OrderCard) -> Inline:
    """One button per action the order's state allows, two per row."""
    buttons = [Button(t(f"admin_cards.btn.{a}"), callbacks.encode("ao", card.order.id, a))
               for a in card.actions]
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    rows.append((Button(t("admin_cards.btn.refresh"),
                        callbacks.encode("ao", card.order.id, "card")),))
    return Inline(tuple(rows))


def warehouse_screen(t: Translator, card: OrderCard,
                     options: list[WarehouseOption]) -> tuple[str, Inline]:
    """The suggested warehouse and a button per warehouse to ship from it instead."""
    suggested = next((o for o in options if o.suggested), None)
    lines = [t("admin_cards.warehouse_title", number=esc(card.order.number)),
             t("admin_cards.warehouse_suggested", name=esc(suggested.name),
               code=esc(suggested.code))
             if suggested else t("admin_cards.warehouse_none")]
    buttons = []
    for o in options:
        lines.append(t("admin_cards.warehouse_option", name=esc(o.name), code=esc(o.code),
                       km=int(o.distance_km), priority=o.priority,
                       stock=t("admin_cards.in_stock" if o.can_serve else "admin_cards.no_stock")))
        mark = "✅ " if o.current else ("⭐ " if o.suggested else "")
        buttons.append((Button(f"{mark}{o.name} ({o.code})",
                               callbacks.encode("aow", card.order.id, o.id)),))
    buttons.append((Button(t("admin_cards.btn.back"),
                           callbacks.encode("ao", card.order.id, "card")),))
    return "\n".join(lines), Inline(tuple(buttons))


def carrier_screen(t: Translator, card: OrderCard,
                   carriers: list[tuple[str, str]]) -> tuple[str, Inline]:
    """Which carrier takes the parcels."""
    rows = [(Button(name, data),) for code, name in carriers
            if (data := _encoded("aoc", card.order.id, code))]
    rows.append((Button(t("admin_cards.btn.back"), callbacks.encode("ao", card.order.id, "card")),))
    return t("admin_cards.choose_carrier", number=esc(card.order.number)), Inline(tuple(rows))


def _encoded(action: str, *args: int | str) -> str | None:
    """Callback data, or None for a code that cannot travel in one (e.g. upper case)."""
    try:
        return callbacks.encode(action, *args)
    except ValueError:
        return None

