"""Forum topics: create, edit, close, reopen, delete; copyMessages (albums stay albums).

Rights as Telegram checks them: creating needs an admin with can_manage_topics; editing,
closing and reopening need it too unless the bot opened the topic; deleting needs
can_delete_messages. A topic id that is not (or no longer) there is "message thread not found",
as for sends; closing a closed topic (or reopening an open one, or an edit that changes
nothing) is TOPIC_NOT_MODIFIED.
"""

from __future__ import annotations

import copy
import secrets
from itertools import pairwise
from typing import Any

from sandbox.server.errors import bad_request
from sandbox.server.formatting import utf16_len
from sandbox.server.methods.common import (
    Call,
    deliver,
    method,
    target_chat,
    thread_for,
)
from sandbox.server.models import SimChat, Topic

ICON_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
MAX_NAME = 128
MAX_COPIES = 100


def _forum(call: Call) -> SimChat:
    chat = call.state.resolve_chat(call.get("chat_id"))
    call.state.check_can_send(call.bot, chat)
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    return chat


def _topic(call: Call, chat: SimChat) -> Topic:
    try:
        thread = int(call.get("message_thread_id"))
    except (TypeError, ValueError):
        raise bad_request("invalid message thread identifier specified") from None
    topic = chat.topics.get(thread)
    if topic is None:
        raise bad_request("message thread not found")
    return topic


def _may_manage(call: Call, chat: SimChat, topic: Topic | None) -> None:
    if topic is not None and topic.creator_id == call.bot.id:
        return
    if not chat.rights_of(call.bot.id).get("can_manage_topics"):
        raise bad_request("not enough rights to manage topics" if topic else
                          "not enough rights to create a topic")


def _name(value: Any, *, required: bool) -> str:
    name = str(value or "")
    if required and not name.strip():
        raise bad_request("TOPIC_NAME_EMPTY")
    if utf16_len(name) > MAX_NAME:
        raise bad_request("TOPIC_NAME_INVALID")
    return name


@method("createForumTopic")
async def create_forum_topic(call: Call) -> dict[str, Any]:
    """createForumTopic: the ForumTopic, and its forum_topic_created message in the chat."""
    chat = _forum(call)
    _may_manage(call, chat, None)
    name = _name(call.get("name"), required=True)
    color = call.get("icon_color")
    if color is not None and int(color) not in ICON_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")  # one of the six colours of the docs
    call.state.flood.check(call.bot.id, chat.id, chat.type, call.method)
    topic = call.state.create_topic(call.bot.id, chat, call.bot.user, name,
                                    int(color) if color is not None else None,
                                    call.get("icon_custom_emoji_id"))
    return topic.to_api()


@method("editForumTopic")
async def edit_forum_topic(call: Call) -> bool:
    """editForumTopic: a new name (empty or absent keeps it) and/or icon."""
    chat = _forum(call)
    topic = _topic(call, chat)
    _may_manage(call, chat, topic)
    name = _name(call.get("name"), required=False)
    emoji = call.get("icon_custom_emoji_id")
    changes: dict[str, Any] = {}
    if name and name != topic.name:
        changes["name"] = name
    if emoji is not None and (emoji or None) != topic.icon_custom_emoji_id:
        changes["icon_custom_emoji_id"] = emoji
    if not changes:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic.name = changes.get("name", topic.name)
    if "icon_custom_emoji_id" in changes:
        topic.icon_custom_emoji_id = emoji or None
    call.state.topic_service(call.bot.id, chat, call.bot.user, topic,
                             {"forum_topic_edited": changes})
    return True


@method("closeForumTopic", "reopenForumTopic")
async def close_forum_topic(call: Call) -> bool:
    """closeForumTopic / reopenForumTopic, with their service message in the topic."""
    chat = _forum(call)
    topic = _topic(call, chat)
    _may_manage(call, chat, topic)
    closing = call.method == "closeForumTopic"
    if topic.closed == closing:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic.closed = closing
    field = "forum_topic_closed" if closing else "forum_topic_reopened"
    call.state.topic_service(call.bot.id, chat, call.bot.user, topic, {field: {}})
    return True


@method("deleteForumTopic")
async def delete_forum_topic(call: Call) -> bool:
    """deleteForumTopic: the topic and every message in it are gone."""
    chat = _forum(call)
    topic = _topic(call, chat)
    if not chat.rights_of(call.bot.id).get("can_delete_messages"):
        raise bad_request("not enough rights to delete the topic")
    call.state.delete_topic(call.bot.id, chat, topic.message_thread_id)
    return True


@method("copyMessages")
async def copy_messages(call: Call) -> list[dict[str, Any]]:
    """copyMessages: 1-100 ids in strictly increasing order; missing or service ones skipped;
    an album copied together stays an album."""
    ids = call.get("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_COPIES:
        raise bad_request("message identifiers are not specified" if not ids else
                          "too many messages to copy")
    if any(not isinstance(i, int) for i in ids) or any(b <= a for a, b in pairwise(ids)):
        raise bad_request("message identifiers must be in a strictly increasing order")
    source = call.state.resolve_chat(call.get("from_chat_id"))
    chat = target_chat(call)
    thread = thread_for(call, chat)
    from sandbox.server.methods.messages import copied_content

    albums: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for mid in ids:
        found = call.state.get_message(call.bot.id, source, mid)
        if found is None or not copyable(found):
            continue
        content = copied_content(found)
        if "media_group_id" in content:
            group = str(content["media_group_id"])
            content["media_group_id"] = albums.setdefault(group, secrets.token_hex(8))
        if call.get("remove_caption"):
            content.pop("caption", None)
            content.pop("caption_entities", None)
        msg = deliver(call, chat, copy.deepcopy(content), thread=thread)
        out.append({"message_id": msg["message_id"]})
    return out


def copyable(message: dict[str, Any]) -> bool:
    """Service messages, invoices and payments cannot be copied."""
    from sandbox.server.privacy import SERVICE_FIELDS

    blocked = SERVICE_FIELDS | {"successful_payment", "invoice"}
    return not blocked & message.keys()
