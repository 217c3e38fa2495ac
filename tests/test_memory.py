"""Memory and start-up: `settle_memory` (what start-up left alive leaves the collector's full
passes; later garbage is still collected); the offline demo's sandbox keeps a bounded history;
heavy libraries are imported only where used; the page answers while the bot starts."""
from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import settle_memory
from tests.e2e.steps import WAIT
from tests.offline import REPO, clean_env, free_port


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_start_up_objects_are_frozen_and_later_garbage_is_still_collected(thawed: None) -> None:
    settle_memory()
    assert gc.get_freeze_count() > 10_000  # modules, classes, the wiring: no longer walked

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]  # a cycle only the collector frees
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


# ---- the offline demo's sandbox keeps a bounded history ------------------------------------

async def test_many_customers_leave_a_bounded_history_and_are_still_answered(
        tmp_path: Path) -> None:
    """The bot on a sandbox bounded as the offline demo's is (smaller): however many customers
    come, the sandbox keeps at most its bounds, counted; a customer whose chat was forgotten is
    answered again, in a chat that goes on numbering."""
    from tests.e2e.harness import running_shop

    async with running_shop(tmp_path, keep_messages=5, keep_chats=4, keep_calls=40) as shop:
        first = shop.customer("First")
        await first.command("/start")
        welcome = await first.wait_for_message(timeout=WAIT)
        for n in range(12):
            customer = shop.customer(f"Customer {n}")
            await customer.command("/start")
            await customer.wait_for_message(timeout=WAIT)
            kept = shop.sandbox.state.kept()
            assert kept["chats"] <= 4 and kept["calls"] <= 40, kept
            assert all(len(h) <= 5 for h in shop.sandbox.state.messages.values())
        assert first.messages == []  # forgotten: the longest idle
        await first.command("/start")
        again = await first.wait_for_message(timeout=WAIT)
        assert "Welcome" in (again.text or "") and again.message_id > welcome.message_id


def test_the_offline_demo_bounds_its_sandbox() -> None:
    from bot.offline import DEMO_KEEP_CALLS, DEMO_KEEP_CHATS, DEMO_KEEP_MESSAGES

    assert DEMO_KEEP_MESSAGES > 0 and DEMO_KEEP_CHATS > 0 and DEMO_KEEP_CALLS > 0


# ---- heavy libraries only where used --------------------------------------------------------

def imported_by(code: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, cwd=REPO, env=clean_env()).stdout
    return set(out.split())


def test_the_aiogram_bot_loads_no_chart_pdf_or_other_framework_library() -> None:
    """Everything `shopbot run` imports for an aiogram bot, offline too: charts, PDFs,
    python-telegram-bot left out, and Alembic and Pillow (the schema upgrade and the demo shop
    run in a child process, bot.prepare)."""
    loaded = imported_by("import bot.__main__, bot.app, bot.web, bot.outbox_sender, scheduler, "
                         "bot.runtimes.aiogram, handlers.admin.commands.reports, "
                         "services.merchant, bot.prepare, bot.offline, sandbox.testing")
    assert {"aiogram", "handlers", "sandbox"} <= loaded  # the probe does load the bot
    assert loaded.isdisjoint({"matplotlib", "reportlab", "telegram", "alembic", "PIL"}), loaded


def test_the_ptb_bot_loads_no_aiogram() -> None:
    loaded = imported_by("import bot.app, bot.web, bot.outbox_sender, scheduler, bot.runtimes.ptb")
    assert "telegram" in loaded
    assert loaded.isdisjoint({"aiogram", "matplotlib", "reportlab"}), loaded


def test_the_cli_and_the_wiring_leave_the_framework_to_its_thread() -> None:
    """`shopbot run` imports the framework in a thread (bot.startup): the modules it runs
    first do not import it."""
    loaded = imported_by("import bot.__main__, bot.app, bot.startup")
    assert loaded.isdisjoint({"aiogram", "telegram", "alembic"}), loaded


# ---- the page works while the bot starts ----------------------------------------------------

async def test_the_page_answers_while_the_bot_waits_for_its_framework(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shopbot run` without a token, in this process, its framework held back: the page, the
    chat list and the control API answer, a customer's /start waits in the sandbox; once the
    framework is there the bot polls and answers it."""
    import aiohttp

    from bot import app
    from bot.config import load_config
    from bot.startup import LibraryImport

    waiting, release = asyncio.Event(), asyncio.Event()

    class HeldImport(LibraryImport):
        async def wait(self) -> None:
            waiting.set()
            await release.wait()
            await super().wait()

    monkeypatch.setattr(app, "LibraryImport", HeldImport)
    port = free_port()
    (tmp_path / "config.yaml").write_text(
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'shop.db'}\n"
        f"shop:\n  media_dir: {tmp_path / 'media'}\nweb:\n  port: {port}\n", encoding="utf-8")
    config = load_config(tmp_path / "config.yaml", env={})
    serving = asyncio.create_task(app.serve(config))
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.wait_for(waiting.wait(), 120)  # the bot waits for its framework now
        async with aiohttp.ClientSession() as http:
            async def get(path: str) -> Any:
                async with http.get(base + path) as response:
                    assert response.status == 200, path
                    if response.content_type == "application/json":
                        return (await response.json())["result"]
                    return await response.text()

            assert "/web/app.js" in await get("/")
            assert [bot["connected"] for bot in (await get("/sandbox/info"))["bots"]] == [False]
            alice = next(c["id"] for c in await get("/sandbox/chats")
                         if c.get("first_name") == "Alice")
            async with http.post(f"{base}/sandbox/chats/{alice}/messages",
                                 json={"user_id": alice, "text": "/start"}) as response:
                assert (await response.json())["ok"] is True
            assert [m["text"] for m in await get(f"/sandbox/chats/{alice}/messages")] == [
                "/start"]
            release.set()
            for _ in range(600):
                texts = [m.get("text", "") for m in await get(f"/sandbox/chats/{alice}/messages")]
                if any("Welcome to Demo Shop" in t for t in texts):
                    break
                await asyncio.sleep(0.1)
            assert any("Welcome to Demo Shop" in t for t in texts), texts
            assert [bot["connected"] for bot in (await get("/sandbox/info"))["bots"]] == [True]
    finally:
        release.set()
        signal.raise_signal(signal.SIGINT)  # serve's own handler: stop as Ctrl-C does
        await asyncio.wait_for(serving, 60)
