"""What Telegram's apps do with force_reply: the person's next message replies to the question.

"Upon receiving a message with this object, Telegram clients will display a reply interface to
the user (act as if the user has selected the bot's message and tapped 'Reply')" (Bot API,
ForceReply). With `selective` only the people it targets: those @mentioned in the text, and the
sender of the message it replies to; apps decide it by the message's "mentions me" flag
(tdesktop: `!(flags & Selective) || item->mentionsMe()`), which a text mention sets too.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.server.models import BotRecord, SimChat, SimUser
from sandbox.server.state import SandboxState


def _targets(msg: dict[str, Any], user: SimUser) -> bool:
    """Whether the force_reply of `msg` opens the reply interface for `user`."""
    if not msg["_keyboard"].get("selective"):
        return True
    if (msg.get("reply_to_message") or {}).get("from", {}).get("id") == user.id:
        return True
    entities = msg.get("entities", msg.get("caption_entities", []))
    if any(e.get("type") == "text_mention" and e.get("user", {}).get("id") == user.id
           for e in entities):
        return True
    # Telegram finds @username mentions in any text, a bot's plain text included.
    text = msg.get("text", msg.get("caption", "")) or ""
    return bool(user.username and re.search(
        rf"(?<!\w)@{re.escape(user.username)}(?!\w)", text, re.IGNORECASE))


def forced_reply(
    state: SandboxState, bot: BotRecord, chat: SimChat, user: SimUser
) -> dict[str, Any] | None:
    """The bot message whose force_reply holds the user's reply interface open, if any.

    Open from when it arrives until the user sends something in the chat.
    """
    msg: dict[str, Any]  # mypy reads reversed() of dicts holding Any as Any
    for msg in reversed(state.history(bot.id, chat)):
        sender = msg.get("from", {}).get("id")
        if sender == user.id:
            return None
        markup = msg.get("_keyboard") or {}
        if sender == bot.id and markup.get("force_reply") and _targets(msg, user):
            return msg
    return None
