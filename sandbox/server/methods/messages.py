"""Text messages: send, edit, delete, copy, forward, chat actions."""

from __future__ import annotations

import copy
import time
from typing import Any

from sandbox.server.errors import NOT_MODIFIED, bad_request
from sandbox.server.methods.common import (
    Call,
    bot_message,
    check_markup,
    deliver,
    method,
    reply_to,
    target_chat,
    text_content,
    thread_for,
)
from sandbox.server.models import SimChat

CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
# Content keys a copy carries over; service fields (ids, dates, senders) are fresh.
_COPY_SKIP = {
    "message_id",
    "date",
    "chat",
    "from",
    "message_thread_id",
    "is_topic_message",
    "reply_to_message",
    "edit_date",
    "forward_origin",
    "reply_markup",
    "_keyboard",
}


@method("sendMessage")
async def send_message(call: Call) -> dict[str, Any]:
    """sendMessage."""
    chat = target_chat(call)
    thread = thread_for(call, chat)
    text, entities = text_content(
        call.get("text", ""), call.get("parse_mode"), call.get("entities")
    )
    markup = check_markup(call.get("reply_markup"))
    reply = reply_to(call, chat)
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    if call.get("link_preview_options"):
        content["link_preview_options"] = call.get("link_preview_options")
    return deliver(call, chat, content, thread=thread, markup=markup, reply=reply)


def edit_target(call: Call) -> tuple[SimChat, dict[str, Any]]:
    """The chat and the bot's own message an edit names, or Telegram's error."""
    if call.get("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    if call.get("chat_id") is None:
        raise bad_request("chat_id is empty")
    chat = call.state.resolve_chat(call.get("chat_id"))
    if call.get("message_id") is None:
        raise bad_request("message identifier is not specified")
    msg = bot_message(call, chat, call.get("message_id"), what="edit")
    if msg.get("from", {}).get("id") != call.bot.id:
        raise bad_request("message can't be edited")
    return chat, msg


def _apply_edit(
    call: Call,
    chat: SimChat,
    msg: dict[str, Any],
    changes: dict[str, Any],
    markup: dict[str, Any] | None,
) -> dict[str, Any]:
    new = dict(changes)
    same = all(msg.get(k) == (v or None) for k, v in new.items())
    same = same and msg.get("reply_markup") == markup
    if same:
        raise bad_request(NOT_MODIFIED)
    call.state.flood.check(call.bot.id, chat.id, chat.type, call.method)
    for k, v in new.items():
        if v:
            msg[k] = v
        else:
            msg.pop(k, None)
    return edited(call, chat, msg, markup)


def edited(call: Call, chat: SimChat, msg: dict[str, Any],
           markup: dict[str, Any] | None) -> dict[str, Any]:
    """An edit's end, whatever it changed: the new buttons (none: removed), the edit date, and
    the edit shown to whoever watches the chat."""
    if markup:
        msg["reply_markup"] = markup
    else:
        msg.pop("reply_markup", None)
    msg["edit_date"] = int(time.time())
    call.state.publish({"type": "edit", "bot_id": call.bot.id, "chat_id": chat.id, "message": msg})
    return msg


@method("editMessageText")
async def edit_message_text(call: Call) -> dict[str, Any]:
    """editMessageText."""
    chat, msg = edit_target(call)
    if "text" not in msg:
        raise bad_request("there is no text in the message to edit")
    text, entities = text_content(
        call.get("text", ""), call.get("parse_mode"), call.get("entities")
    )
    markup = check_markup(call.get("reply_markup"))
    return _apply_edit(call, chat, msg, {"text": text, "entities": entities}, markup)


@method("editMessageCaption")
async def edit_message_caption(call: Call) -> dict[str, Any]:
    """editMessageCaption."""
    chat, msg = edit_target(call)
    if "text" in msg:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = text_content(
        call.get("caption", ""), call.get("parse_mode"), call.get("caption_entities"), caption=True
    )
    markup = check_markup(call.get("reply_markup"))
    return _apply_edit(call, chat, msg, {"caption": caption, "caption_entities": entities}, markup)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> dict[str, Any]:
    """editMessageReplyMarkup."""
    chat, msg = edit_target(call)
    markup = check_markup(call.get("reply_markup"))
    return _apply_edit(call, chat, msg, {}, markup)


@method("deleteMessage")
async def delete_message(call: Call) -> bool:
    """deleteMessage: the bot's own messages anywhere; others' in private or with the right."""
    chat = call.state.resolve_chat(call.get("chat_id"))
    msg = bot_message(call, chat, call.get("message_id"), what="delete")
    own = msg.get("from", {}).get("id") == call.bot.id
    if (
        not own
        and chat.type != "private"
        and not chat.rights_of(call.bot.id).get("can_delete_messages")
    ):
        raise bad_request("message can't be deleted")
    call.state.delete_message(call.bot.id, chat, msg["message_id"])
    return True


@method("deleteMessages")
async def delete_messages(call: Call) -> bool:
    """deleteMessages: missing ones are skipped, like Telegram."""
    chat = call.state.resolve_chat(call.get("chat_id"))
    for mid in call.get("message_ids") or []:
        if call.state.get_message(call.bot.id, chat, mid):
            call.state.delete_message(call.bot.id, chat, mid)
    return True


def copied_content(src: dict[str, Any]) -> dict[str, Any]:
    """What a copy of a message carries: its content, none of its ids, dates or senders."""
    return {k: copy.deepcopy(v) for k, v in src.items() if k not in _COPY_SKIP}


def _source(call: Call, what: str) -> dict[str, Any]:
    src_chat = call.state.resolve_chat(call.get("from_chat_id"))
    return bot_message(call, src_chat, call.get("message_id"), what=what)


@method("copyMessage")
async def copy_message(call: Call) -> dict[str, Any]:
    """copyMessage: same content, no link to the original; returns MessageId."""
    from sandbox.server.methods.topics import copyable

    src = _source(call, "copy")
    chat = target_chat(call)
    thread = thread_for(call, chat)
    if not copyable(src):
        raise bad_request("message can't be copied")
    content = copied_content(src)
    content.pop("media_group_id", None)  # one copied message is no album
    if call.get("caption") is not None and "text" not in content:
        caption, entities = text_content(
            call.get("caption"), call.get("parse_mode"), call.get("caption_entities"), caption=True
        )
        content["caption"] = caption
        content.pop("caption_entities", None)
        if entities:
            content["caption_entities"] = entities
    markup = check_markup(call.get("reply_markup"))
    msg = deliver(call, chat, content, thread=thread, markup=markup, reply=reply_to(call, chat))
    return {"message_id": msg["message_id"]}


@method("forwardMessage")
async def forward_message(call: Call) -> dict[str, Any]:
    """forwardMessage: content plus forward_origin naming the original sender."""
    src = _source(call, "forward")
    chat = target_chat(call)
    thread = thread_for(call, chat)
    content = {k: copy.deepcopy(v) for k, v in src.items() if k not in _COPY_SKIP}
    sender = src.get("from") or {}
    content["forward_origin"] = {"type": "user", "sender_user": sender, "date": src["date"]}
    return deliver(call, chat, content, thread=thread)


@method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    """sendChatAction: validated, published as an event, nothing stored."""
    chat = target_chat(call)
    if call.get("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    call.state.publish(
        {
            "type": "chat_action",
            "bot_id": call.bot.id,
            "chat_id": chat.id,
            "action": call.get("action"),
        }
    )
    return True
