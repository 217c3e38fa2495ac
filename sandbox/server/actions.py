"""What simulated people do: send messages, press buttons, share contacts, block the bot.

Shared by the in-process client and the HTTP control API, so both behave identically.
"""

from __future__ import annotations

import asyncio
import copy
import re
import secrets
import time
from typing import Any

from sandbox.server.force_reply import forced_reply as forced_reply  # control.py uses it
from sandbox.server.formatting import command_entities
from sandbox.server.models import BotRecord, SimChat, SimUser
from sandbox.server.state import SandboxState

Matcher = str | re.Pattern[str]


class ActionError(Exception):
    """A simulated user cannot do what was asked (no such button, no invoice, ...)."""


def default_bot(state: SandboxState, bot_id: int | None = None) -> BotRecord:
    """The bot a user action targets: explicit, the sandbox default, or the only one."""
    if bot_id is not None:
        if int(bot_id) not in state.bots:
            raise ActionError(f"unknown bot {bot_id}")
        return state.bots[int(bot_id)]
    default = getattr(state, "default_bot_id", None)
    if default in state.bots:
        return state.bots[default]
    if len(state.bots) == 1:
        return next(iter(state.bots.values()))
    raise ActionError("no default bot: pass bot_id (or make one call with the bot's token)")


def text_content(text: str) -> dict[str, Any]:
    """Message content for text typed by a user (commands/mentions/URLs get entities)."""
    content: dict[str, Any] = {"text": text}
    entities = command_entities(text)
    if entities:
        content["entities"] = entities
    return content


def user_send(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    chat: SimChat,
    content: dict[str, Any],
    *,
    thread_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
    typed: bool = False,
) -> dict[str, Any]:
    """Post a user's message in a chat and deliver it to the bot(s) there as an update.

    `typed`: composed in the app's input field, which a force_reply message has turned into a
    reply to it (as Telegram's apps do) unless the message replies to something else.
    """
    if typed and reply_to is None:
        reply_to = forced_reply(state, bot, chat, user)
    if chat.type == "private":
        bot.blocked_by.discard(user.id)  # writing to a blocked bot means pressing "Restart"
        bot.started_by.add(user.id)
    elif user.id not in chat.members:
        chat.members[user.id] = "member"
    if thread_id and chat.is_forum:
        topic = chat.topics.get(int(thread_id))
        if topic is None:
            raise ActionError(f"no topic {thread_id} in chat {chat.id}")
        if topic.closed and chat.members.get(user.id) not in ("creator", "administrator"):
            raise ActionError("TOPIC_CLOSED")
    if reply_to is not None:
        quoted = copy.deepcopy(reply_to)
        quoted.pop("reply_to_message", None)
        content = {**content, "reply_to_message": quoted}
        thread_id = thread_id or reply_to.get("message_thread_id")
    msg = state.store_message(bot.id, chat, user, content, thread_id)
    for target in state.receivers(chat, msg, bot.id):
        state.enqueue_update(target, "message", msg)
    return msg


def bot_messages(state: SandboxState, bot: BotRecord, chat: SimChat) -> list[dict[str, Any]]:
    """Messages the bot sent in this chat, oldest first."""
    return [m for m in state.history(bot.id, chat) if m.get("from", {}).get("id") == bot.id]


def _matches(text: str, matcher: Matcher, exact: bool) -> bool:
    if isinstance(matcher, re.Pattern):
        return matcher.search(text) is not None
    return text == matcher if exact else matcher.casefold() in text.casefold()


def active_reply_keyboard(
    state: SandboxState, bot: BotRecord, chat: SimChat
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(message, ReplyKeyboardMarkup) currently shown to the user, if any."""
    for msg in reversed(bot_messages(state, bot, chat)):
        markup = msg.get("_keyboard")
        if markup is None:
            continue
        if "keyboard" in markup:
            return msg, markup
        if markup.get("remove_keyboard"):
            return None
    return None


def find_button(
    state: SandboxState,
    bot: BotRecord,
    chat: SimChat,
    matcher: Matcher,
    message_id: int | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Newest ("inline"|"reply", message, button) whose text matches; exact text wins."""
    reply = active_reply_keyboard(state, bot, chat)
    for exact in (True, False):
        for msg in reversed(bot_messages(state, bot, chat)):
            if message_id is not None and msg["message_id"] != message_id:
                continue
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if _matches(button.get("text", ""), matcher, exact):
                        return "inline", msg, button
            if reply and reply[0] is msg:
                for row in reply[1]["keyboard"]:
                    for button in row:
                        if _matches(button.get("text", ""), matcher, exact):
                            return "reply", msg, button
    raise ActionError(f"no button matching {matcher!r} in chat {chat.id}")


async def click(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    chat: SimChat,
    matcher: Matcher,
    *,
    message_id: int | None = None,
    wait: float | None = None,
) -> dict[str, Any] | None:
    """Press a button; inline callback buttons return the bot's answer (None if none came)."""
    kind, msg, button = find_button(state, bot, chat, matcher, message_id)
    if kind == "reply":
        if button.get("request_contact"):
            return share_contact(state, bot, user, chat)
        if button.get("request_location"):
            return send_location(state, bot, user, chat)
        return user_send(
            state,
            bot,
            user,
            chat,
            text_content(button["text"]),
            thread_id=msg.get("message_thread_id"),
        )
    if "callback_data" not in button:
        # URL / web app / pay buttons open something on the user's side; report what.
        return {k: v for k, v in button.items() if k != "text"}
    timeout = state.config.callback_timeout
    q = state.new_query("callback_query", bot.id, user.id, timeout)
    payload = {
        "id": q.id,
        "from": user.to_api(),
        "message": copy.deepcopy(msg),
        "chat_instance": str(abs(hash((bot.id, chat.id))) % 10**18),
        "data": button["callback_data"],
    }
    state.enqueue_update(bot, "callback_query", payload)
    assert q.future is not None
    try:
        return await asyncio.wait_for(asyncio.shield(q.future), timeout if wait is None else wait)
    except TimeoutError:
        return None


def shared_number(user: SimUser) -> str:
    """The user's number as their app shares it: digits only, "+" first if the app adds it."""
    digits = (user.phone_number or "").lstrip("+")
    return f"+{digits}" if user.client_adds_plus and digits else digits


def share_contact(
    state: SandboxState, bot: BotRecord, user: SimUser, chat: SimChat
) -> dict[str, Any]:
    """Send the user's own contact (what a request_contact button does)."""
    contact = {
        "phone_number": shared_number(user),
        "first_name": user.first_name,
        "user_id": user.id,
    }
    if user.last_name:
        contact["last_name"] = user.last_name
    return user_send(state, bot, user, chat, {"contact": contact})


def send_location(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    chat: SimChat,
    latitude: float = 37.7749,
    longitude: float = -122.4194,
) -> dict[str, Any]:
    """Send a location (what a request_location button does)."""
    return user_send(
        state, bot, user, chat, {"location": {"latitude": latitude, "longitude": longitude}}
    )


def send_file(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    chat: SimChat,
    kind: str,
    data: bytes,
    *,
    file_name: str | None = None,
    mime_type: str | None = None,
    caption: str | None = None,
    width: int = 0,
    height: int = 0,
    thread_id: int | None = None,
    typed: bool = False,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A user uploads a photo, document or other media; the bot can getFile and download it."""
    rec = state.store_file(
        kind, data, file_name=file_name, mime_type=mime_type, width=width, height=height
    )
    if kind == "photo":
        media: Any = [
            {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "file_size": len(data),
                "width": width or 1,
                "height": height or 1,
            }
        ]
    else:
        media = {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": len(data),
        }
        if file_name and kind in ("document", "video", "audio"):
            media["file_name"] = file_name
        if mime_type and kind != "sticker":
            media["mime_type"] = mime_type
        media.update(_MEDIA_FIELDS.get(kind, {}))
        if kind in ("video", "sticker"):
            media.update({"width": width or 512, "height": height or 512})
    content: dict[str, Any] = {kind: media}
    if caption:
        content["caption"] = caption
    return user_send(
        state, bot, user, chat, content, thread_id=thread_id, typed=typed, reply_to=reply_to
    )


def send_album(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    chat: SimChat,
    count: int,
    *,
    caption: str | None = None,
    thread_id: int | None = None,
) -> list[dict[str, Any]]:
    """A user sends 2-10 photos as one album: as in Telegram, one message (and one update)
    per photo, all with the same media_group_id, the caption on the first."""
    if not 2 <= count <= 10:
        raise ActionError("an album has 2-10 items")
    group = str(secrets.randbelow(10**17) + 10**17)
    sent = []
    for index in range(count):
        data = TINY_PNG_ALBUM + bytes([index])
        rec = state.store_file("photo", data, mime_type="image/png", width=1, height=1)
        content: dict[str, Any] = {
            "media_group_id": group,
            "photo": [{"file_id": rec.file_id, "file_unique_id": rec.file_unique_id,
                       "file_size": len(data), "width": 1, "height": 1}],
        }
        if caption and index == 0:
            content["caption"] = caption
        sent.append(user_send(state, bot, user, chat, content, thread_id=thread_id))
    return sent


# Bytes standing for an album's photos (each piece its own file).
TINY_PNG_ALBUM = b"\x89PNG\r\n\x1a\nalbum"

# Required fields of each media kind beyond the file's ids (Bot API Voice, Video, Sticker).
_MEDIA_FIELDS: dict[str, dict[str, Any]] = {
    "voice": {"duration": 1},
    "video": {"duration": 1},
    "audio": {"duration": 1},
    "sticker": {"type": "regular", "is_animated": False, "is_video": False},
}


def set_blocked(state: SandboxState, bot: BotRecord, user: SimUser, blocked: bool) -> None:
    """Block/unblock the bot; the bot gets my_chat_member like in Telegram."""
    was = user.id in bot.blocked_by
    if was == blocked:
        return
    (bot.blocked_by.add if blocked else bot.blocked_by.discard)(user.id)
    old, new = ("member", "kicked") if blocked else ("kicked", "member")
    member = {
        "chat": state.chats[user.id].to_api(),
        "from": user.to_api(),
        "date": int(time.time()),
        "old_chat_member": {
            "status": old,
            "user": bot.user.to_api(),
            **({"until_date": 0} if old == "kicked" else {}),
        },
        "new_chat_member": {
            "status": new,
            "user": bot.user.to_api(),
            **({"until_date": 0} if new == "kicked" else {}),
        },
    }
    state.enqueue_update(bot, "my_chat_member", member)
    state.publish(
        {"type": "blocked" if blocked else "unblocked", "bot_id": bot.id, "user_id": user.id}
    )


def user_edit(
    state: SandboxState, bot: BotRecord, user: SimUser, chat: SimChat, message_id: int, text: str
) -> dict[str, Any]:
    """A user edits their own text (or a media caption); bots that saw it get edited_message."""
    msg = state.get_message(bot.id, chat, message_id)
    if msg is None or msg.get("from", {}).get("id") != user.id:
        raise ActionError(f"no message {message_id} of {user.id} to edit in chat {chat.id}")
    field = "text" if "text" in msg else "caption"
    msg[field] = text
    msg.pop("entities" if field == "text" else "caption_entities", None)
    if field == "text" and command_entities(text):
        msg["entities"] = command_entities(text)
    msg["edit_date"] = int(time.time())
    state.publish({"type": "edit", "bot_id": bot.id, "chat_id": chat.id, "message": msg})
    for target in state.receivers(chat, msg, bot.id):
        state.enqueue_update(target, "edited_message", msg)
    return msg


def manage_topic(
    state: SandboxState, bot: BotRecord, user: SimUser, chat: SimChat, thread_id: int, what: str
) -> None:
    """A person closes, reopens or deletes a topic (admins only, as in Telegram's apps).

    Closing and reopening post a service message every bot in the group gets; deleting posts
    none: a bot learns of it when its next message there is refused.
    """
    topic = chat.topics.get(int(thread_id))
    if topic is None:
        raise ActionError(f"no topic {thread_id} in chat {chat.id}")
    if chat.members.get(user.id) not in ("creator", "administrator"):
        raise ActionError("only admins manage topics")
    if what == "delete":
        state.delete_topic(bot.id, chat, topic.message_thread_id)
        return
    closing = what == "close"
    if topic.closed == closing:
        raise ActionError("TOPIC_NOT_MODIFIED")
    topic.closed = closing
    field = "forum_topic_closed" if closing else "forum_topic_reopened"
    msg = state.topic_service(bot.id, chat, user, topic, {field: {}})
    for target in state.receivers(chat, msg, bot.id):
        state.enqueue_update(target, "message", msg)
