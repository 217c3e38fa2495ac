"""Start-up of `shopbot run`: seconds from the command to the page, the printed address, polling
and the first reply, each run in a fresh folder, against references measured in the same run.

    .venv/bin/python -m bench.startup                       # 3 runs of each row
    .venv/bin/python -m bench.startup --runs 5 --reference main~3

Rows (each a `python -m bot run` subprocess, timed from its start):
- offline, first start: no BOT_TOKEN in an empty folder (a fresh clone: database created, demo
  shop drawn and filled); a customer sends /start the moment the page answers.
- offline, restart: the same folder again (the database and the demo shop are there).
- token: a real-looking token against a sandbox Bot API server in this process (stands in for
  api.telegram.org); a customer's /start waits there from the start.

Columns: page (offline: the chat page "/" answers 200; token: the bot's /health), address (the
offline line "No BOT_TOKEN: ... at http://..." read on stdout), polling (the bot's first
getUpdates), first reply (the bot's answer to that /start is in the chat), and the bot's own
account of its phases (the "shop bot running" log line). References: `python -c pass`,
`python -c "import aiogram"` (what aiogram's import alone costs on this machine now), and with
`--reference REV` the same rows for that commit (its tree unpacked with `git archive`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LINE = "No BOT_TOKEN: the shop runs on the local Telegram sandbox at "
TIMEOUT = 60.0  # seconds a run may take to answer before it counts as failed
PUBLIC = "web:\n  public_url: https://shop.example.com\n"  # with a token, links must be public
COLUMNS = ("page", "address", "polling", "first reply")
FRAMEWORK = {"name": "aiogram"}  # --framework: the bots this run starts


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(tree: Path, **extra: str) -> dict[str, str]:
    """This environment without shopbot settings or token, `tree` first on the import path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHOPBOT_") and k != "BOT_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    return env | extra


class Lines:
    """A pipe's lines as they come, each with the second (since `started`) it was read."""

    def __init__(self, pipe: Any, started: float) -> None:
        self.seen: list[tuple[float, str]] = []
        self._started = started
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: Any) -> None:
        for line in pipe:
            self.seen.append((time.monotonic() - self._started, line.rstrip("\n")))

    def first(self, part: str) -> tuple[float, str] | None:
        """The first line containing `part`."""
        return next(((t, line) for t, line in self.seen if part in line), None)


@dataclass
class Run:
    """One start: seconds to each moment (None: not seen), the bot's phases line."""

    seconds: dict[str, float | None] = field(default_factory=dict)
    phases: str = ""


def http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    """The result of a sandbox control API call."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["result"]


def answers(url: str) -> bool:
    """True when `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextmanager
def bot_process(tree: Path, folder: Path, port: int, **env: str) -> Iterator[
        tuple[subprocess.Popen[str], Lines, Lines, float]]:
    """`python -m bot run --port PORT` in `folder`; stopped (Ctrl-C) afterwards."""
    started = time.monotonic()
    env = {"SHOPBOT_FRAMEWORK": FRAMEWORK["name"]} | env
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(port)],
                            cwd=folder, env=child_env(tree, **env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = Lines(proc.stdout, started), Lines(proc.stderr, started)
    try:
        yield proc, out, err, started
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def phases_of(err: Lines) -> str:
    """The phases the bot logged with "shop bot running", if it did."""
    found = err.first("shop bot running")
    return found[1].split("shop bot running", 1)[1].strip() if found else ""


async def offline_run(tree: Path, folder: Path) -> Run:
    """`shopbot run` without a token in `folder`; a new customer's /start as the page answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = Run()
    with bot_process(tree, folder, port) as (proc, out, err, started):
        def since() -> float:
            return time.monotonic() - started

        while not answers(base + "/"):
            if proc.poll() is not None or since() > TIMEOUT:
                raise RuntimeError(f"no page: {err.seen[-3:]}")
            await asyncio.sleep(0.01)
        run.seconds["page"] = since()
        customer = http_json(base + "/sandbox/users", {"first_name": "Bench"})
        http_json(f"{base}/sandbox/chats/{customer['id']}/messages",
                  {"user_id": customer["id"], "text": "/start"})
        while run.seconds.get("first reply") is None and since() < TIMEOUT:
            if run.seconds.get("polling") is None and any(
                    b["connected"] for b in http_json(base + "/sandbox/info")["bots"]):
                run.seconds["polling"] = since()
            chat = http_json(f"{base}/sandbox/chats/{customer['id']}/messages")
            if any(m.get("from", {}).get("is_bot") for m in chat):
                run.seconds["first reply"] = since()
                run.seconds.setdefault("polling", since())
            await asyncio.sleep(0.02)
        address = out.first(LINE)
        run.seconds["address"] = address[0] if address else None
        await asyncio.sleep(0.2)  # the phases line follows polling by a moment
        run.phases = phases_of(err)
    return run


async def token_run(tree: Path, folder: Path) -> Run:
    """`shopbot run` with a token against a sandbox here; a customer's /start waits there."""
    from sandbox.testing import running_sandbox

    (folder / "config.yaml").write_text(PUBLIC, encoding="utf-8")
    run = Run()
    async with running_sandbox() as telegram:
        customer = telegram.user("Bench")
        port = free_port()
        with bot_process(tree, folder, port, BOT_TOKEN=telegram.token,
                         SHOPBOT_TELEGRAM_API_URL=telegram.api_url) as (proc, _out, err, started):
            def since() -> float:
                return time.monotonic() - started

            await customer.command("/start")
            health = f"http://127.0.0.1:{port}/health"
            while run.seconds.get("first reply") is None:
                if proc.poll() is not None or since() > TIMEOUT:
                    raise RuntimeError(f"no reply: {err.seen[-3:]}")
                if run.seconds.get("page") is None and await asyncio.to_thread(answers, health):
                    run.seconds["page"] = since()
                if run.seconds.get("polling") is None and telegram.requests("getUpdates"):
                    run.seconds["polling"] = since()
                if customer.bot_messages:
                    run.seconds["first reply"] = since()
                await asyncio.sleep(0.01)
            ready = err.first("shop bot running")
            run.seconds["address"] = ready[0] if ready else None  # no address: the ready line
            run.phases = phases_of(err)
    return run


def python_reference(code: str, runs: int) -> list[float]:
    """Wall seconds of `python -c CODE`, `runs` times."""
    times = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", code], check=True, env=child_env(REPO))
        times.append(time.monotonic() - started)
    return times


# What `shopbot run` imports, offline on aiogram (the framework in its thread, the rest first;
# Alembic and Pillow only in its child process, bot.prepare).
RUN_IMPORTS = ("bot.__main__, bot.app, bot.prepare, sandbox.testing, bot.web, scheduler, "
               "bot.outbox_sender, bot.runtimes.aiogram")


def import_costs(modules: str = RUN_IMPORTS) -> list[tuple[str, float]]:
    """Seconds of import (python -X importtime, self times summed per top-level package)."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {modules}"],
                         check=True, capture_output=True, text=True, cwd=REPO,
                         env=child_env(REPO)).stderr
    costs: dict[str, float] = {}
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        top = parts[2].strip().split(".")[0]
        costs[top] = costs.get(top, 0.0) + int(parts[0]) / 1e6
    return sorted(costs.items(), key=lambda item: -item[1])


def unpack(revision: str, into: Path) -> Path:
    """The tree of `revision` of this repository, unpacked in `into`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def cell(values: list[float | None]) -> str:
    """median (max) of the values seen; "-" when none was."""
    seen = [v for v in values if v is not None]
    if not seen:
        return "-"
    missing = len(values) - len(seen)
    return f"{statistics.median(seen):.2f} ({max(seen):.2f})" + (f" {missing} missing"
                                                                   if missing else "")


async def measure(tree: Path, label: str, runs: int, modes: list[str]) -> list[list[str]]:
    """The rows of one tree: each mode `runs` times."""
    rows: list[list[str]] = []
    collected: dict[str, list[Run]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="shopbot-startup-") as tmp:
            if "offline" in modes:
                collected.setdefault("offline, first start", []).append(
                    await offline_run(tree, Path(tmp)))
                collected.setdefault("offline, restart", []).append(
                    await offline_run(tree, Path(tmp)))
        if "token" in modes:
            with tempfile.TemporaryDirectory(prefix="shopbot-startup-") as tmp:
                collected.setdefault("token", []).append(await token_run(tree, Path(tmp)))
    for name, done in collected.items():
        rows.append([label, name, *(cell([r.seconds.get(c) for r in done]) for c in COLUMNS),
                     done[-1].phases or "-"])
    return rows


def table(rows: list[list[str]]) -> str:
    """A plain text table."""
    head = ["code", "row", *COLUMNS, "phases (last run, as the bot logged them)"]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
             for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    modes = args.modes.split(",")
    FRAMEWORK["name"] = args.framework
    print(f"seconds from the start of `python -m bot run` on {args.framework}, median (max) of "
          f"{args.runs} runs")
    rows = await measure(REPO, "this tree", args.runs, modes)
    if args.reference:
        with tempfile.TemporaryDirectory(prefix="shopbot-ref-") as tmp:
            tree = unpack(args.reference, Path(tmp))
            rows += await measure(tree, args.reference, args.runs, modes)
    print(table(rows))
    print()
    for code in ("pass", "import aiogram", "import telegram"):
        times = python_reference(code, args.runs)
        print(f"python -c {code!r:18} {statistics.median(times):.2f} s ({max(times):.2f})")
    costs = import_costs()
    total = sum(seconds for _, seconds in costs)
    print(f"\nimports of `shopbot run` (offline, aiogram), python -X importtime, {total:.2f} s:")
    for package, seconds in costs[:args.top]:
        print(f"  {seconds:6.2f} s  {100 * seconds / total:4.0f} %  {package}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="starts of each row (3)")
    parser.add_argument("--modes", default="offline,token", help="offline, token or both")
    parser.add_argument("--framework", default="aiogram", choices=("aiogram", "ptb"))
    parser.add_argument("--top", type=int, default=15, help="packages in the import table")
    parser.add_argument("--reference", metavar="REV",
                        help="also measure this commit (e.g. main, HEAD~3) in the same run")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
