"""The customer card at the top of a topic, its buttons, and the topic's name."""
from __future__ import annotations

import html

from handlers import callbacks
from handlers.events import Button, Inline
from handlers.i18n import Translator
from services.support import CardView

MAX_TOPIC_NAME = 128


def topic_name(view: CardView) -> str:
    """ "name · @username · id", within Telegram's 128 characters (the id always fits)."""
    tail = f" · {view.telegram_id}"
    head = " · ".join(p for p in (view.name.strip() or "?", f"@{view.username}"
                                  if view.username else "") if p)
    return head[: MAX_TOPIC_NAME - len(tail)] + tail


def card_text(t: Translator, view: CardView) -> str:
    """Who the customer is and what they have with the shop."""
    lines = [t("support.card.title", name=html.escape(view.name or "?"),
               username=f" · @{html.escape(view.username)}" if view.username else "",
               id=view.telegram_id),
             t("support.card.language", language=t(f"support.language.{view.language}")),
             t("support.card.phone", phone=html.escape(view.phone or "—"))]
    if view.orders:
        lines.append(t("support.card.orders"))
        lines += [t("support.card.order_line", number=html.escape(o.number),
                    status=t(f"orders.status.{o.status}"), total=t.money(o.total, o.currency),
                    when=t.day(o.created_at)) for o in view.orders]
    else:
        lines.append(t("support.card.no_orders"))
    lines.append(t("support.card.cart", count=view.cart_items))
    if view.open_returns:
        lines.append(t("support.card.returns", count=view.open_returns))
    lines.append(state_line(t, view))
    return "\n".join(lines)


def state_line(t: Translator, view: CardView) -> str:
    """Where the conversation stands: waiting, with an agent, closed, blocked."""
    session = view.session
    if view.blocked:
        return t("support.card.blocked")
    if session is None or session.resolved:
        return t("support.card.closed")
    if session.agent_id is not None:
        return t("support.card.held", name=html.escape(session.agent_name))
    return t("support.card.waiting")


def card_keyboard(t: Translator, view: CardView) -> Inline:
    """Take over / Release / Close, and the order the customer asked about."""
    who = view.telegram_id
    take = Button(t("support.button.take"), callbacks.encode("spt", who))
    release = Button(t("support.button.release"), callbacks.encode("spr", who))
    close = Button(t("support.button.close"), callbacks.encode("spc", who))
    rows: list[tuple[Button, ...]] = [(take, release, close)]
    session = view.session
    if session is not None and session.order_id is not None and not session.resolved:
        number = next((o.number for o in view.orders if o.id == session.order_id), "")
        rows.append((Button(t("support.button.order", number=number),
                            callbacks.encode("spo", session.order_id)),))
    return Inline(tuple(rows))
