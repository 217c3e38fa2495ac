"""`shopbot run` without BOT_TOKEN on a fresh clone: the page answers within seconds on the
printed address, the bot behind it answers, payment links open from the same address,
Ctrl-C stops everything; a taken port or an unwritable database is one line and exit code 2."""
from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import running_sandbox
from tests.offline import (
    LINE,
    OfflineShop,
    clean_env,
    first_ok,
    free_port,
    running_offline,
    start,
)


def call(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The sandbox control API: result of a JSON call."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["result"]


def get(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get_content_type(), response.read()


def test_the_page_answers_within_10_seconds_on_the_printed_address(tmp_path: Path) -> None:
    port = free_port()
    with running_offline(tmp_path, port) as shop:
        assert shop.seconds_to_page < 10, f"first 200 after {shop.seconds_to_page:.1f} s"
        assert shop.address == f"http://127.0.0.1:{port}"
        status, kind, body = get(shop.address + "/")
        assert (status, kind) == (200, "text/html") and b"/web/app.js" in body
        assert get(shop.address + "/web/app.js")[1] == "text/javascript"
        assert get(shop.address + "/web/style.css")[1] == "text/css"
        # The bot's own web app is behind the same address (once the bot is up: the address
        # is printed while it starts).
        first_ok(shop.address + "/health", time.monotonic(), 30)
        assert json.loads(get(shop.address + "/health")[2]) == {"ok": True}
        assert shop.proc.stdout is not None
        assert shop.stop() == 0
        assert shop.proc.stdout.read() == ""  # one line, printed once
        assert "Traceback" not in (shop.proc.stderr.read() if shop.proc.stderr else "")


def test_the_address_is_printed_as_soon_as_the_page_answers(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, "run", "--port", str(port))
    try:
        first_ok(f"http://127.0.0.1:{port}/", time.monotonic(), 30)
        # The line was written before the page could answer: it is waiting in the pipe now,
        # not seconds later, after the demo data and the bot's imports.
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 0)
        assert ready, "the page answered before its address was printed"
        assert proc.stdout.readline().startswith(LINE)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_the_demo_world_a_merchant_admin_chat_support_forum_and_a_customer(tmp_path: Path) -> None:
    with running_offline(tmp_path) as shop:
        chats = call(shop.address, "/sandbox/chats")
        page = call(shop.address, "/sandbox/page")
        titles = {c.get("title") for c in chats}
        assert {"Demo Shop admins", "Demo Shop support"} <= titles
        forum = next(c for c in chats if c.get("title") == "Demo Shop support")
        assert forum["is_forum"] is True
        merchant = page["hidden_chats"][0]
        admin = next(c for c in chats if c.get("title") == "Demo Shop admins")
        assert admin["members"][str(merchant)] == "creator"
        customers = [c for c in chats if c["type"] == "private" and c["id"] not in page["hidden_chats"]]
        assert [c["first_name"] for c in customers] == ["Alice"]
        alice = customers[0]["id"]
        call(shop.address, f"/sandbox/chats/{alice}/messages", {"user_id": alice, "text": "/start"})
        texts = wait_for_text(shop.address, alice, "Welcome to Demo Shop")
        assert any("Alice" in t for t in texts)
        keyboard = call(shop.address, f"/sandbox/chats/{alice}/keyboard")
        assert keyboard and any("Catalog" in b["text"] for row in keyboard["keyboard"] for b in row)
        assert shop.sqlite("SELECT count(*) FROM products") == [(20,)]
        assert shop.stop() == 0


def test_a_customer_added_in_chinese_is_answered_in_chinese(tmp_path: Path) -> None:
    with running_offline(tmp_path) as shop:
        user = call(shop.address, "/sandbox/users", {"first_name": "李雷", "language_code": "zh-hans"})
        call(shop.address, f"/sandbox/chats/{user['id']}/messages",
             {"user_id": user["id"], "text": "/start"})
        assert wait_for_text(shop.address, user["id"], "李雷")


def wait_for_text(base: str, chat_id: int, part: str, timeout: float = 20) -> list[str]:
    """Texts of the chat once one contains `part`."""
    deadline = time.monotonic() + timeout
    texts: list[str] = []
    while time.monotonic() < deadline:
        texts = [m.get("text", "") for m in call(base, f"/sandbox/chats/{chat_id}/messages")]
        if any(part in t for t in texts):
            return texts
        time.sleep(0.1)
    raise AssertionError(f"never said {part!r}: {texts}")


def problems(stderr: str) -> list[str]:
    """Everything `shopbot run` wrote to stderr: on a failed start, one line saying what is wrong."""
    assert "Traceback" not in stderr, stderr
    return stderr.splitlines()


def test_a_port_in_use_is_one_line_and_code_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start(tmp_path, "run", "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert problems(err) == [(f"config error: web.port: 127.0.0.1:{port} is already in use "
                              "(stop the other program or choose another port with --port)")]
    assert LINE not in out


def test_a_host_that_is_not_ours_is_one_line_and_code_2(tmp_path: Path) -> None:
    proc = start(tmp_path, "run", "--host", "192.0.2.1", "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    lines = problems(err)
    assert len(lines) == 1 and lines[0].startswith("config error: web.host: cannot listen on "
                                                   "192.0.2.1:"), err


def test_an_unwritable_database_path_is_one_line_and_code_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'shop.db'}"
    proc = start(tmp_path, "run", "--port", str(free_port()), SHOPBOT_DATABASE_URL=url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    lines = problems(err)
    assert len(lines) == 1 and lines[0].startswith("database error: cannot create the folder"), err
    assert "a-file" in lines[0] and LINE not in out


async def test_with_a_token_there_is_no_sandbox_and_no_page(tmp_path: Path) -> None:
    async with running_sandbox() as telegram:  # stands in for api.telegram.org
        port = free_port()
        # With a token, the sandbox provider's links must be public (bot/public_links.py).
        (tmp_path / "config.yaml").write_text("web:\n  public_url: https://shop.example.com\n",
                                              encoding="utf-8")
        proc = start(tmp_path, "run", "--port", str(port), BOT_TOKEN=telegram.token,
                     SHOPBOT_TELEGRAM_API_URL=telegram.api_url)
        try:
            base = f"http://127.0.0.1:{port}"
            await asyncio.to_thread(first_ok, base + "/health", time.monotonic(), 30)
            with pytest.raises(urllib.error.HTTPError) as page:
                await asyncio.to_thread(get, base + "/")
            assert page.value.code == 404
            with pytest.raises(urllib.error.HTTPError):
                await asyncio.to_thread(get, base + "/sandbox/info")
            deadline = time.monotonic() + 20
            while not telegram.requests("getUpdates"):  # the bot polls the server it was given
                assert time.monotonic() < deadline, "the bot never polled"
                await asyncio.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)
            out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
        assert proc.returncode == 0
        assert LINE not in out


def test_ctrl_c_while_starting_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, "run", "--port", str(port))
    first_ok(f"http://127.0.0.1:{port}/", time.monotonic(), 30)  # the page is up, the bot not yet
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and " ERROR " not in err, err


def test_ctrl_c_in_the_terminal_while_starting_stops_cleanly(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the whole process group, the schema upgrade's child process
    too (bot.prepare.prepare_in_child): the bot still stops cleanly, no error."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(port)],
                            cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    first_ok(f"http://127.0.0.1:{port}/", time.monotonic(), 30)  # the upgrade starts now
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and " ERROR " not in err and "error" not in err, err


def _alice(shop: OfflineShop) -> int:
    page = call(shop.address, "/sandbox/page")
    chats = call(shop.address, "/sandbox/chats")
    return next(c["id"] for c in chats
                if c["type"] == "private" and c["id"] not in page["hidden_chats"])


def _start_answered(shop: OfflineShop) -> int:
    """Alice sends /start on this run's page and is welcomed; the bot's id."""
    alice = _alice(shop)
    call(shop.address, f"/sandbox/chats/{alice}/messages", {"user_id": alice, "text": "/start"})
    wait_for_text(shop.address, alice, "Welcome to Demo Shop")
    return int(call(shop.address, "/sandbox/info")["bots"][0]["id"])


def test_a_restarted_demo_answers_the_customer(tmp_path: Path) -> None:
    """Stopped, started again on the same data, killed, started again: /start is always answered
    (the sandbox goes on numbering updates, as Telegram does; the same bot answers)."""
    with running_offline(tmp_path) as shop:
        first = _start_answered(shop)
        assert shop.stop() == 0
    with running_offline(tmp_path) as shop:
        assert _start_answered(shop) == first
        shop.proc.kill()  # kill -9: nothing is saved on the way out
        shop.proc.wait()
    with running_offline(tmp_path) as shop:
        assert _start_answered(shop) == first
        # The first /start wrote (a new customer): its update is on record, and the sandbox's
        # numbering went on past it, or the later /starts would have been taken for repeats.
        handled = shop.sqlite("SELECT count(*) FROM processed_updates")[0][0]
        assert handled >= 1
        assert shop.stop() == 0
