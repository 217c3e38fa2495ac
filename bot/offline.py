"""No BOT_TOKEN: the sandbox Bot API server in this process, a demo world in it, one address.

The sandbox listens on web.host:web.port and serves the chat page at "/"; the bot's own web app
(health, the sandbox payment page) listens on a private loopback port behind it, and the
sandbox forwards every path it does not know there. So the address printed at start opens the
page, and the payment links the bot sends (web.public_url or http://host:port) open from it.
"""
from __future__ import annotations

import contextlib
import errno
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import AppConfig, ConfigError

# The demo's parcels arrive in minutes (services.shipping.sandbox_carrier.DEMO_PACE): tracking
# is polled often enough to see each step soon after it happens.
DEMO_POLL_SECONDS = 20.0
# What the demo's sandbox keeps (sandbox.server.models.SandboxConfig): a demo left running with
# many customers stays within a few tens of MiB instead of growing with every chat. The page
# shows each chat's newest messages; older ones are gone as deleted messages are.
DEMO_KEEP_MESSAGES, DEMO_KEEP_CHATS, DEMO_KEEP_CALLS = 200, 50, 1000

if TYPE_CHECKING:  # the sandbox is imported only when it runs (no token)
    from sandbox.testing import Sandbox
    from sandbox.web import PageSettings


@dataclass(frozen=True)
class OfflineWorld:
    """The running sandbox, the config pointed at its demo chats, and the page's settings."""

    sandbox: Sandbox
    config: AppConfig
    page: PageSettings

    @property
    def address(self) -> str:
        """Where a person opens the page (and the payment links)."""
        return page_address(self.config)

    def web_config(self) -> AppConfig:
        """The config the bot's web app listens with: a free loopback port behind the page."""
        from sandbox.server.app import free_port

        port = free_port("127.0.0.1")
        self.page.upstream = f"http://127.0.0.1:{port}"
        web = self.config.web.model_copy(update={"host": "127.0.0.1", "port": port})
        return self.config.model_copy(update={"web": web})


def page_address(config: AppConfig) -> str:
    """web.public_url, or http://host:port with a wildcard host shown as 127.0.0.1."""
    if config.web.public_url:
        return str(config.web.public_url).rstrip("/")
    host = "127.0.0.1" if config.web.host in ("0.0.0.0", "::", "") else config.web.host
    return f"http://{host}:{config.web.port}"


def memory_file(config: AppConfig) -> Path:
    """Where the demo's sandbox keeps its bot and update numbering: beside the database file
    (a restart on the same data goes on counting, as Telegram does), else beside the media."""
    from sqlalchemy.engine import make_url

    url = make_url(config.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.stem + ".sandbox.json")
    return Path(config.shop.media_dir).parent / "sandbox.json"


def listen_error(host: str, port: int, error: OSError) -> ConfigError:
    """One line for a port that is taken or a host that is not ours."""
    if error.errno == errno.EADDRINUSE:
        return ConfigError("web.port", f"{host}:{port} is already in use (stop the other "
                                       "program or choose another port with --port)")
    reason = error.strerror or str(error)
    return ConfigError("web.host", f"cannot listen on {host}:{port}: {reason} "
                                   "(choose another address with --host)")


async def start_offline(config: AppConfig, stack: contextlib.AsyncExitStack) -> OfflineWorld:
    """Start the sandbox on web.host:web.port and create the demo merchant, chats and customer."""
    from sandbox.testing import running_sandbox
    from sandbox.web import PAGE_KEY

    try:
        sandbox = await stack.enter_async_context(
            running_sandbox(host=config.web.host, port=config.web.port,
                            memory=memory_file(config), keep_messages=DEMO_KEEP_MESSAGES,
                            keep_chats=DEMO_KEEP_CHATS, keep_calls=DEMO_KEEP_CALLS))
    except OSError as error:
        raise listen_error(config.web.host, config.web.port, error) from None
    merchant = sandbox.user("Demo merchant", username="demo_merchant")
    # Set up as README says: the bot a plain member of the admin group (answers come as
    # replies), an admin who manages topics in the support forum.
    admin_chat = sandbox.group(f"{config.shop.name} admins", members=[merchant],
                               supergroup=True)
    support = sandbox.forum(f"{config.shop.name} support", members=[merchant])
    sandbox.user("Alice", language_code="en", phone_number="+8613800138000")
    page = sandbox.server.app[PAGE_KEY]
    page.title = config.shop.name
    page.hidden_chats.add(merchant.user.id)  # the merchant acts in the groups, not in private
    # The demo chats exist only in this sandbox: they replace whatever config.yaml names.
    config = config.model_copy(update={
        "admin": config.admin.model_copy(update={"chat_id": admin_chat.id,
                                                 "user_ids": (merchant.user.id,)}),
        "support": config.support.model_copy(update={"chat_id": support.id,
                                                     "agents": (merchant.user.id,)}),
        "telegram": config.telegram.model_copy(update={"mode": "polling"}),
        "scheduler": config.scheduler.model_copy(update={
            "poll_tracking": min(config.scheduler.poll_tracking, DEMO_POLL_SECONDS)}),
    })
    return OfflineWorld(sandbox, config, page)
