"""Start a sandbox in-process for tests and demos (no pytest dependency).

async with running_sandbox(callback_timeout=2) as sb:
    bot = Bot(sb.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.api_url)))
    alice = sb.user("Alice")
    await alice.command("/start")
    reply = await alice.wait_for_message()
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from sandbox.client import SandboxChat, SandboxUser
from sandbox.server import FloodLimits, SandboxConfig, SandboxServer, SandboxState
from sandbox.server.limits import FaultRule
from sandbox.server.models import BotRecord, LogEntry, SimChat
from sandbox.server.persist import SandboxMemory

__all__ = ["Sandbox", "SandboxGroup", "running_sandbox"]


class SandboxGroup(SandboxChat):
    """A group, supergroup or forum; `as_user(u)` gives that member's view to act in it."""

    def as_user(self, user: SandboxUser) -> SandboxChat:
        """The chat as seen (and acted in) by `user`."""
        return user.in_chat(self)

    @property
    def topics(self) -> dict[int, dict[str, Any]]:
        """Forum topics by message_thread_id (with their closed flag)."""
        return {tid: {**t.to_api(), "closed": t.closed} for tid, t in self.chat.topics.items()}


class Sandbox:
    """A running sandbox: URLs, the bot token, and factories for people and chats."""

    def __init__(self, server: SandboxServer, token: str):
        self.server = server
        self.state: SandboxState = server.state
        self.token = token
        self.bot: BotRecord = server.state.bot_for_token(token)
        server.state.default_bot_id = self.bot.id

    @property
    def api_url(self) -> str:
        """Base URL: http://127.0.0.1:PORT (aiogram: TelegramAPIServer.from_base(api_url))."""
        return self.server.url

    @property
    def bot_id(self) -> int:
        """The bot's user id (the digits of the token)."""
        return self.bot.id

    def user(
        self,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        phone_number: str | None = None,
        client_adds_plus: bool = False,
    ) -> SandboxUser:
        """A new simulated user with a private chat with the bot.

        Their app shares their contact as Telegram delivers it (digits, no "+"), or with a
        leading "+" when `client_adds_plus` (as some apps do).
        """
        sim = self.state.create_user(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone_number=phone_number,
            client_adds_plus=client_adds_plus,
        )
        return SandboxUser(self.state, self.bot, sim)

    def group(
        self,
        title: str = "Group",
        *,
        members: list[SandboxUser] | None = None,
        bot_admin: bool = False,
        bot_rights: dict[str, bool] | None = None,
        supergroup: bool = False,
        username: str | None = None,
    ) -> SandboxGroup:
        """A group with the users (first one is the creator) and the bot as member/admin."""
        return self._group(title, members, bot_admin, bot_rights, supergroup, False, username)

    def forum(
        self,
        title: str = "Forum",
        *,
        members: list[SandboxUser] | None = None,
        bot_admin: bool = True,
        bot_rights: dict[str, bool] | None = None,
        username: str | None = None,
    ) -> SandboxGroup:
        """A forum supergroup; by default the bot is an admin with can_manage_topics."""
        rights = (
            bot_rights
            if bot_rights is not None
            else (
                {"can_manage_topics": True, "can_delete_messages": True, "can_pin_messages": True}
                if bot_admin
                else None
            )
        )
        return self._group(title, members, bot_admin, rights, True, True, username)

    def _group(
        self,
        title: str,
        members: list[SandboxUser] | None,
        bot_admin: bool,
        rights: dict[str, bool] | None,
        supergroup: bool,
        forum: bool,
        username: str | None,
    ) -> SandboxGroup:
        owner = members[0].user if members else self.state.create_user("Owner")
        sim: SimChat = self.state.create_group(
            title,
            members=[owner.id] + [m.user.id for m in (members or [])[1:]],
            bot_ids=[self.bot.id],
            bot_admin=bot_admin,
            bot_rights=rights,
            supergroup=supergroup,
            forum=forum,
            username=username,
        )
        return SandboxGroup(self.state, self.bot, sim, owner)

    def set_privacy(self, enabled: bool) -> None:
        """BotFather's /setprivacy: off, the bot reads every message of groups made from now on
        (as in Telegram, where the bot must be added again for the change to apply)."""
        self.state.set_privacy(self.bot, enabled)

    def requests(self, method: str | None = None) -> list[LogEntry]:
        """Every Bot API request the bot made (method, params, result/error, time)."""
        return [e for e in self.state.log if method is None or e.method.lower() == method.lower()]

    def inject_fault(
        self,
        kind: str,
        count: int = 1,
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        delay: float = 0.0,
        retry_after: int = 1,
    ) -> FaultRule:
        """Next `count` matching calls fail: "429", "500", "502", "drop" or "delay"."""
        return self.state.faults.add(kind, count, method, chat_id, delay, retry_after)

    def inject_webhook_fault(self, kind: str = "wrong_secret", count: int = 1) -> None:
        """Corrupt the next webhook deliveries (wrong secret header) to exercise retries."""
        self.state.webhook_faults.append({"kind": kind, "count": count, "bot_id": self.bot.id})

    def set_limits(self, **limits: Any) -> FloodLimits:
        """Adjust flood limits (see FloodLimits fields); enabled=False turns them off."""
        return self.state.flood.configure(**limits)


_CONFIG_KEYS = {f.name for f in fields(SandboxConfig)}


@asynccontextmanager
async def running_sandbox(
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    flood_limits: bool | FloodLimits = True,
    memory: Path | None = None,
    **options: Any,
) -> AsyncIterator[Sandbox]:
    """Run a sandbox on a free 127.0.0.1 port; options are SandboxConfig fields.

    With `memory` (a file), the bot's token and its update numbering carry over to the next
    sandbox started on the same file, as Telegram never numbers a bot's updates from 1 again.
    """
    unknown = set(options) - _CONFIG_KEYS
    if unknown:
        raise TypeError(f"unknown sandbox options: {sorted(unknown)}")
    limits = (
        flood_limits
        if isinstance(flood_limits, FloodLimits)
        else FloodLimits(enabled=bool(flood_limits))
    )
    server = SandboxServer(host, port, config=SandboxConfig(**options), limits=limits)
    await server.start()
    kept = SandboxMemory(memory) if memory is not None else None
    try:
        sandbox = Sandbox(server, token or (kept and kept.token) or server.state.new_token())
        if kept is not None:
            server.state.remember(kept, sandbox.bot)
        yield sandbox
    finally:
        await server.stop()
