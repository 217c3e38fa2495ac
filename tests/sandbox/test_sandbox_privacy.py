"""Group privacy mode and force_reply, as Telegram and its apps do them.

A bot that is a plain member of a group with privacy mode on (every bot, by default) gets
commands meant for it, replies to its messages and service messages, not plain talk; an admin
bot, or one added after its privacy mode was turned off, gets everything but other bots'
messages. A message with force_reply turns the person's next message into a reply to it.
"""
from __future__ import annotations

from typing import Any

import aiohttp

from sandbox.testing import Sandbox

ApiCall = Any


async def updates(api: ApiCall) -> list[dict[str, Any]]:
    """The messages delivered since the last call (and confirm them)."""
    _, body = await api("getUpdates", timeout=0)
    result = body["result"]
    if result:
        await api("getUpdates", offset=result[-1]["update_id"] + 1, timeout=0)
    return [u["message"] for u in result if "message" in u]


async def test_privacy_mode_in_a_group_where_the_bot_is_a_member(sb: Sandbox, api: ApiCall) -> None:
    alice = sb.user("Alice", username="alice_w")
    group = sb.group("Shop admins", members=[alice], supergroup=True)
    me = sb.bot.user.username
    _, got = await api("getMe")
    assert got["result"]["can_read_all_group_messages"] is False
    talk = alice.in_chat(group)
    await talk.send("just chatting")
    await talk.send(f"hello @{me}")  # a mention alone is not delivered
    await talk.send("/orders@someone_elses_bot")
    await talk.send(f"/orders@{me}")
    await talk.send("/orders")  # the only bot here: a plain command is its own
    assert [m["text"] for m in await updates(api)] == [f"/orders@{me}", "/orders"]

    _, sent = await api("sendMessage", chat_id=group.id, text="Tracking number?")
    await talk.send("SF1234", reply_to=sent["result"]["message_id"])  # a reply to the bot
    await talk.send("SF5678", reply_to=(await talk.send("my own note"))["message_id"])
    (reply,) = await updates(api)
    assert reply["text"] == "SF1234"
    assert reply["reply_to_message"]["message_id"] == sent["result"]["message_id"]

    topic_group = sb.forum("Support", members=[alice], bot_admin=False)
    await alice.in_chat(topic_group).create_topic("Li")  # a service message: every bot gets it
    assert "forum_topic_created" in (await updates(api))[0]


async def test_an_admin_bot_and_a_bot_without_privacy_read_everything(
        sb: Sandbox, api: ApiCall) -> None:
    alice = sb.user("Alice")
    as_admin = sb.group("Admins", members=[alice], bot_admin=True, supergroup=True)
    before = sb.group("Made before the switch", members=[alice], supergroup=True)
    sb.set_privacy(False)  # BotFather's /setprivacy: Disable
    after = sb.group("Made after the switch", members=[alice], supergroup=True)
    _, got = await api("getMe")
    assert got["result"]["can_read_all_group_messages"] is True
    for chat in (as_admin, before, after):
        await alice.in_chat(chat).send(f"hi {chat.chat.title}")
    # As in Telegram, the switch applies to groups the bot is added to afterwards.
    assert [m["text"] for m in await updates(api)] == ["hi Admins", "hi Made after the switch"]


async def test_the_privacy_switch_in_the_control_api(sb: Sandbox, api: ApiCall) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{sb.api_url}/sandbox/bots/{sb.bot_id}/privacy"
        async with session.post(url, json={"enabled": False}) as response:
            assert (await response.json())["result"] == {"id": sb.bot_id, "privacy": False}
    _, got = await api("getMe")
    assert got["result"]["can_read_all_group_messages"] is True


async def test_force_reply_makes_the_next_message_a_reply(sb: Sandbox, api: ApiCall) -> None:
    alice, bob = sb.user("Alice"), sb.user("Bob", username="bob_the_packer")
    group = sb.group("Shop admins", members=[alice, bob], supergroup=True)
    _, asked = await api("sendMessage", chat_id=group.id, text="Which carrier?",
                         reply_markup={"force_reply": True, "input_field_placeholder": "SF..."})
    prompt = asked["result"]["message_id"]
    assert "reply_markup" not in asked["result"]  # not part of the Message a bot gets back
    sent = await alice.in_chat(group).send("SF1")
    assert sent["reply_to_message"]["message_id"] == prompt
    again = await alice.in_chat(group).send("and one more")  # the reply bar closed after a send
    assert "reply_to_message" not in again
    plain = await bob.in_chat(group).send("not an answer", plain=True)  # closed by hand
    assert "reply_to_message" not in plain
    assert [m["text"] for m in await updates(api)] == ["SF1"]


async def test_a_selective_force_reply_opens_only_for_the_people_it_names(
        sb: Sandbox, api: ApiCall) -> None:
    alice, bob = sb.user("Alice"), sb.user("Bob", username="bob_the_packer")
    carol = sb.user("Carol")
    group = sb.group("Shop admins", members=[alice, bob, carol], supergroup=True)
    force = {"force_reply": True, "selective": True}
    _, by_link = await api("sendMessage", chat_id=group.id, parse_mode="HTML", reply_markup=force,
                           text=f'<a href="tg://user?id={alice.id}">Alice</a>, the reason?')
    _, by_name = await api("sendMessage", chat_id=group.id, text="@bob_the_packer, the amount?",
                           reply_markup=force)
    carols = await carol.in_chat(group).send("the reason is ...")
    assert "reply_to_message" not in carols  # named nowhere: her app stays as it was
    alices = await alice.in_chat(group).send("out of stock")
    assert alices["reply_to_message"]["message_id"] == by_link["result"]["message_id"]
    bobs = await bob.in_chat(group).send("12.50")
    assert bobs["reply_to_message"]["message_id"] == by_name["result"]["message_id"]
    mine = await carol.in_chat(group).send("/help")
    _, to_her = await api("sendMessage", chat_id=group.id, text="Which one?", reply_markup=force,
                          reply_parameters={"message_id": mine["message_id"]})
    answer = await carol.in_chat(group).send("the second")
    assert answer["reply_to_message"]["message_id"] == to_her["result"]["message_id"]
