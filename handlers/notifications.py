"""Texts of outbox messages: a template and its params -> the message a customer or merchant reads.

Params are what the service knew when it queued the row (codes, amounts, ISO times); words,
names and dates are made here, in the reader's language and the shop's time zone, when the
row is sent: so a reminder says the time really left then.
"""
from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from handlers import callbacks
from handlers.events import Button, CopyMessages, Inline, Reply, SendText
from handlers.i18n import Translator
from services.context import ServiceContext
from services.outbox import OutgoingMessage

# ISO time params -> how they read: a date and time, or (an expected delivery) the day alone.
_MOMENTS = {"deadline": "when", "at": "when", "confirm_by": "when", "expected": "day"}


def notice_text(t: Translator, template: str, params: dict[str, Any], ctx: ServiceContext) -> str:
    """The sentence for an outbox template: values escaped, money, names and dates in words."""
    values = {k: html.escape(v) if isinstance(v, str) else v for k, v in params.items()}
    currency = str(params.get("currency", "CNY"))
    for key in ("amount", "total", "refunded"):
        if isinstance(params.get(key), int):
            values[f"{key}_text"] = t.money(params[key], currency)
    suffix = "zh" if t.language == "zh_CN" else "en"  # texts given in both languages
    values.setdefault("name", values.get(f"name_{suffix}", ""))
    values.setdefault("address", values.get(f"address_{suffix}", ""))
    actor = str(params.get("actor", ""))  # "customer:12", "admin:34", "system:scheduler"
    values["actor_text"] = t(f"notify.actor.{actor.split(':', 1)[0] or 'system'}")
    if params.get("kind") in ("return", "exchange", "refund"):  # an after-sales request's kind
        values["kind_text"] = t(f"returns.kind.{params['kind']}")
    if params.get("carrier"):
        values["carrier"] = html.escape(ctx.carriers.name(str(params["carrier"]), t.language))
    if params.get("code"):  # a tracking event: its status in the reader's words
        values["status_text"] = t(f"notify.tracking.{params['code']}", **values)
    values.update(_moments(t, params, ctx.clock.now()))
    text = t(f"notify.{template}", **values)
    if text == f"notify.{template}":
        return t("notify.generic", order_number=html.escape(str(params.get("order_number", ""))))
    return text


def _moments(t: Translator, params: dict[str, Any], now: datetime) -> dict[str, str]:
    """`<key>_text` for each ISO time param; `remaining_text` until a deadline, from now."""
    out: dict[str, str] = {"remaining_text": ""}
    for key, style in _MOMENTS.items():
        try:
            moment = datetime.fromisoformat(str(params.get(key) or ""))
        except ValueError:
            out[f"{key}_text"] = ""  # absent (an older row): the sentence still reads
            continue
        out[f"{key}_text"] = t.day(moment) if style == "day" else t.when(moment)
        if key == "deadline":
            out["remaining_text"] = t.remaining(moment - now)
    return out


def render(ctx: ServiceContext, message: OutgoingMessage) -> SendText:
    """The message for one outbox row (unknown templates still say something useful)."""
    t = Translator(message.language, ctx.rules.timezone)
    keyboard = None
    if message.order_id is not None and message.chat_id > 0:
        keyboard = Inline(((Button(t("notify.open_order"),
                                   callbacks.encode("order", message.order_id)),),))
    # A customer's notice may go as a paid broadcast (the shop's choice); a group's may not
    # need it (its limit is its own 20/min, which paying does not lift).
    return SendText(message.chat_id, notice_text(t, message.template, message.params, ctx),
                    keyboard, paid=ctx.rules.paid_broadcast and message.chat_id > 0)


class AlertComposer(Protocol):
    """Composes one audience's outbox messages (the admin chat's order cards)."""

    async def compose(self, message: OutgoingMessage) -> list[Reply]:
        """The replies that deliver this outbox row."""
        ...

    async def sent(self, message: OutgoingMessage, reply: Reply, message_id: int | None) -> None:
        """Told what message id a reply got (e.g. to edit a card in place later)."""
        ...


class Send(Protocol):
    """A deliverer's way to Telegram: one reply (the id of the message it made), or copies
    of several messages (all their ids); both raise Refused when Telegram refuses."""

    async def __call__(self, reply: Reply) -> int | None:
        """Send one reply."""
        ...

    async def copies(self, reply: CopyMessages) -> list[int]:
        """Copy several messages at once (an album stays an album)."""
        ...


@runtime_checkable
class Deliverer(Protocol):
    """Delivers one audience's outbox rows itself, step by step (a step may depend on what the
    one before got back, e.g. a new forum topic's id), through `send`, which raises Refused."""

    async def deliver(self, message: OutgoingMessage, send: Send) -> None:
        """Send what this outbox row asks for."""
        ...


class Notifications:
    """Outbox rows -> Replies: plain messages, or a composer's for its audience."""

    def __init__(self, ctx: ServiceContext,
                 composers: dict[str, AlertComposer | Deliverer] | None = None) -> None:
        self.ctx = ctx
        self.composers = composers or {}

    async def compose(self, message: OutgoingMessage) -> list[Reply]:
        """The replies for one outbox row."""
        composer = self.composers.get(message.audience)
        if composer is not None and not isinstance(composer, Deliverer):
            return await composer.compose(message)
        return [render(self.ctx, message)]

    def deliverer(self, message: OutgoingMessage) -> Deliverer | None:
        """The audience's own delivery, when it has one."""
        composer = self.composers.get(message.audience)
        return composer if isinstance(composer, Deliverer) else None

    async def sent(self, message: OutgoingMessage, reply: Reply, message_id: int | None) -> None:
        """Pass the sent message's id to the composer that asked for it."""
        composer = self.composers.get(message.audience)
        if composer is not None and not isinstance(composer, Deliverer):
            await composer.sent(message, reply, message_id)
