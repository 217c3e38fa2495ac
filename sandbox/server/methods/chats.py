"""Chats, members, commands, callback answers and forum topics."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.server.errors import bad_request, forbidden
from sandbox.server.formatting import utf16_len
from sandbox.server.methods.common import Call, method
from sandbox.server.models import ADMIN_RIGHTS, SimChat

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def _seen_chat(call: Call) -> SimChat:
    """A chat the bot may look at: a group it is not in is unknown to it (a public one, with a
    username, excepted); one it was removed from says so, as Telegram answers."""
    chat = call.state.resolve_chat(call.get("chat_id"))
    if chat.type == "private" or chat.username:
        return chat
    status = chat.members.get(call.bot.id, "left")
    kind = "group" if chat.type == "group" else "supergroup"
    if status == "kicked":
        raise forbidden(f"bot was kicked from the {kind} chat")
    if status == "left":
        raise bad_request("chat not found")
    return chat


@method("getChat")
async def get_chat(call: Call) -> dict[str, Any]:
    """getChat: ChatFullInfo with the spec's required fields."""
    chat = _seen_chat(call)
    info: dict[str, Any] = call.spec.minimal("ChatFullInfo")
    info.update(chat.to_api())
    info["max_reaction_count"] = 11
    info["accepted_gift_types"] = {
        "unlimited_gifts": True,
        "limited_gifts": True,
        "unique_gifts": True,
        "premium_subscription": True,
        "gifts_from_channels": True,
    }
    return info


def _member(call: Call, chat: SimChat, user_id: int) -> dict[str, Any]:
    user = call.state.users.get(user_id)
    if user is None:
        raise bad_request("PARTICIPANT_ID_INVALID" if user_id > 0 else "user not found")
    if chat.type == "private":
        status = "member" if user_id in (chat.id, call.bot.id) else "left"
    else:
        status = chat.members.get(user_id, "left")
    out: dict[str, Any] = {"status": status, "user": user.to_api()}
    if status == "creator":
        out["is_anonymous"] = False
    elif status == "administrator":
        rights = chat.rights_of(user_id)
        out.update({"can_be_edited": False, "is_anonymous": False})
        out.update({r: rights.get(r, False) for r in ADMIN_RIGHTS})
        # Required since Bot API 10.3 (after this sandbox's 10.1 spec); Telegram sends it and
        # aiogram 3.31 refuses a ChatMemberAdministrator without it.
        out["can_send_welcome_messages"] = bool(rights.get("can_send_welcome_messages"))
    return out


@method("getChatMember")
async def get_chat_member(call: Call) -> dict[str, Any]:
    """getChatMember."""
    chat = _seen_chat(call)
    return _member(call, chat, int(call.get("user_id")))


@method("getChatAdministrators")
async def get_chat_administrators(call: Call) -> list[dict[str, Any]]:
    """getChatAdministrators."""
    chat = call.state.resolve_chat(call.get("chat_id"))
    return [
        _member(call, chat, uid)
        for uid, status in chat.members.items()
        if status in ("creator", "administrator")
    ]


@method("getChatMemberCount")
async def get_chat_member_count(call: Call) -> int:
    """getChatMemberCount."""
    chat = call.state.resolve_chat(call.get("chat_id"))
    if chat.type == "private":
        return 2
    return sum(1 for s in chat.members.values() if s not in ("left", "kicked"))


def _scope_key(call: Call) -> str:
    scope = call.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (call.get("language_code") or "")


@method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    """setMyCommands: stored per scope and language_code."""
    commands = call.get("commands") or []
    if len(commands) > 100:
        raise bad_request("too many commands")
    for c in commands:
        if not _COMMAND_RE.match(str(c.get("command", "")).lstrip("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= utf16_len(str(c.get("description", "")).strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    call.bot.commands[_scope_key(call)] = [
        {"command": str(c["command"]).lstrip("/"), "description": c["description"]}
        for c in commands
    ]
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> list[dict[str, Any]]:
    """getMyCommands for a scope and language_code."""
    return list(call.bot.commands.get(_scope_key(call), []))


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    """deleteMyCommands."""
    call.bot.commands.pop(_scope_key(call), None)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> bool:
    """answerCallbackQuery: once, within the callback timeout, text up to 200 characters."""
    text = call.get("text")
    if text is not None and utf16_len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    answer = {
        "text": text,
        "show_alert": bool(call.get("show_alert")),
        "url": call.get("url"),
        "cache_time": call.get("cache_time") or 0,
    }
    call.state.answer_query(call.bot.id, call.get("callback_query_id"), "callback_query", answer)
    return True


def _forum(call: Call, right: str | None, action: str) -> SimChat:
    chat = call.state.resolve_chat(call.get("chat_id"))
    call.state.check_can_send(call.bot, chat)
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    if right and not chat.rights_of(call.bot.id).get(right):
        raise bad_request(f"not enough rights to {action}")
    return chat


def _topic(chat: SimChat, thread_id: Any) -> Any:
    topic = chat.topics.get(int(thread_id or 0))
    if topic is None:
        raise bad_request("TOPIC_ID_INVALID")
    return topic


@method("createForumTopic")
async def create_forum_topic(call: Call) -> dict[str, Any]:
    """createForumTopic (needs can_manage_topics)."""
    chat = _forum(call, "can_manage_topics", "create a topic")
    name = call.get("name", "")
    if not 1 <= utf16_len(name) <= 128:
        raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
    topic = call.state.create_topic(
        call.bot.id,
        chat,
        call.bot.user,
        name,
        call.get("icon_color"),
        call.get("icon_custom_emoji_id"),
    )
    return topic.to_api()


@method("editForumTopic")
async def edit_forum_topic(call: Call) -> bool:
    """editForumTopic."""
    chat = _forum(call, "can_manage_topics", "edit a topic")
    topic = _topic(chat, call.get("message_thread_id"))
    if call.get("name") is None and call.get("icon_custom_emoji_id") is None:
        raise bad_request("TOPIC_NOT_MODIFIED")
    if call.get("name") is not None:
        topic.name = call.get("name")
    if call.get("icon_custom_emoji_id") is not None:
        topic.icon_custom_emoji_id = call.get("icon_custom_emoji_id") or None
    call.state.publish({"type": "topic_edited", "chat_id": chat.id, "topic": topic.to_api()})
    return True


@method("closeForumTopic", "reopenForumTopic")
async def close_forum_topic(call: Call) -> bool:
    """closeForumTopic / reopenForumTopic."""
    closing = call.method == "closeForumTopic"
    chat = _forum(call, "can_manage_topics", "close a topic" if closing else "reopen a topic")
    topic = _topic(chat, call.get("message_thread_id"))
    if topic.closed == closing:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic.closed = closing
    kind = "forum_topic_closed" if closing else "forum_topic_reopened"
    call.state.store_message(call.bot.id, chat, call.bot.user, {kind: {}}, topic.message_thread_id)
    return True


@method("deleteForumTopic")
async def delete_forum_topic(call: Call) -> bool:
    """deleteForumTopic."""
    chat = _forum(call, "can_delete_messages", "delete a topic")
    topic = _topic(chat, call.get("message_thread_id"))
    chat.topics.pop(topic.message_thread_id, None)
    return True
