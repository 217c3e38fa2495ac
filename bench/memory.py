"""Memory of `shopbot run`: resident set (RSS) idle with a token and offline, and offline after
rounds of simulated customers; what each library costs to import.

    .venv/bin/python -m bench.memory                               # everything, 3 rounds of 1,000
    .venv/bin/python -m bench.memory --customers 50 --rounds 2     # a quick look

Parts (each `python -m bot run` a subprocess in a fresh folder, RSS read from /proc):
- idle: with a real-looking token against a sandbox Bot API server in this process (stands in
  for api.telegram.org), on each framework; and offline (no token: the sandbox, its page and the
  demo shop in the bot's process). RSS once the bot polls and `--settle` seconds have passed.
- rounds: one offline process; each round `--customers` new customers (created on the sandbox
  control API, as the page does) each send /start, tap Catalog and a category (`--concurrency` at
  a time); after each round its RSS and what the sandbox keeps (GET /sandbox/info "kept": chats,
  messages, logged calls, pending queries). Bounded: the kept counts stop at the demo's bounds
  (bot/offline.py) and RSS stops growing after the first rounds.
- imports: RSS of `python -c "import X"` minus that of `python -c pass`, for each library the
  bot uses (what the process holds before it does anything).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bench.startup import LINE, PUBLIC, REPO, bot_process, child_env, free_port

BOT = "import bot.app"
# (what, imported, over what): the libraries over a bare interpreter, the lazy ones over the bot.
IMPORTS = (
    ("aiogram", "import aiogram", "pass"),
    ("python-telegram-bot", "import telegram.ext", "pass"),
    ("SQLAlchemy + the models", "import sqlalchemy.ext.asyncio, models", "pass"),
    ("the bot without a framework (bot.app)", BOT, "pass"),
    ("the sandbox (offline mode), over bot.app", f"{BOT}, sandbox.testing", BOT),
    ("reportlab (a shipping slip), over bot.app", f"{BOT}, services.shipping.slip", BOT),
    ("matplotlib (the /stats chart), over bot.app", f"{BOT}, matplotlib.pyplot", BOT),
    ("Alembic (bot.prepare's child), over bot.app", f"{BOT}, alembic.command, alembic.script",
     BOT),
    ("Pillow (the demo's pictures, bot.prepare's child), over bot.app",
     f"{BOT}, PIL.ImageDraw, PIL.ImageFont", BOT),
)


def rss_mib(pid: int) -> float:
    """Resident set of a process, MiB."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


async def wait_until(check: Any, timeout: float = 120) -> None:
    """Until `check()` is true (AssertionError after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


async def idle_token(framework: str, settle: float) -> float:
    """RSS of a bot with a token, polling a sandbox in this process, idle."""
    from sandbox.testing import running_sandbox

    with tempfile.TemporaryDirectory(prefix="shopbot-memory-") as tmp:
        (Path(tmp) / "config.yaml").write_text(PUBLIC, encoding="utf-8")
        async with running_sandbox() as telegram:
            with bot_process(REPO, Path(tmp), free_port(), BOT_TOKEN=telegram.token,
                             SHOPBOT_TELEGRAM_API_URL=telegram.api_url,
                             SHOPBOT_FRAMEWORK=framework) as (proc, _out, _err, _):
                async def polls() -> bool:
                    return bool(telegram.requests("getUpdates"))

                await wait_until(polls)
                await asyncio.sleep(settle)
                return rss_mib(proc.pid)


@contextlib.asynccontextmanager
async def offline_bot(folder: Path) -> AsyncIterator[tuple[int, str, aiohttp.ClientSession]]:
    """An offline `shopbot run`, polling: its pid, its address and a client session."""
    port = free_port()
    with bot_process(REPO, folder, port) as (proc, out, _err, _):
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async def polls() -> bool:
                if not out.first(LINE):
                    return False
                info = await control(http, base + "/sandbox/info")
                return any(bot["connected"] for bot in info["bots"])

            await wait_until(polls)
            yield proc.pid, base, http


async def control(http: aiohttp.ClientSession, url: str, body: dict[str, Any] | None = None
                  ) -> Any:
    """A sandbox control API call's result."""
    if body is None:
        async with http.get(url) as response:
            return (await response.json())["result"]
    async with http.post(url, json=body) as response:
        data = await response.json()
        if not data.get("ok"):
            raise AssertionError(f"{url}: {data}")
        return data["result"]


class BotMessages:
    """Counts the bot's messages per chat from the sandbox's event stream."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.changed = asyncio.Event()

    async def follow(self, http: aiohttp.ClientSession, base: str) -> None:
        """Read /sandbox/events until cancelled."""
        async with http.get(base + "/sandbox/events",
                            timeout=aiohttp.ClientTimeout(total=None)) as response:
            async for raw in response.content:
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event.get("type") in ("message", "edit") and event.get("from_bot", True):
                    chat = int(event["chat_id"])
                    self.seen[chat] = self.seen.get(chat, 0) + 1
                    self.changed.set()

    async def after(self, chat: int, count: int, timeout: float = 60) -> None:
        """Until the bot has sent or edited more than `count` messages in `chat`."""
        deadline = time.monotonic() + timeout
        while self.seen.get(chat, 0) <= count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot never answered in chat {chat}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 1)


async def customer(http: aiohttp.ClientSession, base: str, bot: BotMessages, n: int) -> None:
    """A new customer: /start, Catalog (reply keyboard), the first category (inline)."""
    user = await control(http, base + "/sandbox/users", {"first_name": f"Customer {n}"})
    chat = user["id"]
    before = bot.seen.get(chat, 0)
    await control(http, f"{base}/sandbox/chats/{chat}/messages",
                  {"user_id": chat, "text": "/start"})
    await bot.after(chat, before)
    before = bot.seen.get(chat, 0)
    await control(http, f"{base}/sandbox/chats/{chat}/click",
                  {"user_id": chat, "button": "Catalog"})
    await bot.after(chat, before)
    messages = await control(http, f"{base}/sandbox/chats/{chat}/messages")
    inline = [m for m in messages if (m.get("reply_markup") or {}).get("inline_keyboard")]
    if inline:
        first = inline[-1]["reply_markup"]["inline_keyboard"][0][0]["text"]
        await control(http, f"{base}/sandbox/chats/{chat}/click",
                      {"user_id": chat, "button": first,
                       "message_id": inline[-1]["message_id"]})


async def rounds(customers: int, count: int, concurrency: int, settle: float
                 ) -> tuple[float, list[tuple[int, float, dict[str, int]]]]:
    """Idle offline RSS, then RSS and kept history after each round of new customers."""
    done: list[tuple[int, float, dict[str, int]]] = []
    with tempfile.TemporaryDirectory(prefix="shopbot-memory-") as tmp:
        async with offline_bot(Path(tmp)) as (pid, base, http):
            await asyncio.sleep(settle)
            idle = rss_mib(pid)
            bot = BotMessages()
            following = asyncio.create_task(bot.follow(http, base))
            gate = asyncio.Semaphore(concurrency)
            numbers = iter(range(1, customers * count + 1))
            try:
                for round_no in range(1, count + 1):
                    async def one(n: int) -> None:
                        async with gate:
                            await customer(http, base, bot, n)

                    await asyncio.gather(*(one(next(numbers)) for _ in range(customers)))
                    await asyncio.sleep(settle)
                    info = await control(http, base + "/sandbox/info")
                    done.append((round_no, rss_mib(pid), info["kept"]))
                    print(f"  round {round_no}: {done[-1][1]:.0f} MiB, kept {done[-1][2]}",
                          flush=True)
            finally:
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                    await following
    return idle, done


def import_costs() -> list[tuple[str, float]]:
    """MiB each library adds once imported (to a bare interpreter, or to the bot)."""
    def rss_of(code: str) -> float:
        probe = (f"{code}\nimport gc; gc.collect()\n"
                 "print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])")
        out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                             text=True, env=child_env(REPO), cwd=REPO).stdout
        return int(out.split()[-1]) / 1024

    bases = {base: rss_of(base) for base in {base for _, _, base in IMPORTS}}
    return [("python -c pass (absolute)", bases["pass"])] + [
        (name, rss_of(code) - bases[base]) for name, code, base in IMPORTS]


async def main_async(args: argparse.Namespace) -> None:
    parts = args.parts.split(",")
    if "imports" in parts:
        print("MiB a library adds when imported:")
        for name, mib in import_costs():
            print(f"  {mib:7.1f}  {name}")
    if "idle" in parts:
        print(f"idle RSS, MiB, {args.settle:.0f} s after the bot polls:")
        for framework in args.frameworks.split(","):
            print(f"  token, {framework:8} {await idle_token(framework, args.settle):7.1f}",
                  flush=True)
    if "rounds" in parts:
        print(f"offline, rounds of {args.customers} new customers "
              f"({args.concurrency} at a time):", flush=True)
        idle, done = await rounds(args.customers, args.rounds, args.concurrency, args.settle)
        print(f"  {'idle':>8}  {idle:7.1f} MiB")
        for round_no, mib, kept in done:
            print(f"  round {round_no:>2}  {mib:7.1f} MiB  (+{mib - idle:.1f})  kept: "
                  + ", ".join(f"{k} {v}" for k, v in kept.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="imports,idle,rounds")
    parser.add_argument("--frameworks", default="aiogram,ptb")
    parser.add_argument("--customers", type=int, default=1000, help="per round (1000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds idle before RSS is read (3)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
