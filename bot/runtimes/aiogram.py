"""The aiogram runtime: one catch-all update handler feeds the core; Replies go out rate-limited."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeDefault, Update

from bot.polling import DRAIN_TIMEOUT, Poller
from bot.ratelimit import RateLimiter
from bot.runtimes.aiogram_events import to_event
from bot.runtimes.aiogram_render import Renderer
from bot.runtimes.telegram_calls import LimitedCalls
from handlers.events import Event, ForceReply, Reply, SendText
from handlers.i18n import Translator
from handlers.once import ChatLocks
from handlers.router import Conversation

log = logging.getLogger(__name__)
COMMANDS = ("start", "catalog", "search", "cart", "orders", "support", "help", "language")
MAX_DOCUMENT_BYTES = 1_000_000  # a catalog CSV; bigger files are refused before downloading
# The update kinds the shop handles, asked for by polling and by setWebhook alike: Telegram keeps
# the last list it was given, and a webhook set without one gets every kind but a few.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "pre_checkout_query")


def make_bot(token: str, api_url: str | None, limiter: RateLimiter) -> Bot:
    """A Bot talking to real Telegram or to any Bot API server (the sandbox), rate-limited."""
    session = (AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url
               else AiohttpSession())
    session.middleware(LimitedCalls(limiter))
    return Bot(token, session=session, default=DefaultBotProperties())


def _update_id(update: Update) -> int:
    return update.update_id


class AiogramRuntime:
    """Feeds every update to the conversation core and sends what it answers."""

    def __init__(self, bot: Bot, conversation: Conversation) -> None:
        self.bot = bot
        self.conversation = conversation
        self.renderer = Renderer(bot)
        self.chats = ChatLocks()
        self.poller: Poller[Update] = Poller(self._fetch, self.feed, _update_id)
        self.feeding: set[asyncio.Task[None]] = set()
        self.stopping = False  # no new updates (a webhook's are answered 503: resent later)

    async def feed(self, update: Update) -> None:
        """Handle one update to the end: the core's work committed, then its replies sent.
        Raises when the work failed (nothing of it committed): the update must come again."""
        task = asyncio.current_task()
        if task is not None:
            self.feeding.add(task)
        try:
            event = to_event(update)
            if event is None:
                return
            async with self.chats.hold(event.chat_id):
                if event.kind == "document":
                    event = await self._with_file(event, update)
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
                message_id = await self.renderer.one(reply)
            except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
                log.warning("update %s: %s not sent: %s", event.update_id,
                            type(reply).__name__, error)
                continue
            if (message_id is not None and isinstance(reply, SendText)
                    and isinstance(reply.keyboard, ForceReply)):
                await self.conversation.prompted(event, reply.keyboard, message_id)

    async def _with_file(self, event: Event, update: Update) -> Event:
        """An admin's document in the admin chat, with its bytes (the core cannot download)."""
        settings = self.conversation.settings
        document = update.message.document if update.message else None
        if (document is None or event.chat_id != settings.admin_chat_id
                or event.user.id not in settings.admin_user_ids
                or (document.file_size or 0) > MAX_DOCUMENT_BYTES):
            return event  # without bytes the core answers "could not read the file"
        try:
            content = await self.bot.download(document.file_id)
        except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not download document %s: %s", document.file_id, error)
            return event
        data = content.read() if content is not None else b""
        return replace(event, file_bytes=data) if len(data) <= MAX_DOCUMENT_BYTES else event

    async def register_commands(self) -> None:
        """The command menu in both languages."""
        for language in ("en", "zh"):
            t = Translator("zh_CN" if language == "zh" else "en",
                           self.conversation.settings.timezone)
            commands = [BotCommand(command=c, description=t(f"command.{c}")) for c in COMMANDS]
            await self.bot.set_my_commands(commands, BotCommandScopeDefault(),
                                           language_code=language if language == "zh" else None)

    async def _fetch(self, offset: int | None, timeout: int) -> Sequence[Update]:
        return await self.bot.get_updates(offset=offset, timeout=timeout,
                                          allowed_updates=list(ALLOWED_UPDATES),
                                          request_timeout=timeout + 10)

    async def poll(self) -> None:
        """Long polling until `stop`, which lets the updates in flight finish first."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.poller.run()

    async def stop(self) -> None:
        """Stop polling: no new updates; those in flight finish (a bounded time) and are
        confirmed. Webhook updates in flight finish too."""
        self.stopping = True
        self.poller.stop()
        if self.feeding:
            await asyncio.wait(list(self.feeding), timeout=DRAIN_TIMEOUT)
