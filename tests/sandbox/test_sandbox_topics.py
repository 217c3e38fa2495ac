"""Forum topics as Telegram does them: create, edit, close, reopen, delete, and copies.

What Telegram answers: sends into a topic that is gone are "message thread not found", into a
closed one TOPIC_CLOSED; closing a closed topic is TOPIC_NOT_MODIFIED; a bot without
can_manage_topics cannot open topics; messages in a topic quote its opening message.
"""
from __future__ import annotations

from typing import Any

from sandbox.testing import Sandbox

ApiCall = Any


async def updates(api: ApiCall, kind: str = "message") -> list[dict[str, Any]]:
    """The updates of one kind delivered since the last call (and confirm them)."""
    _, body = await api("getUpdates", timeout=0)
    result = body["result"]
    if result:
        await api("getUpdates", offset=result[-1]["update_id"] + 1, timeout=0)
    return [u[kind] for u in result if kind in u]


async def test_a_bot_opens_writes_in_closes_and_deletes_a_topic(sb: Sandbox, api: ApiCall) -> None:
    mei = sb.user("Mei")
    forum = sb.forum("Support", members=[mei])
    code, made = await api("createForumTopic", chat_id=forum.id, name="Li · @li · 42")
    assert code == 200
    topic = made["result"]
    assert topic["name"] == "Li · @li · 42" and topic["icon_color"] == 7322096
    thread = topic["message_thread_id"]
    opening = forum.messages[-1]
    assert opening["message_id"] == thread and opening["forum_topic_created"]["name"] == topic["name"]

    _, sent = await api("sendMessage", chat_id=forum.id, message_thread_id=thread, text="card")
    message = sent["result"]
    assert message["is_topic_message"] is True and message["message_thread_id"] == thread
    assert message["reply_to_message"]["forum_topic_created"]["name"] == topic["name"]

    agent = mei.in_chat(forum)
    said = await agent.send("hello", thread_id=thread)
    (got,) = await updates(api)  # the bot is an admin: it reads the topic
    assert got["message_id"] == said["message_id"] and got["message_thread_id"] == thread
    general = await agent.send("lunch?")
    (got,) = await updates(api)
    assert got["message_id"] == general["message_id"] and "message_thread_id" not in got

    assert (await api("closeForumTopic", chat_id=forum.id, message_thread_id=thread))[0] == 200
    assert "forum_topic_closed" in forum.messages[-1]
    code, body = await api("sendMessage", chat_id=forum.id, message_thread_id=thread, text="x")
    assert (code, body["description"]) == (400, "Bad Request: TOPIC_CLOSED")
    code, body = await api("closeForumTopic", chat_id=forum.id, message_thread_id=thread)
    assert (code, body["description"]) == (400, "Bad Request: TOPIC_NOT_MODIFIED")
    assert (await api("reopenForumTopic", chat_id=forum.id, message_thread_id=thread))[0] == 200
    assert (await api("editForumTopic", chat_id=forum.id, message_thread_id=thread,
                      name="Li (VIP)"))[0] == 200
    assert forum.topics[thread]["name"] == "Li (VIP)"
    code, body = await api("editForumTopic", chat_id=forum.id, message_thread_id=thread,
                           name="Li (VIP)")
    assert body["description"] == "Bad Request: TOPIC_NOT_MODIFIED"

    assert (await api("deleteForumTopic", chat_id=forum.id, message_thread_id=thread))[0] == 200
    assert thread not in forum.topics
    assert [m["message_id"] for m in forum.messages] == [general["message_id"]]
    code, body = await api("sendMessage", chat_id=forum.id, message_thread_id=thread, text="x")
    assert (code, body["description"]) == (400, "Bad Request: message thread not found")
    code, body = await api("copyMessage", chat_id=forum.id, message_thread_id=thread,
                           from_chat_id=forum.id, message_id=general["message_id"])
    assert body["description"] == "Bad Request: message thread not found"


async def test_rights_and_wrong_input(sb: Sandbox, api: ApiCall) -> None:
    mei = sb.user("Mei")
    plain = sb.group("Not a forum", members=[mei], bot_admin=True, supergroup=True)
    code, body = await api("createForumTopic", chat_id=plain.id, name="x")
    assert (code, body["description"]) == (400, "Bad Request: the chat is not a forum")
    member = sb.forum("Bot not admin", members=[mei], bot_admin=False)
    code, body = await api("createForumTopic", chat_id=member.id, name="x")
    assert body["description"] == "Bad Request: not enough rights to create a topic"
    forum = sb.forum("Support", members=[mei])
    code, body = await api("createForumTopic", chat_id=forum.id, name="x" * 129)
    assert (code, body["description"]) == (400, "Bad Request: TOPIC_NAME_INVALID")
    code, body = await api("createForumTopic", chat_id=forum.id, name="x", icon_color=123)
    assert code == 400
    emoji = "🛒" * 64  # 128 UTF-16 units: the longest name
    assert (await api("createForumTopic", chat_id=forum.id, name=emoji))[0] == 200
    code, body = await api("closeForumTopic", chat_id=forum.id, message_thread_id=999)
    assert body["description"] == "Bad Request: message thread not found"


async def test_people_close_and_delete_topics_and_edit_messages(sb: Sandbox, api: ApiCall) -> None:
    mei = sb.user("Mei")
    forum = sb.forum("Support", members=[mei])
    _, made = await api("createForumTopic", chat_id=forum.id, name="Li")
    thread = made["result"]["message_thread_id"]
    agent = mei.in_chat(forum)
    said = await agent.send("typo", thread_id=thread)
    await agent.edit(said["message_id"], "fixed")
    (edited,) = await updates(api, "edited_message")
    assert edited["text"] == "fixed" and edited["edit_date"] and edited["message_thread_id"] == thread
    await agent.close_topic(thread)
    closed = (await updates(api))[-1]
    assert "forum_topic_closed" in closed and closed["message_thread_id"] == thread
    await agent.delete_topic(thread)
    assert thread not in forum.topics  # no update: Telegram says nothing of a deleted topic
    assert await updates(api) == []


async def test_copy_messages_keeps_albums_and_skips_what_cannot_be_copied(
        sb: Sandbox, api: ApiCall) -> None:
    li, mei = sb.user("Li"), sb.user("Mei")
    forum = sb.forum("Support", members=[mei])
    _, made = await api("createForumTopic", chat_id=forum.id, name="Li")
    thread = made["result"]["message_thread_id"]
    first = await li.send_photo(caption="front")
    second = await li.send_photo()
    for m in (first, second):  # an album: one media_group_id
        li.state.get_message(sb.bot_id, li.chat, m["message_id"])["media_group_id"] = "g1"
    voice = await li.send_media("voice")
    code, body = await api("copyMessages", chat_id=forum.id, message_thread_id=thread,
                           from_chat_id=li.id,
                           message_ids=[first["message_id"], second["message_id"],
                                        voice["message_id"], 9999])
    assert code == 200 and len(body["result"]) == 3
    copies = forum.messages[-3:]
    assert copies[0]["media_group_id"] == copies[1]["media_group_id"] != "g1"
    assert copies[0]["caption"] == "front" and "voice" in copies[2]
    assert all(c["message_thread_id"] == thread for c in copies)
    code, body = await api("copyMessages", chat_id=forum.id, from_chat_id=li.id,
                           message_ids=[second["message_id"], first["message_id"]])
    assert code == 400
    code, body = await api("copyMessage", chat_id=li.id, from_chat_id=forum.id,
                           message_id=thread)
    assert body["description"] == "Bad Request: message can't be copied"
    _, one = await api("copyMessage", chat_id=mei.id, from_chat_id=li.id,
                       message_id=first["message_id"])
    assert "media_group_id" not in mei.messages[-1]
    assert one["result"]["message_id"] == mei.messages[-1]["message_id"]
