"""The aiogram runtime: one catch-all update handler feeds the core; Replies go out rate-limited."""
from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BotCommand, BotCommandScopeDefault, Update

from bot.ratelimit import RateLimiter
from bot.runtimes.aiogram_events import to_event
from bot.runtimes.aiogram_render import Renderer
from bot.runtimes.telegram_calls import LimitedCalls
from handlers.i18n import Translator
from handlers.router import Conversation

log = logging.getLogger(__name__)
COMMANDS = ("start", "catalog", "search", "cart", "orders", "help", "language")


def make_bot(token: str, api_url: str | None, limiter: RateLimiter) -> Bot:
    """A Bot talking to real Telegram or to any Bot API server (the sandbox), rate-limited."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
    session.middleware(LimitedCalls(limiter))
    return Bot(token, session=session, default=DefaultBotProperties())


class AiogramRuntime:
    """Feeds every update to the conversation core and renders what it answers."""

    def __init__(self, bot: Bot, conversation: Conversation) -> None:
        self.bot = bot
        self.conversation = conversation
        self.renderer = Renderer(bot)
        self.dispatcher = Dispatcher()
        # One catch-all handler per update kind, no filters: the core routes (aiogram's magic
        # filters would cost a thread hop each).
        for observer in (self.dispatcher.message, self.dispatcher.callback_query,
                         self.dispatcher.pre_checkout_query):
            observer.register(self._on_event)

    async def _on_event(self, _: object, event_update: Update) -> None:
        await self.feed(event_update)

    async def feed(self, update: Update) -> None:
        """Handle one update to the end: the core's work committed, the replies sent."""
        event = to_event(update)
        if event is None:
            return
        replies = await self.conversation.handle(event)
        await self.renderer.render(replies)

    async def register_commands(self) -> None:
        """The command menu in both languages."""
        for language in ("en", "zh"):
            t = Translator("zh_CN" if language == "zh" else "en")
            commands = [BotCommand(command=c, description=t(f"command.{c}")) for c in COMMANDS]
            await self.bot.set_my_commands(commands, BotCommandScopeDefault(),
                                           language_code=language if language == "zh" else None)

    async def poll(self) -> None:
        """Long polling until cancelled."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dispatcher.start_polling(self.bot, handle_signals=False, close_bot_session=False,
                                            allowed_updates=["message", "callback_query",
                                                             "pre_checkout_query"])

    async def stop(self) -> None:
        """Stop polling (if running)."""
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:
            pass  # not polling
