"""Texts of outbox messages: a template and its params -> the message a customer or merchant reads."""
from __future__ import annotations

import html
from typing import Any

from handlers import callbacks
from handlers.events import Button, Inline, SendText
from handlers.i18n import Translator


def _money_params(t: Translator, params: dict[str, Any]) -> dict[str, Any]:
    out = {k: html.escape(v) if isinstance(v, str) else v for k, v in params.items()}
    currency = str(params.get("currency", "CNY"))
    for key in ("amount", "total", "refunded"):
        if isinstance(params.get(key), int):
            out[f"{key}_text"] = t.money(params[key], currency)
    return out


def render(template: str, language: str, chat_id: int, params: dict[str, Any],
           order_id: int | None) -> SendText:
    """The message for one outbox row (unknown templates still say something useful)."""
    t = Translator(language)
    text = t(f"notify.{template}", **_money_params(t, params))
    if text == f"notify.{template}":
        text = t("notify.generic", order_number=html.escape(str(params.get("order_number", ""))))
    keyboard = None
    if order_id is not None and chat_id > 0:
        keyboard = Inline(((Button(t("notify.open_order"), callbacks.encode("order", order_id)),),))
    return SendText(chat_id, text, keyboard)
