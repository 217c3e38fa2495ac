"""Message lifecycle: copy, forward, caption edits, deletes, groups, user uploads, webhook replies."""

from __future__ import annotations

import json

from aiohttp import web

from sandbox.server import free_port
from sandbox.testing import Sandbox


async def test_copy_forward_edit_caption_delete(sb: Sandbox, api) -> None:
    sb.set_limits(enabled=False)
    alice, bob = sb.user("Alice"), sb.user("Bob")
    photo = await alice.send_photo(caption="receipt")
    _, copied = await api(
        "copyMessage", chat_id=bob.id, from_chat_id=alice.id, message_id=photo.message_id
    )
    copy_id = copied["result"]["message_id"]
    assert bob.messages[-1]["message_id"] == copy_id and bob.messages[-1]["caption"] == "receipt"
    assert "forward_origin" not in bob.messages[-1]
    _, fwd = await api(
        "forwardMessage", chat_id=bob.id, from_chat_id=alice.id, message_id=photo.message_id
    )
    assert fwd["result"]["forward_origin"]["sender_user"]["id"] == alice.id
    _, edited = await api(
        "editMessageCaption",
        chat_id=bob.id,
        message_id=copy_id,
        caption="<i>checked</i>",
        parse_mode="HTML",
    )
    assert edited["result"]["caption"] == "checked" and "edit_date" in edited["result"]
    code, body = await api(
        "editMessageText", chat_id=bob.id, message_id=copy_id, text="not a text message"
    )
    assert (code, body["description"]) == (
        400,
        "Bad Request: there is no text in the message to edit",
    )
    assert (await api("deleteMessage", chat_id=bob.id, message_id=copy_id))[0] == 200
    code, body = await api("deleteMessage", chat_id=bob.id, message_id=copy_id)
    assert (code, body["description"]) == (400, "Bad Request: message to delete not found")
    assert [m.message_id for m in bob.messages] == [fwd["result"]["message_id"]]


async def test_message_ids_are_per_chat_and_increase(sb: Sandbox, api) -> None:
    alice, bob = sb.user("Alice"), sb.user("Bob")
    ids = []
    for chat in (alice, bob, alice):
        _, body = await api("sendMessage", chat_id=chat.id, text="x")
        ids.append(body["result"]["message_id"])
    assert ids == [1, 1, 2]


async def test_group_conversation_with_ptb(sb: Sandbox, run_bot) -> None:
    alice, bob = sb.user("Alice"), sb.user("Bob")
    sb.set_privacy(False)  # an echo bot must read plain messages: privacy mode off, then added
    group = sb.group("Friends", members=[alice, bob])
    async with run_bot("ptb", "polling"):
        await bob.in_chat(group).send("hello group")
        reply = await group.wait_for_message(timeout=5)
        assert reply.text == "hello group" and reply["chat"]["type"] == "group"
        assert reply["reply_to_message"]["from"]["id"] == bob.id  # PTB's reply_text quotes


async def test_user_upload_downloaded_by_ptb_bot(sb: Sandbox) -> None:
    from telegram import Bot

    alice = sb.user("Alice")
    sent = await alice.send_document(b"col1,col2\n1,2\n", "stock.csv", mime_type="text/csv")
    file_id = sent["document"]["file_id"]
    async with Bot(
        sb.token, base_url=f"{sb.api_url}/bot", base_file_url=f"{sb.api_url}/file/bot"
    ) as bot:
        tg_file = await bot.get_file(file_id)
        data = await tg_file.download_as_bytearray()
    assert bytes(data) == b"col1,col2\n1,2\n"


async def test_webhook_response_can_carry_a_method_call(sb: Sandbox, api) -> None:
    """Telegram executes a method a bot returns as its webhook response."""
    alice = sb.user("Alice")

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        body = {"method": "sendMessage", "chat_id": chat_id, "text": "answered inline"}
        return web.Response(text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await api("setWebhook", url=f"http://127.0.0.1:{port}/hook")
        await alice.send("hi")
        assert (await alice.wait_for_message(timeout=5)).text == "answered inline"
    finally:
        await runner.cleanup()


async def test_python_m_sandbox_runs_standalone() -> None:
    """`python -m sandbox --port N` prints its address and a token, then serves the Bot API."""
    import asyncio
    import re
    import sys

    import aiohttp

    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", str(port), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert f"http://127.0.0.1:{port}" in line
        token = re.search(r"token (\d+:\S+);", line)
        assert token is not None
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{port}/bot{token.group(1)}/getMe") as r,
        ):
            me = await r.json()
        assert me["ok"] and me["result"]["id"] == int(token.group(1).split(":")[0])
    finally:
        proc.terminate()
        await proc.wait()
