"""Plain data records of the simulated Telegram world (users, chats, bots, files, queries)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxConfig:
    """Timeouts and switches of a sandbox; defaults match real Telegram."""

    callback_timeout: float = 15.0
    pre_checkout_timeout: float = 10.0
    shipping_timeout: float = 10.0
    webhook_retry_initial: float = 1.0
    webhook_retry_max: float = 60.0
    webhook_timeout: float = 60.0  # the Bot API server's idle timeout on a webhook connection
    max_file_size: int = 20 * 1024 * 1024
    # A user must press Start before a bot may write to them, like Telegram; False relaxes it.
    require_start: bool = False
    # How much history is kept; 0 keeps everything (tests read it all). A long-running demo
    # bounds it so its memory stays flat: the newest `keep_messages` of each chat, the histories
    # of the `keep_chats` chats active last (a longer idle chat's messages are forgotten), the
    # newest `keep_calls` Bot API calls of the log. A forgotten message is gone as a deleted one
    # is: editing it answers "message to edit not found", as Telegram does.
    keep_messages: int = 0
    keep_chats: int = 0
    keep_calls: int = 0


@dataclass
class SimUser:
    """A simulated Telegram user (or a bot, when is_bot)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    phone_number: str | None = None
    # Telegram delivers a shared contact's number as digits without "+"; some apps add it.
    client_adds_plus: bool = False

    def to_api(self) -> dict[str, Any]:
        """The Bot API User object."""
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        if self.language_code and not self.is_bot:
            out["language_code"] = self.language_code
        return out


@dataclass
class Topic:
    """A forum topic; its id is the id of its forum_topic_created service message."""

    message_thread_id: int
    name: str
    icon_color: int = 7322096
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    creator_id: int | None = None  # who opened it (a bot may manage its own topics)

    def to_api(self) -> dict[str, Any]:
        """The Bot API ForumTopic object."""
        out: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            out["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return out


ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)


@dataclass
class SimChat:
    """A chat: private (id = user id), group, supergroup (optionally a forum) or channel."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: SimUser | None = None  # the other side of a private chat
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    admin_rights: dict[int, dict[str, bool]] = field(default_factory=dict)  # member -> rights
    topics: dict[int, Topic] = field(default_factory=dict)
    # Bots that joined while their privacy mode was off: they read every message here.
    joined_reading_all: set[int] = field(default_factory=set)

    def to_api(self) -> dict[str, Any]:
        """The Bot API Chat object."""
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user:
            out["first_name"] = self.user.first_name
            if self.user.last_name:
                out["last_name"] = self.user.last_name
            if self.user.username:
                out["username"] = self.user.username
        else:
            out["title"] = self.title or ""
            if self.username:
                out["username"] = self.username
        if self.is_forum:
            out["is_forum"] = True
        return out

    def rights_of(self, user_id: int) -> dict[str, bool]:
        """Admin rights of a member (creator has all; plain members none)."""
        status = self.members.get(user_id)
        if status == "creator":
            return dict.fromkeys(ADMIN_RIGHTS, True)
        if status == "administrator":
            return {r: bool(self.admin_rights.get(user_id, {}).get(r)) for r in ADMIN_RIGHTS}
        return {}


@dataclass
class WebhookConfig:
    """What setWebhook stored."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    last_synchronization_error_date: int | None = None


@dataclass
class PendingQuery:
    """A callback/pre-checkout/shipping query waiting for the bot's answer."""

    id: str
    kind: str
    bot_id: int
    user_id: int
    created: float = field(default_factory=time.monotonic)
    timeout: float = 15.0
    answered: bool = False
    answer: dict[str, Any] | None = None
    future: asyncio.Future[dict[str, Any]] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def expired(self) -> bool:
        """True once Telegram would no longer accept an answer."""
        return time.monotonic() - self.created > self.timeout


@dataclass
class BotRecord:
    """A bot known to the sandbox: identity, update queue, webhook, commands."""

    id: int
    token: str
    user: SimUser
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    webhook: WebhookConfig | None = None
    allowed_updates: list[str] | None = None
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blocked_by: set[int] = field(default_factory=set)
    started_by: set[int] = field(default_factory=set)
    poll_waiter: asyncio.Future[None] | None = None
    webhook_task: asyncio.Task[None] | None = None
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    extra_settings: dict[str, Any] = field(default_factory=dict)
    # True once the bot polled or set a webhook: it is running (the chat page stops saying
    # "starting…").
    connected: bool = False
    # Group privacy mode, on for every new bot as in Telegram (BotFather's /setprivacy).
    privacy: bool = True


@dataclass
class FileRecord:
    """A stored file; several file_ids (photo sizes) may share one record's bytes."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    url: str | None = None


@dataclass
class LogEntry:
    """One Bot API request the bot made, for assertions in tests."""

    time: float
    bot_id: int
    method: str
    params: dict[str, Any]
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for the control API."""
        return {
            "time": self.time,
            "bot_id": self.bot_id,
            "method": self.method,
            "params": self.params,
            "ok": self.ok,
            "result": self.result,
            "error_code": self.error_code,
            "description": self.description,
            "duration": self.duration,
        }
