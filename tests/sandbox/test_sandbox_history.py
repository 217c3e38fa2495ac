"""A bounded history (the offline demo's): the newest messages of each chat, the chats active
last, the newest calls; a forgotten message is gone as a deleted one is, ids never reused. With
no bounds (tests) everything is kept."""

from __future__ import annotations

from sandbox.testing import Sandbox


def bounded(sb: Sandbox, messages: int = 0, chats: int = 0, calls: int = 0) -> None:
    """Set the bounds as the offline demo does (SandboxConfig.keep_*); no flood limits here."""
    sb.set_limits(enabled=False)
    sb.state.config.keep_messages = messages
    sb.state.config.keep_chats = chats
    sb.state.config.keep_calls = calls


async def test_a_chat_keeps_its_newest_messages_and_goes_on_numbering(sb: Sandbox, api) -> None:
    bounded(sb, messages=4)
    alice = sb.user("Alice")
    for n in range(1, 11):
        await alice.send(f"line {n}")
    assert [m["text"] for m in alice.messages] == ["line 7", "line 8", "line 9", "line 10"]
    assert [m["message_id"] for m in alice.messages] == [7, 8, 9, 10]
    _, sent = await api("sendMessage", chat_id=alice.id, text="from the bot")
    assert sent["result"]["message_id"] == 11  # never an id Telegram already gave
    assert len(alice.messages) == 4 and sb.state.kept()["messages"] == 4


async def test_a_forgotten_message_answers_as_a_deleted_one(sb: Sandbox, api) -> None:
    bounded(sb, messages=3)
    alice = sb.user("Alice")
    _, first = await api("sendMessage", chat_id=alice.id, text="card",
                         reply_markup={"inline_keyboard": [[{"text": "Go",
                                                             "callback_data": "go"}]]})
    old = first["result"]["message_id"]
    code, body = await api("editMessageText", chat_id=alice.id, message_id=old, text="still?")
    assert (code, body["ok"]) == (200, True)  # kept: editable
    for n in range(3):
        await api("sendMessage", chat_id=alice.id, text=f"later {n}")
    code, body = await api("editMessageText", chat_id=alice.id, message_id=old, text="again")
    assert (code, body["description"]) == (400, "Bad Request: message to edit not found")
    code, body = await api("editMessageReplyMarkup", chat_id=alice.id, message_id=old,
                           reply_markup={"inline_keyboard": []})
    assert (code, body["description"]) == (400, "Bad Request: message to edit not found")
    code, body = await api("deleteMessage", chat_id=alice.id, message_id=old)
    assert (code, body["description"]) == (400, "Bad Request: message to delete not found")


async def test_the_chats_idle_longest_are_forgotten_first(sb: Sandbox, api) -> None:
    bounded(sb, chats=2)
    alice, bob, carol = sb.user("Alice"), sb.user("Bob"), sb.user("Carol")
    await alice.send("hi")
    await bob.send("hi")
    await alice.send("me again")  # Alice is active again: Bob is now the one idle longest
    await carol.send("hi")
    assert [m["text"] for m in alice.messages] == ["hi", "me again"]
    assert bob.messages == [] and len(carol.messages) == 1
    assert sb.state.kept()["chats"] == 2
    # Bob's chat itself is still there (people stay on Telegram): the bot can write to him,
    # and his chat goes on numbering.
    code, body = await api("sendMessage", chat_id=bob.id, text="your order shipped")
    assert code == 200 and body["result"]["message_id"] == 2
    assert [m["text"] for m in bob.messages] == ["your order shipped"]


async def test_the_log_keeps_the_newest_calls(sb: Sandbox, api) -> None:
    bounded(sb, calls=5)
    alice = sb.user("Alice")
    for n in range(12):
        await api("sendMessage", chat_id=alice.id, text=f"n{n}")
    texts = [e.params["text"] for e in sb.requests("sendMessage")]
    assert texts == ["n7", "n8", "n9", "n10", "n11"]


async def test_without_bounds_everything_is_kept(sb: Sandbox, api) -> None:
    bounded(sb)  # 0: no bound
    alice = sb.user("Alice")
    for n in range(300):
        await alice.send(f"line {n}")
        await api("sendMessage", chat_id=alice.id, text=f"answer {n}")
    assert len(alice.messages) == 600
    assert len(sb.requests("sendMessage")) == 300
    assert sb.state.kept() == {"chats": 1, "messages": 600, "calls": 300, "queries": 0}
