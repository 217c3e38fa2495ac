"""The production topology on this machine, without containers: nginx (Debian's package) as the
load balancer in front of several `shopbot run` processes in webhook mode, on PostgreSQL and
Redis, with the sandbox Bot API server (in the caller's process) as Telegram.

nginx runs deploy/nginx/shopbot.conf itself, wrapped in a minimal nginx.conf in a temporary
folder (its upstream servers and listen port replaced by this machine's): the file a shop
deploys is the one tested. Used by tests/reliability/test_topology.py and bench/topology.py.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import normalize_url

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "shopbot.conf"
NGINX = os.environ.get("SHOPBOT_TEST_NGINX", "/usr/sbin/nginx")
SECRET = "topology-secret"
WEBHOOK_PATH = "/telegram/webhook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_path() -> str | None:
    """nginx's binary, or None when it is not installed."""
    return NGINX if Path(NGINX).exists() else shutil.which("nginx")


def nginx_conf(folder: Path, port: int, upstreams: list[int]) -> Path:
    """deploy/nginx/shopbot.conf in a minimal nginx.conf, served on `port`, to `upstreams`."""
    site = SITE.read_text(encoding="utf-8")
    block = re.search(r"upstream shopbot \{.*?\n\}", site, re.DOTALL)
    assert block, "deploy/nginx/shopbot.conf: no upstream shopbot block"
    line = re.search(r"    server \S+( [^\n]*)?\n", block.group())
    assert line, "deploy/nginx/shopbot.conf: no server line in upstream shopbot"
    servers = "".join(f"    server 127.0.0.1:{p}{line.group(1) or ';'}\n" for p in upstreams)
    inside, found = re.subn(r"(?:    server [^\n]*\n)+", lambda _: servers, block.group())
    assert found == 1, "deploy/nginx/shopbot.conf: no server lines in upstream shopbot"
    site = site.replace(block.group(), inside)
    site, found = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    assert found == 1, "deploy/nginx/shopbot.conf: no 'listen 80;'"
    (folder / "site.conf").write_text(site, encoding="utf-8")
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temp).mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(f"""\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '$request_uri $status $upstream_addr';
    access_log {folder}/access.log upstreams;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""", encoding="utf-8")
    return conf


def check_nginx_conf(folder: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on deploy/nginx/shopbot.conf (in the test wrapper)."""
    binary = nginx_path()
    assert binary is not None
    conf = nginx_conf(folder, free_port(), [free_port()])
    return subprocess.run([binary, "-t", "-p", str(folder), "-c", str(conf)],
                          capture_output=True, text=True, check=False)


class Nginx:
    """nginx in the foreground (daemon off), its files in `folder`."""

    def __init__(self, folder: Path, upstreams: list[int]) -> None:
        binary = nginx_path()
        assert binary is not None
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.folder = folder
        conf = nginx_conf(folder, self.port, upstreams)
        self.proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(conf),
                                      "-g", "daemon off;"], stderr=subprocess.PIPE)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        for _ in range(200):
            assert self.proc.poll() is None, self.proc.stderr and self.proc.stderr.read()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("nginx does not listen")

    def answered_by(self) -> Counter[int]:
        """Requests nginx answered 200, by the port of the process that answered (the last
        one it tried)."""
        ports: Counter[int] = Counter()
        for line in (self.folder / "access.log").read_text(encoding="utf-8").splitlines():
            _, status, tried = line.split(" ", 2)
            if status == "200":
                ports[int(tried.rsplit(":", 1)[1])] += 1
        return ports

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Settings:
    """What every bot process of a topology is started with."""

    token: str
    api_url: str
    database_url: str
    redis_url: str
    webhook_url: str | None  # None: no setWebhook (the caller delivers updates itself)
    folder: Path
    scheduler: dict[str, float] = field(default_factory=lambda: {
        "expire_unpaid": 1, "reminders": 5, "stock_back": 5, "outbox": 0.2, "money": 5,
        "auto_complete": 5})


class ShopbotProcess:
    """`python -m bot run` in webhook mode on its own port, its log in a file."""

    def __init__(self, settings: Settings, name: str, port: int | None = None) -> None:
        self.settings = settings
        self.name = name
        self.port = port or free_port()
        self.start()

    def start(self) -> None:
        folder = self.settings.folder
        config = folder / f"{self.name}.yaml"
        config.write_text(_config_yaml(self.settings, self.port, folder), encoding="utf-8")
        env = {**os.environ, "BOT_TOKEN": self.settings.token,
               "SHOPBOT_TELEGRAM_API_URL": self.settings.api_url,
               "SHOPBOT_DATABASE_URL": self.settings.database_url,
               "SHOPBOT_REDIS_URL": self.settings.redis_url,
               "SHOPBOT_WEBHOOK_SECRET": SECRET, "SHOPBOT_SANDBOX_PAYMENT_SECRET": "pay-secret"}
        env.pop("SHOPBOT_WEBHOOK_URL", None)
        if self.settings.webhook_url:
            env["SHOPBOT_WEBHOOK_URL"] = self.settings.webhook_url
        self.log = (folder / f"{self.name}.log").open("a", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config)],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, timeout: float = 90) -> None:
        """Wait until /ready answers 200 (database, schema, Redis, webhook set)."""
        async with aiohttp.ClientSession() as http:
            for _ in range(int(timeout / 0.1)):
                assert self.proc.poll() is None, f"{self.name} exited: {self.log_text()[-2000:]}"
                try:
                    async with http.get(self.url + "/ready") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready: {self.log_text()[-2000:]}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()

    def log_text(self) -> str:
        self.log.flush()
        return (self.settings.folder / f"{self.name}.log").read_text(encoding="utf-8")

    async def metrics(self) -> dict[str, float]:
        """The process's /metrics as {"name{labels}": value}."""
        async with aiohttp.ClientSession() as http, http.get(self.url + "/metrics") as r:
            page = await r.text()
        return parse_metrics(page)


def parse_metrics(page: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in page.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def _config_yaml(settings: Settings, port: int, folder: Path) -> str:
    scheduler = "".join(f"  {k}: {v}\n" for k, v in settings.scheduler.items())
    return f"""\
telegram:
  mode: webhook
  webhook: {{host: 127.0.0.1, port: {port}, path: {WEBHOOK_PATH}}}
web: {{host: 127.0.0.1, port: {port}, public_url: "https://shop.test"}}
shop: {{name: Test Shop, media_dir: {folder / "media"}}}
orders:
  cod: {{requires_completed_order: false}}
payments: {{methods: [sandbox, cod]}}
database: {{pool_size: 10}}
logging: {{level: WARNING}}
scheduler:
{scheduler}"""


@asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[str]:
    """A new empty PostgreSQL database on the server of `url` (dropped afterwards): its URL."""
    name = f"topology_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(normalize_url(url)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class Topology:
    """nginx in front of bot processes; `bots[i]` may be replaced (restarts)."""

    nginx: Nginx | None
    bots: list[ShopbotProcess]
    settings: Settings

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()


@asynccontextmanager
async def topology(settings: Settings, processes: int, balancer: bool = True
                   ) -> AsyncIterator[Topology]:
    """Start `processes` bot processes (ports fixed up front, so nginx knows them) and, with
    `balancer`, nginx in front; the webhook URL is nginx's (set it in `settings` to None to
    deliver by hand)."""
    ports = [free_port() for _ in range(processes)]
    async with AsyncExitStack() as stack:
        nginx = None
        if balancer:
            nginx = Nginx(settings.folder / "nginx", ports)
            stack.callback(nginx.stop)
            await nginx.ready()
            if settings.webhook_url == "nginx":
                settings.webhook_url = nginx.url
        bots = [ShopbotProcess(settings, f"bot{i}", port) for i, port in enumerate(ports)]
        running = Topology(nginx, bots, settings)
        stack.callback(running.stop)
        await asyncio.gather(*(bot.ready() for bot in bots))
        yield running


def summed(samples: list[dict[str, float]], name: str) -> float:
    """A metric summed over processes (and over its label sets when `name` has none)."""
    total = 0.0
    for sample in samples:
        for key, value in sample.items():
            if key == name or (key.startswith(name + "{") and "{" not in name):
                total += value
    return total


def kinds(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")
