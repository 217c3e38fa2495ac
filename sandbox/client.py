"""Play customers, merchants and support agents against a bot running on the sandbox.

In-process objects (`SandboxUser`, `SandboxChat`) act directly on the server's state;
`HttpSandboxClient` offers the same actions over the /sandbox/ control API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.http_client import HttpSandboxClient, HttpSandboxUser
from sandbox.server import actions
from sandbox.server.models import BotRecord, LogEntry, SimChat, SimUser
from sandbox.server.payments import PaymentError, find_invoice, pay_invoice
from sandbox.server.state import SandboxState

__all__ = [
    "ActionError",
    "CallbackAnswer",
    "HttpSandboxClient",
    "HttpSandboxUser",
    "PaymentError",
    "SandboxChat",
    "SandboxMessage",
    "SandboxUser",
]
ActionError = actions.ActionError
Predicate = Callable[["SandboxMessage"], bool]
Matcher = str | re.Pattern[str]

# A 1x1 PNG, so send_photo works without the caller providing an image.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class SandboxMessage(dict[str, Any]):
    """A Bot API Message (a dict) with convenience properties for assertions."""

    @property
    def message_id(self) -> int:
        """The message id."""
        return int(self["message_id"])

    @property
    def text(self) -> str | None:
        """Text, or caption for media messages."""
        return self.get("text", self.get("caption"))

    @property
    def buttons(self) -> list[str]:
        """Texts of inline buttons, then of the reply keyboard this message showed."""
        rows = self.get("reply_markup", {}).get("inline_keyboard", [])
        rows = rows + self.get("_keyboard", {}).get("keyboard", [])
        return [b.get("text", "") for row in rows for b in row]

    @property
    def callback_data(self) -> dict[str, str]:
        """Inline button text -> callback_data."""
        rows = self.get("reply_markup", {}).get("inline_keyboard", [])
        return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}

    @property
    def reply_keyboard(self) -> dict[str, Any] | None:
        """The ReplyKeyboardMarkup/ReplyKeyboardRemove sent with this message, if any."""
        return self.get("_keyboard")

    @property
    def invoice(self) -> dict[str, Any] | None:
        """The Invoice object, for invoice messages."""
        return self.get("invoice")

    @property
    def document(self) -> dict[str, Any] | None:
        """The Document object, for document messages."""
        return self.get("document")


@dataclass
class CallbackAnswer:
    """What the bot answered to a button press (answerCallbackQuery)."""

    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


class SandboxChat:
    """One chat seen by one simulated person (`actor`) talking to one bot."""

    def __init__(self, state: SandboxState, bot: BotRecord, chat: SimChat, actor: SimUser):
        self.state = state
        self.bot = bot
        self.chat = chat
        self.actor = actor
        self._cursor = self._last_id()

    # ---- reading ---------------------------------------------------------------------------
    @property
    def id(self) -> int:
        """The chat id."""
        return self.chat.id

    def _last_id(self) -> int:
        history = self.state.history(self.bot.id, self.chat)
        return history[-1]["message_id"] if history else 0

    @property
    def messages(self) -> list[SandboxMessage]:
        """Every message in the chat (both sides), oldest first."""
        return [SandboxMessage(m) for m in self.state.history(self.bot.id, self.chat)]

    @property
    def bot_messages(self) -> list[SandboxMessage]:
        """Messages the bot sent in this chat, oldest first."""
        return [SandboxMessage(m) for m in actions.bot_messages(self.state, self.bot, self.chat)]

    @property
    def last_message(self) -> SandboxMessage | None:
        """The bot's latest message here (current content, edits included)."""
        msgs = self.bot_messages
        return msgs[-1] if msgs else None

    @property
    def last_text(self) -> str | None:
        """Text (or caption) of the bot's latest message."""
        last = self.last_message
        return last.text if last else None

    @property
    def documents(self) -> list[dict[str, Any]]:
        """Documents the bot sent here, each with its bytes under "content"."""
        out = []
        for m in self.bot_messages:
            if m.document:
                rec = self.state.files.get(m.document["file_id"])
                out.append({**m.document, "content": rec.data if rec else b""})
        return out

    @property
    def photos(self) -> list[list[dict[str, Any]]]:
        """Photo size lists the bot sent here."""
        return [m["photo"] for m in self.bot_messages if "photo" in m]

    def requests(self, method: str | None = None) -> list[LogEntry]:
        """The bot's Bot API requests (all chats), optionally of one method."""
        return [
            e
            for e in self.state.log
            if e.bot_id == self.bot.id and (method is None or e.method.lower() == method.lower())
        ]

    async def wait_for_message(
        self, timeout: float = 5.0, predicate: Predicate | None = None
    ) -> SandboxMessage:
        """The next bot message after this person's last action (or last wait) that matches."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.bot_messages:
                if m.message_id > self._cursor and (predicate is None or predicate(m)):
                    self._cursor = m.message_id
                    return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(self._timeout_report(timeout))
            await self.state.wait_changed(remaining)

    async def wait_for_edit(
        self,
        message_id: int | None = None,
        timeout: float = 5.0,
        predicate: Predicate | None = None,
    ) -> SandboxMessage:
        """Wait until the bot edits a message (the latest bot message by default)."""
        target = message_id or (self.last_message.message_id if self.last_message else 0)
        start = self._get(target)
        deadline = time.monotonic() + timeout
        while True:
            now = self._get(target)
            if (
                now is not None
                and now.get("edit_date")
                and now != start
                and (predicate is None or predicate(now))
            ):
                return now
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"message {target} was not edited in {timeout}s")
            await self.state.wait_changed(remaining)

    def _get(self, message_id: int) -> SandboxMessage | None:
        msg = self.state.get_message(self.bot.id, self.chat, message_id)
        return SandboxMessage(dict(msg)) if msg else None

    def _timeout_report(self, timeout: float) -> str:
        errors = [f"{e.method}: {e.description}" for e in self.requests() if not e.ok][-5:]
        last = self.last_message
        return (
            f"no new bot message in chat {self.chat.id} within {timeout}s; "
            f"last bot message: {last.text if last else None!r}; recent bot API errors: "
            f"{errors or 'none'}"
        )

    # ---- acting ----------------------------------------------------------------------------
    def _acted(self, msg: dict[str, Any] | None) -> SandboxMessage | None:
        if msg is None:
            return None
        self._cursor = max(self._cursor, self._last_id())
        return SandboxMessage(msg)

    async def send(
        self,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        plain: bool = False,
    ) -> SandboxMessage:
        """Type and send a text message.

        After a force_reply message meant for this person, it is a reply to that message, as
        Telegram's apps make it; `plain=True` sends it as a plain message anyway (the person
        closed the reply bar), `reply_to` replies to another message.
        """
        quoted = self.state.get_message(self.bot.id, self.chat, reply_to) if reply_to else None
        msg = actions.user_send(
            self.state,
            self.bot,
            self.actor,
            self.chat,
            actions.text_content(text),
            thread_id=thread_id,
            reply_to=quoted,
            typed=not plain,
        )
        return self._acted(msg)  # type: ignore[return-value]

    async def command(self, command: str, args: str = "") -> SandboxMessage:
        """Send a bot command such as "/start" (the leading slash is optional)."""
        text = command if command.startswith("/") else f"/{command}"
        return await self.send(f"{text} {args}".strip())

    async def click(
        self, button: Matcher, *, message_id: int | None = None, timeout: float | None = None
    ) -> CallbackAnswer | SandboxMessage | dict[str, Any] | None:
        """Press a button by text (exact, else substring) or regex.

        Inline callback button -> the bot's CallbackAnswer (None if it never answered);
        reply keyboard button -> the message the user sent; URL/other buttons -> their fields.
        """
        self._cursor = max(self._cursor, self._last_id())
        result = await actions.click(
            self.state, self.bot, self.actor, self.chat, button, message_id=message_id, wait=timeout
        )
        if result is None:
            return None
        if "show_alert" in result and "cache_time" in result:
            return CallbackAnswer(
                result.get("text"),
                bool(result.get("show_alert")),
                result.get("url"),
                int(result.get("cache_time") or 0),
            )
        if "message_id" in result:
            return self._acted(result)
        return result

    async def share_contact(self) -> SandboxMessage:
        """Send the person's own contact."""
        return self._acted(actions.share_contact(self.state, self.bot, self.actor, self.chat))  # type: ignore[return-value]

    async def send_location(
        self, latitude: float = 37.7749, longitude: float = -122.4194
    ) -> SandboxMessage:
        """Send a location."""
        return self._acted(
            actions.send_location(self.state, self.bot, self.actor, self.chat, latitude, longitude)
        )  # type: ignore[return-value]

    async def send_photo(
        self,
        data: bytes = TINY_PNG,
        *,
        caption: str | None = None,
        width: int = 1,
        height: int = 1,
        thread_id: int | None = None,
        plain: bool = False,
    ) -> SandboxMessage:
        """Send a photo (a 1x1 PNG unless `data` is given); a force_reply makes it a reply."""
        return self._acted(
            actions.send_file(
                self.state,
                self.bot,
                self.actor,
                self.chat,
                "photo",
                data,
                caption=caption,
                width=width,
                height=height,
                mime_type="image/png",
                thread_id=thread_id,
                typed=not plain,
            )
        )  # type: ignore[return-value]

    async def send_document(
        self,
        data: bytes,
        file_name: str = "file.txt",
        *,
        mime_type: str | None = "text/plain",
        caption: str | None = None,
        thread_id: int | None = None,
        plain: bool = False,
    ) -> SandboxMessage:
        """Send a document; a force_reply makes it a reply."""
        return self._acted(
            actions.send_file(
                self.state,
                self.bot,
                self.actor,
                self.chat,
                "document",
                data,
                file_name=file_name,
                mime_type=mime_type,
                caption=caption,
                thread_id=thread_id,
                typed=not plain,
            )
        )  # type: ignore[return-value]

    async def send_album(
        self, count: int = 2, *, caption: str | None = None, thread_id: int | None = None
    ) -> list[SandboxMessage]:
        """Send `count` photos as one album (one message each, sharing a media_group_id)."""
        sent = actions.send_album(self.state, self.bot, self.actor, self.chat, count,
                                  caption=caption, thread_id=thread_id)
        return [self._acted(m) for m in sent]  # type: ignore[misc]

    async def send_media(
        self,
        kind: str,
        data: bytes = b"media",
        *,
        caption: str | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> SandboxMessage:
        """Send a voice note, video, audio or sticker (`kind`), optionally replying."""
        quoted = self.state.get_message(self.bot.id, self.chat, reply_to) if reply_to else None
        return self._acted(actions.send_file(  # type: ignore[return-value]
            self.state, self.bot, self.actor, self.chat, kind, data, caption=caption,
            thread_id=thread_id, reply_to=quoted))

    async def edit(self, message_id: int, text: str) -> SandboxMessage:
        """Edit one of this person's messages (its text, or a media message's caption)."""
        msg = actions.user_edit(self.state, self.bot, self.actor, self.chat, message_id, text)
        return SandboxMessage(msg)

    async def close_topic(self, thread_id: int) -> None:
        """Close a forum topic as this person (an admin of the forum)."""
        actions.manage_topic(self.state, self.bot, self.actor, self.chat, thread_id, "close")

    async def reopen_topic(self, thread_id: int) -> None:
        """Reopen a closed forum topic as this person (an admin)."""
        actions.manage_topic(self.state, self.bot, self.actor, self.chat, thread_id, "reopen")

    async def delete_topic(self, thread_id: int) -> None:
        """Delete a forum topic and its messages as this person (an admin)."""
        actions.manage_topic(self.state, self.bot, self.actor, self.chat, thread_id, "delete")

    async def reply_in_topic(self, thread_id: int, text: str) -> SandboxMessage:
        """Post in a forum topic of this chat."""
        return await self.send(text, thread_id=thread_id)

    async def create_topic(self, name: str) -> int:
        """Open a forum topic as this person; returns its message_thread_id."""
        topic = self.state.create_topic(self.bot.id, self.chat, self.actor, name)
        created = self.state.get_message(self.bot.id, self.chat, topic.message_thread_id)
        for target in self.state.bots_in_chat(self.chat, self.bot.id):
            self.state.enqueue_update(target, "message", created or {})
        self._acted(created)
        return topic.message_thread_id

    async def pay(
        self,
        invoice: str | int | None = None,
        *,
        tip: int = 0,
        shipping_option_id: str | None = None,
        shipping_address: dict[str, Any] | None = None,
        order_info: dict[str, Any] | None = None,
    ) -> SandboxMessage:
        """Pay the latest invoice here, an invoice message id, or an invoice link.

        Returns the successful_payment message; raises PaymentError with the bot's
        error_message (or a timeout reason) when the payment does not go through.
        """
        bot = self.bot
        if isinstance(invoice, str):
            details = find_invoice(self.state, invoice)
            bot = self.state.bots[details["bot_id"]]
        else:
            found = [
                m
                for m in actions.bot_messages(self.state, bot, self.chat)
                if "_invoice" in m and (invoice is None or m["message_id"] == invoice)
            ]
            if not found:
                raise PaymentError("no invoice to pay in this chat")
            details = found[-1]["_invoice"]
        msg = await pay_invoice(
            self.state,
            bot,
            self.actor,
            details,
            tip=tip,
            shipping_option_id=shipping_option_id,
            shipping_address=shipping_address,
            order_info=order_info,
        )
        return SandboxMessage(msg)


class SandboxUser(SandboxChat):
    """A simulated user, acting in their private chat with the bot."""

    def __init__(self, state: SandboxState, bot: BotRecord, user: SimUser):
        super().__init__(state, bot, state.chats[user.id], user)
        self.user = user

    @property
    def first_name(self) -> str:
        """The user's first name."""
        return self.user.first_name

    def in_chat(self, chat: SandboxChat | SimChat) -> SandboxChat:
        """This user acting in a group/forum."""
        sim = chat.chat if isinstance(chat, SandboxChat) else chat
        if self.user.id not in sim.members:
            sim.members[self.user.id] = "member"
        return SandboxChat(self.state, self.bot, sim, self.user)

    async def block(self) -> None:
        """Block the bot (its sends now fail with 403)."""
        actions.set_blocked(self.state, self.bot, self.user, True)

    async def unblock(self) -> None:
        """Unblock the bot."""
        actions.set_blocked(self.state, self.bot, self.user, False)

