"""Texts of outbox messages: a template and its params -> the message a customer or merchant reads."""
from __future__ import annotations

import html
from typing import Any, Protocol

from handlers import callbacks
from handlers.events import Button, Inline, Reply, SendText
from handlers.i18n import Translator
from services.outbox import OutgoingMessage


def notice_text(t: Translator, template: str, params: dict[str, Any]) -> str:
    """The sentence for an outbox template: values escaped, money and actors in words."""
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
    text = t(f"notify.{template}", **values)
    if text == f"notify.{template}":
        return t("notify.generic", order_number=html.escape(str(params.get("order_number", ""))))
    return text


def render(template: str, language: str, chat_id: int, params: dict[str, Any],
           order_id: int | None) -> SendText:
    """The message for one outbox row (unknown templates still say something useful)."""
    t = Translator(language)
    keyboard = None
    if order_id is not None and chat_id > 0:
        keyboard = Inline(((Button(t("notify.open_order"), callbacks.encode("order", order_id)),),))
    return SendText(chat_id, notice_text(t, template, params), keyboard)


class AlertComposer(Protocol):
    """Composes one audience's outbox messages (the admin chat's order cards)."""

    async def compose(self, message: OutgoingMessage) -> list[Reply]:
        """The replies that deliver this outbox row."""
        ...

    async def sent(self, message: OutgoingMessage, reply: Reply, message_id: int | None) -> None:
        """Told what message id a reply got (e.g. to edit a card in place later)."""
        ...


class Notifications:
    """Outbox rows -> Replies: plain messages, or a composer's for its audience."""

    def __init__(self, composers: dict[str, AlertComposer] | None = None) -> None:
        self.composers = composers or {}

    async def compose(self, message: OutgoingMessage) -> list[Reply]:
        """The replies for one outbox row."""
        composer = self.composers.get(message.audience)
        if composer is not None:
            return await composer.compose(message)
        return [render(message.template, message.language, message.chat_id, message.params,
                       message.order_id)]

    async def sent(self, message: OutgoingMessage, reply: Reply, message_id: int | None) -> None:
        """Pass the sent message's id to the composer that asked for it."""
        composer = self.composers.get(message.audience)
        if composer is not None:
            await composer.sent(message, reply, message_id)
