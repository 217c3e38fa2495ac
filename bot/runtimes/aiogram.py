"""The aiogram runtime: aiogram's Bot and Update types under the shared feeding
(bot.runtimes.base); every call rate-limited by a request middleware; aiogram's errors mapped to
the project's delivery errors."""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    ChatMemberAdministrator,
    ChatMemberRestricted,
    Update,
)
from pydantic import ValidationError

from bot.ratelimit import RateLimiter
from bot.runtimes import BadUpdate
from bot.runtimes.aiogram_calls import LimitedCalls
from bot.runtimes.aiogram_events import to_event
from bot.runtimes.aiogram_render import Renderer
from bot.runtimes.base import ALLOWED_UPDATES, FeedingRuntime
from bot.runtimes.chat_check import ChatRights
from handlers.events import (
    BadRequest,
    CopyMessages,
    DeliveryError,
    Event,
    Forbidden,
    Reply,
    RetryAfter,
)
from handlers.router import Conversation


def make_bot(token: str, api_url: str | None, limiter: RateLimiter) -> Bot:
    """A Bot talking to real Telegram or to any Bot API server (the sandbox), rate-limited."""
    session = (AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url
               else AiohttpSession())
    session.middleware(LimitedCalls(limiter))
    return Bot(token, session=session, default=DefaultBotProperties())


@asynccontextmanager
async def delivery_errors() -> AsyncIterator[None]:
    """aiogram's errors (after the middleware's retries) as the project's."""
    try:
        yield
    except TelegramRetryAfter as error:
        raise RetryAfter(error.retry_after, error.message) from error
    except TelegramForbiddenError as error:
        raise Forbidden(error.message) from error
    except TelegramBadRequest as error:
        raise BadRequest(error.message) from error
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryError(str(error)) from error


class AiogramRuntime(FeedingRuntime[Update]):
    """Feeds aiogram Updates to the conversation core and sends its replies with aiogram."""

    def __init__(self, bot: Bot, conversation: Conversation) -> None:
        super().__init__(conversation)
        self.bot = bot
        self.renderer = Renderer(bot)

    def parse(self, data: dict[str, Any]) -> Update:
        try:
            return Update.model_validate(data, context={"bot": self.bot})
        except ValidationError as error:
            raise BadUpdate(str(error)) from error

    def to_event(self, update: Update) -> Event | None:
        return to_event(update)

    def update_id(self, update: Update) -> int:
        return update.update_id

    async def fetch(self, offset: int | None, timeout: int) -> Sequence[Update]:
        return await self.bot.get_updates(offset=offset, timeout=timeout,
                                          allowed_updates=list(ALLOWED_UPDATES),
                                          request_timeout=timeout + 10)

    async def render(self, reply: Reply) -> int | None:
        async with delivery_errors():
            return await self.renderer.one(reply)

    async def copies(self, reply: CopyMessages) -> list[int]:
        async with delivery_errors():
            return await self.renderer.copies(reply)

    async def download(self, file_id: str, max_bytes: int) -> bytes | None:
        async with delivery_errors():
            file = await self.bot.get_file(file_id)
            if (file.file_size or 0) > max_bytes or file.file_path is None:
                return None
            content = await self.bot.download_file(file.file_path)
        data = content.read() if content is not None else b""
        return data if len(data) <= max_bytes else None

    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                       BotCommandScopeDefault(), language_code=language)

    async def me(self) -> tuple[int, str]:
        async with delivery_errors():
            me = await self.bot.get_me()
        return me.id, me.username or ""

    async def chat_rights(self, chat_id: int, user_id: int) -> ChatRights:
        async with delivery_errors():
            chat = await self.bot.get_chat(chat_id)
            member = await self.bot.get_chat_member(chat_id, user_id)
        return ChatRights(
            chat.title, chat.type, bool(chat.is_forum), member.status,
            can_send_messages=(member.can_send_messages
                               if isinstance(member, ChatMemberRestricted) else True),
            can_manage_topics=(bool(member.can_manage_topics)
                               if isinstance(member, ChatMemberAdministrator) else False))

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    async def set_webhook(self, url: str, secret_token: str | None) -> None:
        await self.bot.set_webhook(url, secret_token=secret_token,
                                   allowed_updates=list(ALLOWED_UPDATES))

    async def open(self) -> None:
        """aiogram opens its session at the first call."""

    async def close(self) -> None:
        await self.bot.session.close()
