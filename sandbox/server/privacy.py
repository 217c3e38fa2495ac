"""Which bots in a group receive a message: Telegram's privacy mode.

From core.telegram.org/bots/features#privacy-mode and the bots FAQ ("What messages will my bot
get?"): every bot gets service messages; a bot that is an admin of the group, or that joined it
with privacy mode disabled, gets every message except other bots'; a bot with privacy mode on
gets only commands meant for it (/cmd@this_bot, or a plain /cmd when it was the last bot to
speak in the group), replies to its own messages, and messages sent via it. One message goes to
one privacy-mode bot at most, replies first. A plain @mention is not enough: BotFather's
/setprivacy text says otherwise, but bots' authors report such messages never arrive
(n3d1117/chatgpt-telegram-bot#39, HKUDS/nanobot#449, telegraf/telegraf#545). Turning privacy
mode off takes effect in groups the bot is added to afterwards, as Telegram says.
"""

from __future__ import annotations

from typing import Any

from sandbox.server.formatting import command_entities
from sandbox.server.models import BotRecord, SimChat

# Message fields of service messages (joins, leaves, titles, pins, topics, migrations ...).
SERVICE_FIELDS = frozenset({
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
    "message_auto_delete_timer_changed", "migrate_to_chat_id", "migrate_from_chat_id",
    "pinned_message", "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
    "forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
    "video_chat_scheduled", "video_chat_started", "video_chat_ended",
    "video_chat_participants_invited", "chat_shared", "users_shared", "write_access_allowed",
    "boost_added", "chat_background_set",
})


def reads_all(chat: SimChat, bot: BotRecord) -> bool:
    """An admin of the group, or a bot that joined it with privacy mode off."""
    return (chat.members.get(bot.id) in ("administrator", "creator")
            or bot.id in chat.joined_reading_all)


def _commands(msg: dict[str, Any]) -> list[str]:
    """The commands in a message's text or caption, as typed ("/ship", "/ship@shop_bot")."""
    text = msg.get("text", msg.get("caption", "")) or ""
    words = []
    for entity in command_entities(text):
        if entity["type"] == "bot_command":
            raw = text.encode("utf-16-le")[2 * entity["offset"]:
                                           2 * (entity["offset"] + entity["length"])]
            words.append(raw.decode("utf-16-le"))
    return words


def _replied_bot(msg: dict[str, Any]) -> int | None:
    quoted = msg.get("reply_to_message") or {}
    sender = quoted.get("from") or {}
    via = quoted.get("via_bot") or {}
    if via.get("id"):
        return int(via["id"])
    return int(sender["id"]) if sender.get("is_bot") else None


def _addressed(bot: BotRecord, msg: dict[str, Any], last_speaker: int | None) -> bool:
    """A privacy-mode bot's share: a command for it (or a plain one, if it spoke last)."""
    for word in _commands(msg):
        _, at, name = word.partition("@")
        if at and name.lower() == (bot.user.username or "").lower():
            return True
        if not at and last_speaker in (None, bot.id):
            return True
    return (msg.get("via_bot") or {}).get("id") == bot.id


def recipients(bots: list[BotRecord], chat: SimChat, msg: dict[str, Any],
               last_speaker: int | None) -> list[BotRecord]:
    """The bots among `bots` (members of the group) that get `msg` as an update."""
    if msg.get("from", {}).get("is_bot"):
        return []  # bots never see other bots' messages (bot-to-bot mode is not modelled)
    if SERVICE_FIELDS & msg.keys():
        return list(bots)
    out = [b for b in bots if reads_all(chat, b)]
    private = [b for b in bots if not reads_all(chat, b)]
    replied = _replied_bot(msg)
    if replied is not None and any(b.id == replied for b in private):
        return out + [b for b in private if b.id == replied]  # replies have the highest priority
    addressed = [b for b in private if _addressed(b, msg, last_speaker)]
    return out + addressed[:1]
