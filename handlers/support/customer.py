"""The customer's ways to a person: the menu's "💬 Support", /support, "Ask about this order",
and the offer made when the bot does not understand a message; then everything they send goes
to the agents until the conversation ends (the shop's buttons and /start keep working).
"""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import Button, EditText, Inline
from handlers.registry import Registry
from handlers.start import help_, main_menu
from handlers.turn import Turn

# Input the agents get while a conversation is open (commands and buttons stay the shop's).
RELAYED = frozenset({"message", "photo", "document", "location", "contact", "other"})


def _end_keyboard(turn: Turn) -> Inline:
    return Inline(((Button(turn.t("support.button.end"), callbacks.encode("supe")),),))


def hours_note(turn: Turn, now: datetime) -> str:
    """Outside working hours: when people answer again (empty inside them, or with none set)."""
    rules = turn.services.support.rules
    if rules.opens is None or rules.closes is None:
        return ""
    local = now.astimezone(ZoneInfo(turn.settings.timezone)).time()
    if _within(local, rules.opens, rules.closes):
        return ""
    return "\n\n" + turn.t("support.after_hours", opens=rules.opens.strftime("%H:%M"),
                           closes=rules.closes.strftime("%H:%M"))


def _within(moment: time, opens: time, closes: time) -> bool:
    if opens <= closes:
        return opens <= moment < closes
    return moment >= opens or moment < closes  # hours past midnight


async def open_support(turn: Turn, order_id: int | None = None,
                       relay: int | None = None) -> None:
    """Start talking to a person (about an order), saying once that a person will answer."""
    turn.reset()
    user = turn.event.user.id
    opened = await turn.services.support.open(user, order_id)
    if relay:
        await turn.services.support.relay_in(user, relay, None)
    if opened.opened or order_id is not None:
        text = turn.t("support.opened") + hours_note(turn, turn.services.ctx.clock.now())
        return turn.send(text, _end_keyboard(turn))
    turn.send(turn.t("support.still_open"), _end_keyboard(turn))


async def support_command(turn: Turn) -> None:
    """/support and the menu's "💬 Support"."""
    await open_support(turn)


async def offer_pressed(turn: Turn, pressed: Callback) -> None:
    """"Talk to a person" under a message the bot did not understand: that message goes too."""
    turn.answer()
    await open_support(turn, relay=pressed.int(0) or None)


async def ask_about_order(turn: Turn, pressed: Callback) -> None:
    """"Ask about this order" on an order's screen."""
    turn.answer()
    await open_support(turn, order_id=pressed.int(0))


async def end_chat(turn: Turn, pressed: Callback) -> None:
    """The customer leaves the conversation."""
    ended = await turn.services.support.end(turn.event.user.id)
    turn.answer()
    turn.send(turn.t("support.ended" if ended else "support.not_open"), main_menu(turn.t))


async def rate(turn: Turn, pressed: Callback) -> None:
    """Stars for a closed conversation (once)."""
    stars = pressed.int(1)
    if not await turn.services.support.rate(turn.event.user.id, pressed.int(0), stars):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    turn.answer(turn.t("support.thanks"))
    if turn.event.callback_message_id is not None:
        turn.replies.append(EditText(turn.chat_id, turn.event.callback_message_id,
                                     turn.t("support.rated", stars="⭐" * stars)))


async def not_understood(turn: Turn) -> None:
    """Input no step takes: the agents' while a conversation is open; else help, and the offer
    of a person (this message goes with it)."""
    event = turn.event
    if event.kind in RELAYED and event.message_id is not None:
        if await turn.services.support.relay_in(event.user.id, event.message_id,
                                                event.reply_to_message_id, event.media_group_id):
            return
        if turn.services.support.rules.chat_id is not None:
            await help_(turn)
            button = Button(turn.t("support.button.ask"),
                            callbacks.encode("sup", event.message_id))
            return turn.send(turn.t("support.offer"), Inline(((button,),)))
    await help_(turn)


async def edited(turn: Turn) -> None:
    """A customer edited a message the agents have: their copy changes too."""
    event = turn.event
    if event.message_id is not None:
        await turn.services.support.edit(event.chat_id, event.message_id, event.text,
                                         event.is_caption)


def register(r: Registry) -> None:
    """Routes of the customer's side of support."""
    r.command("support", support_command)
    r.menu_button("menu.support", support_command)
    r.action("sup", offer_pressed)
    r.action("supo", ask_about_order)
    r.action("supe", end_chat)
    r.action("supr", rate)
    r.on("edited", edited)
    r.fallback = not_understood
