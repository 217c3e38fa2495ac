"""The sandbox's world: users, chats, bots, message histories, update queues, files, events."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from sandbox.server.errors import bad_request, forbidden, not_found, unauthorized
from sandbox.server.limits import FaultInjector, FloodControl, FloodLimits
from sandbox.server.models import (
    BotRecord,
    FileRecord,
    LogEntry,
    PendingQuery,
    SandboxConfig,
    SimChat,
    SimUser,
    Topic,
)
from sandbox.server.persist import SandboxMemory
from sandbox.server.privacy import recipients

# Updates Telegram leaves out unless allowed_updates names them explicitly.
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}


def _token_id() -> str:
    return secrets.token_urlsafe(8)


class SandboxState:
    """All mutable state of one sandbox server; the client works on it directly in-process."""

    def __init__(self, config: SandboxConfig | None = None, limits: FloodLimits | None = None):
        self.config = config or SandboxConfig()
        self.flood = FloodControl(limits)
        self.faults = FaultInjector()
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, SimChat] = {}
        self.bots: dict[int, BotRecord] = {}
        self.default_bot_id: int | None = None  # the bot users talk to unless told otherwise
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.messages: dict[tuple[int, int], dict[int, dict[str, Any]]] = {}
        self._next_message_id: dict[tuple[int, int], int] = {}
        self.queries: dict[str, PendingQuery] = {}
        self.invoice_links: dict[str, dict[str, Any]] = {}
        self.log: deque[LogEntry] = deque()  # oldest first; config.keep_calls bounds it
        self.webhook_faults: list[dict[str, Any]] = []
        self._user_ids = itertools.count(100_000_001)
        self._group_ids = itertools.count(1001)
        self._supergroup_ids = itertools.count(1_000_000_001)
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._changed = asyncio.Event()
        self._charge_ids = itertools.count(1)
        self.memory: SandboxMemory | None = None  # a demo's bot and update numbering, kept

    def remember(self, memory: SandboxMemory, bot: BotRecord) -> None:
        """Keep `bot` and its update numbering in `memory` across restarts of this demo."""
        self.memory = memory
        bot.next_update_id = max(bot.next_update_id, memory.first_update_id)
        if memory.token != bot.token:
            memory.keep_token(bot.token)

    # ---- bots -----------------------------------------------------------------------------
    def bot_for_token(self, token: str) -> BotRecord:
        """Return (registering on first use) the bot of a `<digits>:<secret>` token."""
        head, sep, secret = token.partition(":")
        if not sep or not head.isdigit() or not secret:
            raise not_found()  # Telegram answers malformed token paths with 404
        bot_id = int(head)
        bot = self.bots.get(bot_id)
        if bot is None:
            user = SimUser(
                bot_id, f"Sandbox Bot {bot_id}", username=f"sandbox_{bot_id}_bot", is_bot=True
            )
            bot = self.bots[bot_id] = BotRecord(bot_id, token, user)
            self.users[bot_id] = user
        elif bot.token != token:
            # Same bot id with another secret: a revoked/wrong token for real Telegram.
            raise unauthorized()
        return bot

    def new_token(self) -> str:
        """A fresh token for a not-yet-used bot id."""
        bot_id = 7_000_000_000 + secrets.randbelow(999_999_999)
        return f"{bot_id}:AA{secrets.token_urlsafe(24)}"

    # ---- users and chats ------------------------------------------------------------------
    def create_user(
        self,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        phone_number: str | None = None,
        user_id: int | None = None,
        client_adds_plus: bool = False,
    ) -> SimUser:
        """Create a simulated user together with their private chat."""
        uid = user_id or next(self._user_ids)
        user = SimUser(
            uid,
            first_name,
            last_name,
            username,
            language_code,
            # A real (fictional-range) US number, so a shared contact is a valid phone.
            phone_number=phone_number or f"1415555{uid % 10_000:04d}",
            client_adds_plus=client_adds_plus,
        )
        self.users[uid] = user
        self.chats[uid] = SimChat(uid, "private", user=user)
        self.publish({"type": "user_created", "user": user.to_api()})
        return user

    def create_group(
        self,
        title: str = "Group",
        *,
        members: list[int] | None = None,
        bot_ids: list[int] | None = None,
        bot_admin: bool = False,
        bot_rights: dict[str, bool] | None = None,
        supergroup: bool = False,
        forum: bool = False,
        username: str | None = None,
    ) -> SimChat:
        """Create a group/supergroup/forum with members and the bot(s) in it."""
        if forum or supergroup:
            # Supergroup ids look like -100XXXXXXXXXX, as in Telegram.
            chat_id = -(1_000_000_000_000 + next(self._supergroup_ids))
            kind = "supergroup"
        else:
            chat_id, kind = -next(self._group_ids), "group"
        chat = SimChat(chat_id, kind, title=title, username=username, is_forum=forum)
        for uid in members or []:
            chat.members[uid] = "member"
        if members:
            chat.members[members[0]] = "creator"
        for bid in bot_ids or []:
            if bid in self.bots and not self.bots[bid].privacy:
                chat.joined_reading_all.add(bid)
            if bot_admin or bot_rights:
                chat.members[bid] = "administrator"
                chat.admin_rights[bid] = dict(
                    bot_rights
                    or {
                        "can_manage_topics": forum,
                        "can_delete_messages": True,
                        "can_pin_messages": True,
                    }
                )
            else:
                chat.members[bid] = "member"
        self.chats[chat_id] = chat
        self.publish({"type": "chat_created", "chat": chat.to_api()})
        return chat

    def resolve_chat(self, chat_ref: Any) -> SimChat:
        """Find a chat by id or @username, or raise "chat not found"."""
        chat: SimChat | None
        if isinstance(chat_ref, str) and chat_ref.startswith("@"):
            name = chat_ref[1:].lower()
            for chat in self.chats.values():
                uname = chat.username or (chat.user.username if chat.user else None)
                if uname and uname.lower() == name:
                    return chat
            raise bad_request("chat not found")
        try:
            chat = self.chats.get(int(chat_ref))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def check_can_send(self, bot: BotRecord, chat: SimChat) -> None:
        """Raise Telegram's 403s for blocked bots and chats the bot is not in."""
        if chat.type == "private":
            if chat.id in bot.blocked_by:
                raise forbidden("bot was blocked by the user")
            if chat.id == bot.id or (chat.user and chat.user.is_bot):
                raise forbidden("bot can't send messages to bots")
            if self.config.require_start and chat.id not in bot.started_by:
                raise forbidden("bot can't initiate conversation with a user")
        elif bot.id not in chat.members or chat.members[bot.id] in ("left", "kicked"):
            kind = "group" if chat.type == "group" else "supergroup"
            raise forbidden(f"bot is not a member of the {kind} chat")

    # ---- messages ---------------------------------------------------------------------------
    def history_key(self, bot_id: int, chat: SimChat) -> tuple[int, int]:
        """Private chats have a history per bot; groups one shared history."""
        return (bot_id, chat.id) if chat.type == "private" else (0, chat.id)

    def store_message(
        self,
        bot_id: int,
        chat: SimChat,
        sender: SimUser,
        content: dict[str, Any],
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Create a Message with the next id of that chat history and record it."""
        key = self.history_key(bot_id, chat)
        mid = self._next_message_id.get(key, 1)
        self._next_message_id[key] = mid + 1
        msg: dict[str, Any] = {"message_id": mid, "date": int(time.time())}
        if thread_id and chat.is_forum:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        msg["from"] = sender.to_api()
        msg["chat"] = chat.to_api()
        msg.update(content)
        if thread_id and chat.is_forum and "reply_to_message" not in msg:
            # Telegram sets a topic's opening message as reply_to_message of every message in
            # the topic that replies to nothing else.
            opening = self.messages.get(key, {}).get(thread_id)
            if opening is not None and "forum_topic_created" in opening:
                msg["reply_to_message"] = {
                    k: v for k, v in opening.items() if k != "reply_to_message"
                }
        self._keep(key)[mid] = msg
        self.publish(
            {
                "type": "message",
                "bot_id": bot_id,
                "chat_id": chat.id,
                "from_bot": sender.is_bot,
                "message": msg,
            }
        )
        return msg

    def _keep(self, key: tuple[int, int]) -> dict[int, dict[str, Any]]:
        """The history `key` takes a new message into, within config's bounds: the oldest
        messages of it and the histories of the chats idle longest forgotten first."""
        history = self.messages.setdefault(key, {})
        keep_messages, keep_chats = self.config.keep_messages, self.config.keep_chats
        if keep_messages:
            while len(history) >= keep_messages:
                del history[next(iter(history))]
        if keep_chats:
            self.messages[key] = self.messages.pop(key)  # the most recently active, last
            while len(self.messages) > keep_chats:
                del self.messages[next(iter(self.messages))]
        return history

    def record(self, entry: LogEntry) -> None:
        """Log a Bot API call (the oldest beyond config.keep_calls forgotten)."""
        self.log.append(entry)
        if self.config.keep_calls:
            while len(self.log) > self.config.keep_calls:
                self.log.popleft()

    def kept(self) -> dict[str, int]:
        """How much history is kept: chats with messages, messages, logged calls, queries."""
        return {
            "chats": len(self.messages),
            "messages": sum(len(history) for history in self.messages.values()),
            "calls": len(self.log),
            "queries": len(self.queries),
        }

    def get_message(self, bot_id: int, chat: SimChat, message_id: int) -> dict[str, Any] | None:
        """A stored (not deleted) message or None."""
        return self.messages.get(self.history_key(bot_id, chat), {}).get(message_id)

    def history(self, bot_id: int, chat: SimChat) -> list[dict[str, Any]]:
        """Messages of a chat history in id order."""
        return list(self.messages.get(self.history_key(bot_id, chat), {}).values())

    def delete_message(self, bot_id: int, chat: SimChat, message_id: int) -> None:
        """Remove a message and tell subscribers."""
        self.messages.get(self.history_key(bot_id, chat), {}).pop(message_id, None)
        self.publish(
            {"type": "delete", "bot_id": bot_id, "chat_id": chat.id, "message_id": message_id}
        )

    def create_topic(
        self,
        bot_id: int,
        chat: SimChat,
        creator: SimUser,
        name: str,
        icon_color: int | None = None,
        emoji: str | None = None,
    ) -> Topic:
        """Open a forum topic by posting its forum_topic_created service message."""
        created: dict[str, Any] = {"name": name, "icon_color": icon_color or 7322096}
        if emoji:
            created["icon_custom_emoji_id"] = emoji
        msg = self.store_message(bot_id, chat, creator, {"forum_topic_created": created})
        msg["message_thread_id"] = msg["message_id"]
        msg["is_topic_message"] = True
        topic = Topic(msg["message_id"], name, icon_color or 7322096, emoji, creator_id=creator.id)
        chat.topics[topic.message_thread_id] = topic
        self.publish({"type": "topic_edited", "chat_id": chat.id})
        return topic

    def topic_service(
        self, bot_id: int, chat: SimChat, actor: SimUser, topic: Topic, content: dict[str, Any]
    ) -> dict[str, Any]:
        """A topic's service message (closed, reopened, edited), posted in the topic."""
        msg = self.store_message(bot_id, chat, actor, content, topic.message_thread_id)
        self.publish({"type": "topic_edited", "chat_id": chat.id})
        return msg

    def delete_topic(self, bot_id: int, chat: SimChat, thread_id: int) -> None:
        """Delete a topic with all its messages (Telegram posts no service message for it)."""
        chat.topics.pop(thread_id, None)
        history = self.messages.get(self.history_key(bot_id, chat), {})
        gone = [mid for mid, m in history.items() if m.get("message_thread_id") == thread_id]
        for mid in gone:
            self.delete_message(bot_id, chat, mid)
        self.publish({"type": "topic_edited", "chat_id": chat.id})

    # ---- updates ----------------------------------------------------------------------------
    def enqueue_update(self, bot: BotRecord, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for getUpdates/webhook unless allowed_updates filters it out."""
        allowed = bot.allowed_updates
        if allowed:
            if kind not in allowed:
                return None
        elif kind in _OPT_IN_UPDATES:
            return None
        if self.memory is not None and self.memory.token == bot.token:
            self.memory.reserve(bot.next_update_id)  # saved before it is handed out
        update: dict[str, Any] = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        bot.updates.append(update)
        bot.wakeup.set()
        self.notify()
        return int(update["update_id"])

    def bots_in_chat(self, chat: SimChat, bot_id: int | None = None) -> list[BotRecord]:
        """Bots that are in a chat (a private chat: the one the user talks to)."""
        if chat.type == "private":
            return [self.bots[bot_id]] if bot_id in self.bots else []
        return [
            b
            for b in self.bots.values()
            if chat.members.get(b.id) in ("member", "administrator", "creator")
        ]

    def receivers(self, chat: SimChat, msg: dict[str, Any], bot_id: int | None) -> list[BotRecord]:
        """The bots a user's message reaches as an update (privacy mode applies in groups)."""
        bots = self.bots_in_chat(chat, bot_id)
        if chat.type == "private":
            return bots
        return recipients(bots, chat, msg, self.last_bot_speaker(chat))

    def last_bot_speaker(self, chat: SimChat) -> int | None:
        """The bot that sent the latest bot message in a group, if any did."""
        for msg in reversed(self.messages.get(self.history_key(0, chat), {}).values()):
            sender = msg.get("from") or {}
            if sender.get("is_bot"):
                return int(sender["id"])
        return None

    def set_privacy(self, bot: BotRecord, enabled: bool) -> None:
        """BotFather's /setprivacy: for groups the bot is added to from now on."""
        bot.privacy = enabled

    # ---- queries ------------------------------------------------------------------------------
    def new_query(
        self,
        kind: str,
        bot_id: int,
        user_id: int,
        timeout: float,
        data: dict[str, Any] | None = None,
    ) -> PendingQuery:
        """Register a query the bot has to answer within `timeout` seconds."""
        qid = str(secrets.randbelow(10**18) + 10**18)
        q = PendingQuery(
            qid,
            kind,
            bot_id,
            user_id,
            timeout=timeout,
            data=data or {},
            future=asyncio.get_running_loop().create_future(),
        )
        if self.config.keep_calls:  # a bounded history forgets the queries whose time is over
            for old in [old.id for old in self.queries.values() if old.expired()]:
                del self.queries[old]  # answering it says "query is too old" either way
        self.queries[qid] = q
        return q

    def answer_query(
        self, bot_id: int, query_id: str, kind: str, answer: dict[str, Any]
    ) -> PendingQuery:
        """Record the bot's answer; twice, too late or unknown -> "query is too old"."""
        from sandbox.server.errors import QUERY_TOO_OLD

        q = self.queries.get(str(query_id))
        if q is None or q.bot_id != bot_id or q.kind != kind or q.answered or q.expired():
            raise bad_request(QUERY_TOO_OLD)
        q.answered = True
        q.answer = answer
        if q.future and not q.future.done():
            q.future.set_result(answer)
        self.publish(
            {"type": f"{kind}_answer", "query_id": q.id, "user_id": q.user_id, "answer": answer}
        )
        return q

    def next_charge_id(self, prefix: str) -> str:
        """Unique payment charge ids."""
        return f"{prefix}_{next(self._charge_ids)}_{secrets.token_hex(6)}"

    # ---- files ------------------------------------------------------------------------------
    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
        url: str | None = None,
        unique: str | None = None,
    ) -> FileRecord:
        """Keep uploaded bytes and return a record with fresh file_id/file_unique_id."""
        prefix = {
            "photo": "AgAC",
            "document": "BQAC",
            "video": "BAAC",
            "audio": "CQAC",
            "voice": "AwAC",
            "sticker": "CAAC",
        }.get(kind, "BQAC")
        file_id = prefix + _token_id() + secrets.token_urlsafe(24)
        unique_id = unique or ("AQAD" + _token_id())
        ext = (
            file_name.rsplit(".", 1)[-1]
            if file_name and "." in file_name
            else {"photo": "jpg"}.get(kind, "bin")
        )
        path = f"{kind}s/file_{len(self.files)}.{ext}"
        rec = FileRecord(
            file_id, unique_id, kind, data, path, file_name, mime_type, width, height, url
        )
        self.files[file_id] = rec
        self.files_by_path[path] = rec
        return rec

    # ---- events -----------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake everyone waiting in wait_changed()."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, timeout: float) -> None:
        """Sleep until the state changes or `timeout` passes."""
        ev = self._changed
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except TimeoutError:
            pass

    def publish(self, event: dict[str, Any]) -> None:
        """Send an event to every subscriber (live web page, tests) and wake waiters."""
        event.setdefault("time", time.time())
        for q in list(self._subscribers):
            q.put_nowait(event)
        self.notify()

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        """Yield every event from now on (messages, edits, deletes, answers, ...)."""
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(q)
        try:
            while True:
                yield await q.get()
        finally:
            self._subscribers.remove(q)
