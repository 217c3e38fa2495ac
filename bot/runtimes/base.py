"""What both runtimes do the same way, whatever their framework: one update handled to the end
(the chat's turn held, the core's work committed, its replies sent, then recorded as
delivered), long polling that confirms only handled updates (bot.polling), the command menu,
the start-up check of the chats, and a stop that lets the updates in flight finish.

A runtime supplies its framework's part: parsing and reading updates, getUpdates, the Bot
calls, and its errors turned into handlers.events.DeliveryError.
"""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar

from bot import logs, metrics
from bot.polling import DRAIN_TIMEOUT, Poller
from bot.runtimes.chat_check import ChatRights, check_chats
from handlers.events import (
    DeliveryError,
    Event,
    ForceReply,
    OrderInfo,
    Payment,
    Reply,
    SendText,
    ShippingAddress,
    ShippingQuery,
    User,
)
from handlers.i18n import Translator
from handlers.once import ChatLocks
from handlers.router import Conversation

log = logging.getLogger(__name__)
U = TypeVar("U")
COMMANDS = ("start", "catalog", "search", "cart", "orders", "support", "help", "language")
MAX_DOCUMENT_BYTES = 1_000_000  # a catalog CSV; bigger files are refused before downloading
# The update kinds the shop handles, asked for by polling and by setWebhook alike: Telegram keeps
# the last list it was given, and a webhook set without one gets every kind but a few.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "pre_checkout_query",
                   "shipping_query")
# Service messages of a forum or group (topics opened or closed, members joining): no one's words.
SERVICE = ("forum_topic_created", "forum_topic_edited", "forum_topic_closed",
           "forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
           "new_chat_members", "left_chat_member", "pinned_message", "new_chat_title")


def _address(a: Any) -> ShippingAddress:
    """A ShippingAddress of either framework (the Bot API's field names, all strings)."""
    return ShippingAddress(a.country_code, a.state, a.city, a.street_line1, a.street_line2,
                           a.post_code)


def shipping_event(update_id: int, user: User, q: Any) -> Event:
    """A shipping_query of either framework as the core's event."""
    return Event("shipping_query", update_id, user, chat_id=user.id,
                 shipping=ShippingQuery(q.id, q.invoice_payload, _address(q.shipping_address)))


def pre_checkout_event(update_id: int, user: User, q: Any) -> Event:
    """A pre_checkout_query of either framework as the core's event, with the form's answers."""
    info = q.order_info
    filled = None if info is None else OrderInfo(
        info.name or "", info.phone_number or "",
        _address(info.shipping_address) if info.shipping_address is not None else None)
    return Event("pre_checkout", update_id, user, chat_id=user.id,
                 payment=Payment(q.invoice_payload, q.currency, q.total_amount, q.id,
                                 shipping_option_id=q.shipping_option_id, order_info=filled))


class FeedingRuntime(ABC, Generic[U]):
    """Feeds every update (of the framework's type U) to the conversation core and sends what
    it answers; implements bot.runtimes.Runtime with the framework's hooks below."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.chats = ChatLocks()
        self.poller: Poller[U] = Poller(self.fetch, self.feed, self.update_id)
        self.feeding: set[asyncio.Task[None]] = set()
        self.stopping = False

    # ---- the framework's part -------------------------------------------------------------
    @abstractmethod
    def parse(self, data: dict[str, Any]) -> U:
        """The framework's update for Telegram's JSON; BadUpdate if it is none."""

    @abstractmethod
    def to_event(self, update: U) -> Event | None:
        """The core's Event for an update, or None for kinds the shop does not handle."""

    @abstractmethod
    def update_id(self, update: U) -> int:
        """The update's id."""

    @abstractmethod
    async def fetch(self, offset: int | None, timeout: int) -> Sequence[U]:
        """getUpdates from `offset`, waiting up to `timeout` seconds (ALLOWED_UPDATES)."""

    @abstractmethod
    async def render(self, reply: Reply) -> int | None:
        """Send one reply (bot.runtimes.Runtime.render)."""

    @abstractmethod
    async def download(self, file_id: str, max_bytes: int) -> bytes | None:
        """A file's bytes (bot.runtimes.Runtime.download)."""

    @abstractmethod
    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        """setMyCommands for the default scope; `language` None for everyone else."""

    @abstractmethod
    async def me(self) -> tuple[int, str]:
        """The bot's user id and username (DeliveryError if Telegram does not answer)."""

    @abstractmethod
    async def chat_rights(self, chat_id: int, user_id: int) -> ChatRights:
        """getChat and getChatMember (DeliveryError if Telegram refuses)."""

    @abstractmethod
    async def delete_webhook(self) -> None:
        """deleteWebhook, keeping the pending updates (polling gets them)."""

    @abstractmethod
    async def set_webhook(self, url: str, secret_token: str | None) -> None:
        """setWebhook with ALLOWED_UPDATES."""

    @abstractmethod
    async def open(self) -> None:
        """Get the HTTP session ready."""

    @abstractmethod
    async def close(self) -> None:
        """Close the HTTP session."""

    # ---- the same for both ----------------------------------------------------------------
    async def start(self) -> None:
        """Open the session, register the command menu, check the configured chats."""
        await self.open()
        await self.register_commands()
        await check_chats(self, self.conversation.settings)

    async def feed_json(self, data: dict[str, Any]) -> None:
        """Handle one update given as Telegram's JSON (a webhook's body)."""
        await self.feed(self.parse(data))

    async def feed(self, update: U) -> None:
        """Handle one update to the end: the core's work committed, then its replies sent.
        Raises when the work failed (nothing of it committed): the update must come again."""
        task = asyncio.current_task()
        if task is not None:
            self.feeding.add(task)
        try:
            event = self.to_event(update)
            if event is None:
                return
            async with self.chats.hold(event.chat_id):
                with metrics.update_handled(event.kind), \
                        logs.about_update(event.update_id, event.user.id):
                    if event.kind == "document":
                        event = await self._with_file(event)
                    replies = await self.conversation.handle(event)
                    await self._deliver(event, replies)
                    await self.conversation.delivered(event, replies)
        finally:
            if task is not None:
                self.feeding.discard(task)

    async def _deliver(self, event: Event, replies: list[Reply]) -> None:
        """Send a committed turn's replies; one Telegram refuses is logged and skipped (the
        turn stands, and sending the rest again would repeat them)."""
        for reply in replies:
            try:
                message_id = await self.render(reply)
            except DeliveryError as error:
                log.warning("update %s: %s not sent: %s", event.update_id,
                            type(reply).__name__, error.description)
                continue
            if (message_id is not None and isinstance(reply, SendText)
                    and isinstance(reply.keyboard, ForceReply)):
                await self.conversation.prompted(event, reply.keyboard, message_id)

    async def _with_file(self, event: Event) -> Event:
        """An admin's document in the admin chat, with its bytes (the core cannot download)."""
        settings = self.conversation.settings
        if (event.file_id is None or event.chat_id != settings.admin_chat_id
                or event.user.id not in settings.admin_user_ids):
            return event  # without bytes the core answers "could not read the file"
        try:
            data = await self.download(event.file_id, MAX_DOCUMENT_BYTES)
        except DeliveryError as error:
            log.warning("could not download document %s: %s", event.file_id, error.description)
            return event
        return replace(event, file_bytes=data) if data is not None else event

    async def register_commands(self) -> None:
        """The command menu in both languages."""
        for language in ("en", "zh"):
            t = Translator("zh_CN" if language == "zh" else "en",
                           self.conversation.settings.timezone)
            await self.set_commands([(c, t(f"command.{c}")) for c in COMMANDS],
                                    language if language == "zh" else None)

    async def poll(self) -> None:
        """Long polling until `stop`, which lets the updates in flight finish first."""
        await self.delete_webhook()
        await self.poller.run()

    async def stop(self) -> None:
        """Stop polling: no new updates; those in flight finish (a bounded time) and are
        confirmed. Webhook updates in flight finish too."""
        self.stopping = True
        self.poller.stop()
        if self.feeding:
            await asyncio.wait(list(self.feeding), timeout=DRAIN_TIMEOUT)
