"""What agents do in the forum: write to the customer, notes, canned replies, take over,
release, close, /order, /block, /stats."""
from __future__ import annotations

import html

from handlers.admin.cards.view import card_text as order_card_text
from handlers.callbacks import Callback
from handlers.events import Event
from handlers.registry import Registry
from handlers.support.card import card_keyboard, card_text
from handlers.support.relay import MAX_TEXT, split_text
from handlers.turn import Turn
from services.errors import NotAllowed

RELAYED = frozenset({"message", "photo", "document", "location", "contact", "other"})


def _agent_name(event: Event) -> str:
    return event.user.first_name or event.user.username or str(event.user.id)


async def _topic_customer(turn: Turn) -> int:
    """The customer of the topic this happened in; refused in General or a foreign topic."""
    thread = turn.event.thread_id
    customer = await turn.services.support.customer_of(thread) if thread else None
    if customer is None:
        raise NotAllowed("not in a customer's topic", what="support_no_topic")
    return customer


async def relay(turn: Turn) -> None:
    """An agent's message in a customer's topic goes to the customer ("!" keeps it a note)."""
    event = turn.event
    if (event.kind not in RELAYED or event.thread_id is None or event.message_id is None
            or event.text.startswith("!")):
        return  # General, or a private note
    await turn.services.support.relay_out(event.thread_id, event.message_id,
                                          event.reply_to_message_id, event.media_group_id)


async def edited(turn: Turn) -> None:
    """An agent edited a message the customer has: the customer's copy changes too."""
    event = turn.event
    if event.message_id is not None and event.thread_id is not None:
        await turn.services.support.edit(event.chat_id, event.message_id, event.text,
                                         event.is_caption)


async def note(turn: Turn) -> None:
    """/note: stays in the topic (nothing to do)."""


async def canned(turn: Turn) -> None:
    """/reply <key>: a prepared answer in the customer's language."""
    await _topic_customer(turn)
    key = turn.event.args.strip().lower()
    if not key:
        keys = ", ".join(c.key for c in turn.services.support.rules.canned) or "—"
        return turn.send(turn.t("support.canned_keys", keys=html.escape(keys)))
    sent = await turn.services.support.send_text(turn.event.thread_id or 0, key[:32])
    # What the customer got, here too: in pieces as they got it when it is long.
    first, *rest = split_text(sent, MAX_TEXT - len(turn.t("support.canned_sent", text="")))
    turn.send(turn.t("support.canned_sent", text=html.escape(first)))
    for piece in rest:
        turn.send(html.escape(piece))


async def order(turn: Turn) -> None:
    """/order <number>: that order's card here."""
    number = turn.event.args.strip().lstrip("#№").removeprefix("No.").strip()
    if not number or len(number) > 20:
        return turn.send(turn.t("support.order_usage"))
    found = await turn.services.orders.by_number(number)
    await show_order(turn, found.id)


async def show_order(turn: Turn, order_id: int) -> None:
    """An order's card (read-only) in the topic."""
    view = await turn.services.merchant.card(order_id)
    turn.send(order_card_text(turn.t, view, turn.services.ctx, ""))


async def block(turn: Turn) -> None:
    """/block: this topic's customer can no longer reach support (spam)."""
    await _topic_customer(turn)
    await turn.services.support.block(turn.event.thread_id or 0, True)
    turn.send(turn.t("support.blocked"))


async def unblock(turn: Turn) -> None:
    """/unblock."""
    await _topic_customer(turn)
    await turn.services.support.block(turn.event.thread_id or 0, False)
    turn.send(turn.t("support.unblocked"))


MAX_STATS_DAYS = 3660


async def stats(turn: Turn) -> None:
    """/stats [days]: conversations, times to first answer and to close, ratings (of the
    conversations opened in the last `days` days, or of all)."""
    t, args = turn.t, turn.event.args.strip()
    if args and not (args.isascii() and args.isdigit() and 1 <= int(args) <= MAX_STATS_DAYS):
        return turn.send(t("support.stats_usage"))
    days = int(args) if args else None
    figures = await turn.services.support.stats(days)
    period = t.plural("support.stats_days", days) if days else t("support.stats_all")
    turn.send(t("support.stats", period=period, total=figures.conversations, open=figures.open,
                first=t.remaining(figures.first_response) if figures.first_response else "—",
                resolved=t.remaining(figures.resolution) if figures.resolution else "—",
                ratings=figures.ratings,
                average=f"{figures.average_rating:.1f}" if figures.average_rating else "—"))


async def help_(turn: Turn) -> None:
    """What agents can do."""
    turn.send(turn.t("support.agent_help"))


async def _refresh_card(turn: Turn, customer: int) -> None:
    view = await turn.services.support.card(customer)
    turn.show(card_text(turn.t, view), card_keyboard(turn.t, view))


async def _pressed_customer(turn: Turn, pressed: Callback) -> int:
    """The customer of the pressed card: it must be the card of this topic (forged data is not)."""
    customer = pressed.int(0)
    if customer != await _topic_customer(turn):
        raise NotAllowed("a card of another topic", what="support_no_topic")
    return customer


async def take(turn: Turn, pressed: Callback) -> None:
    """Take over: the first agent wins; the others are told who has it."""
    customer = await _pressed_customer(turn, pressed)
    got = await turn.services.support.take_over(customer, turn.event.user.id,
                                                _agent_name(turn.event))
    if not got.won:
        mine = got.agent_id == turn.event.user.id
        return turn.answer(turn.t("support.yours" if mine else "support.taken",
                                  name=got.agent_name), alert=not mine)
    turn.answer(turn.t("support.took"))
    await _refresh_card(turn, customer)


async def release(turn: Turn, pressed: Callback) -> None:
    """Release: the conversation is everyone's again."""
    customer = await _pressed_customer(turn, pressed)
    await turn.services.support.release(customer, turn.event.user.id)
    turn.answer(turn.t("support.released"))
    await _refresh_card(turn, customer)


async def close(turn: Turn, pressed: Callback) -> None:
    """Close: the customer is told and asked for a rating."""
    customer = await _pressed_customer(turn, pressed)
    await turn.services.support.close(customer, turn.event.user.id, _agent_name(turn.event))
    turn.answer(turn.t("support.closed_here"))
    await _refresh_card(turn, customer)


async def order_pressed(turn: Turn, pressed: Callback) -> None:
    """The order the customer asked about, shown in the topic."""
    await _topic_customer(turn)
    turn.answer()
    await show_order(turn, pressed.int(0))


def register(r: Registry) -> None:
    """Routes of the support forum."""
    r.command("note", note)
    r.command("reply", canned)
    r.command("order", order)
    r.command("block", block)
    r.command("unblock", unblock)
    r.command("stats", stats)
    r.command("help", help_)
    r.action("spt", take)
    r.action("spr", release)
    r.action("spc", close)
    r.action("spo", order_pressed)
    r.on("edited", edited)
    r.fallback = relay
