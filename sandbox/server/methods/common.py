"""Shared pieces of method handlers: the call context and the checks every send goes through."""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.server.errors import bad_request
from sandbox.server.formatting import parse_text, trim, utf16_len
from sandbox.server.models import BotRecord, SimChat
from sandbox.server.state import SandboxState
from sandbox.spec import Spec

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100
_URL_RE = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)


@dataclass
class Call:
    """One Bot API call being handled."""

    state: SandboxState
    bot: BotRecord
    method: str
    params: dict[str, Any]
    spec: Spec

    def get(self, name: str, default: Any = None) -> Any:
        """A parameter value or `default`."""
        return self.params.get(name, default)


Handler = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more Bot API methods."""

    def deco(fn: Handler) -> Handler:
        for n in names:
            METHODS[n] = fn
        return fn

    return deco


def target_chat(call: Call, param: str = "chat_id") -> SimChat:
    """Resolve the chat a message goes to and check the bot may write there."""
    chat = call.state.resolve_chat(call.get(param))
    call.state.check_can_send(call.bot, chat)
    return chat


def thread_for(call: Call, chat: SimChat) -> int | None:
    """Validate message_thread_id for forums ("message thread not found", "TOPIC_CLOSED")."""
    thread = call.get("message_thread_id")
    if not thread or not chat.is_forum:
        return None
    topic = chat.topics.get(int(thread))
    if topic is None:
        raise bad_request("message thread not found")
    if topic.closed:
        raise bad_request("TOPIC_CLOSED")
    return topic.message_thread_id


def text_content(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    *,
    caption: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    """Parse entities and enforce Telegram's length limits on text or caption."""
    plain, parsed = parse_text(text, parse_mode)
    if entities and not parse_mode:
        parsed = entities
    plain, parsed = trim(plain, parsed)
    size = utf16_len(plain)
    if caption:
        if size > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return plain, parsed
    if not plain.strip():
        raise bad_request("message text is empty")
    if size > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, parsed


def _valid_button_url(url: str) -> bool:
    """http(s) or tg:// links; Telegram refuses http(s) hosts without a dot ("localhost")."""
    if not _URL_RE.match(url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() == "tg" or "." in (parts.hostname or "")


def check_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Enforce keyboard limits: 100 buttons, callback_data 1-64 bytes, one action per button."""
    if not markup:
        return None
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if sum(len(r) for r in rows) > MAX_BUTTONS:
            raise bad_request("reply markup is too long")
        for row in rows:
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise bad_request("BUTTON_TEXT_EMPTY")
                actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
                if not actions:
                    raise bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button and not _valid_button_url(str(button["url"])):
                    raise bad_request("BUTTON_URL_INVALID")
    if "keyboard" in markup and not any(markup["keyboard"]):
        raise bad_request("keyboard must be non-empty")
    return markup


def reply_to(call: Call, chat: SimChat) -> dict[str, Any] | None:
    """The message this one replies to (reply_parameters or legacy reply_to_message_id)."""
    params = call.get("reply_parameters") or {}
    mid = params.get("message_id") or call.get("reply_to_message_id")
    if not mid:
        return None
    target_chat_ref = params.get("chat_id")
    source = call.state.resolve_chat(target_chat_ref) if target_chat_ref else chat
    found = call.state.get_message(call.bot.id, source, int(mid))
    if found is None:
        if params.get("allow_sending_without_reply") or call.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    quoted = copy.deepcopy(found)
    quoted.pop("reply_to_message", None)
    return quoted


def deliver(
    call: Call,
    chat: SimChat,
    content: dict[str, Any],
    *,
    thread: int | None = None,
    markup: dict[str, Any] | None = None,
    reply: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply flood control, then store a bot message in the chat and return it."""
    paid = bool(call.get("allow_paid_broadcast"))
    call.state.flood.check(call.bot.id, chat.id, chat.type, call.method, paid)
    if reply is not None:
        content = {**content, "reply_to_message": reply}
        if chat.is_forum and not thread and reply.get("message_thread_id"):
            thread = reply["message_thread_id"]
    if markup:
        if "inline_keyboard" in markup:
            content = {**content, "reply_markup": markup}
        else:
            # Reply keyboards are not part of the Message object the bot gets back, but the
            # simulated user sees them; keep them under a private key stripped on output.
            content = {**content, "_keyboard": markup}
    if call.get("protect_content"):
        content = {**content, "has_protected_content": True}
    return call.state.store_message(call.bot.id, chat, call.bot.user, content, thread)


def bot_message(call: Call, chat: SimChat, message_id: Any, *, what: str) -> dict[str, Any]:
    """A stored message the bot refers to, or Telegram's "message to <what> not found"."""
    try:
        mid = int(message_id)
    except (TypeError, ValueError):
        raise bad_request(f"message to {what} not found") from None
    msg = call.state.get_message(call.bot.id, chat, mid)
    if msg is None:
        raise bad_request(f"message to {what} not found")
    return msg


def public(value: Any) -> Any:
    """Strip the sandbox's private keys (leading underscore) before sending JSON to a bot."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [public(v) for v in value]
    return value
