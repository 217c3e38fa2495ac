"""The python-telegram-bot runtime: PTB's Bot and Update types under the shared feeding
(bot.runtimes.base), every call rate-limited through PTB's rate limiter hook, PTB's errors
mapped to the project's delivery errors.

PTB's Application and Updater are not used: the Updater confirms each update to Telegram as it
arrives, and our poller (bot.polling) confirms it only once handled. PTB's Bot does every call.
"""
from __future__ import annotations

import logging
import os
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeDefault,
    ChatMemberAdministrator,
    ChatMemberRestricted,
    Update,
)
from telegram.error import BadRequest as TgBadRequest
from telegram.error import Forbidden as TgForbidden
from telegram.error import NetworkError, TelegramError
from telegram.error import RetryAfter as TgRetryAfter
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.ratelimit import RateLimiter
from bot.runtimes import BadUpdate
from bot.runtimes.base import ALLOWED_UPDATES, FeedingRuntime
from bot.runtimes.chat_check import ChatRights
from bot.runtimes.ptb_events import to_event
from bot.runtimes.ptb_render import Renderer
from bot.runtimes.telegram_calls import Flooded, Transient, call_limited
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

TELEGRAM = "https://api.telegram.org"
# PTB's own defaults are a 5 s read timeout and a 1 s wait for a free connection: under a burst
# of updates a send would fail while waiting its turn. These are aiogram's (one 60 s budget,
# up to 100 connections), split into PTB's four.
CONNECTIONS = 100


def _request(connections: int) -> HTTPXRequest:
    return HTTPXRequest(connections, read_timeout=60.0, write_timeout=60.0, connect_timeout=10.0,
                        pool_timeout=60.0, media_write_timeout=60.0)


def retry_after_seconds(error: TgRetryAfter) -> float:
    """The 429's retry_after in seconds (PTB 22 warns on reading it as an int)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: Exception) -> Exception | None:
    """PTB's 429 and transient errors in call_limited's terms. PTB's BadRequest is a kind of
    NetworkError; a bare TelegramError is a server answer that is not JSON (a proxy's page)."""
    if isinstance(error, TgRetryAfter):
        return Flooded(retry_after_seconds(error))
    if isinstance(error, NetworkError) and not isinstance(error, TgBadRequest):
        return Transient()
    return Transient() if type(error) is TelegramError else None


class LimitedCalls(BaseRateLimiter[None]):
    """PTB's hook around every Bot API call but getUpdates: our limiter, 429 pauses, retries."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def initialize(self) -> None:
        """Nothing to open: the limiter is shared and closed by its owner."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """One call, after its turn in the limiter; an album counts one message per photo."""
        messages = len(data.get("media") or ()) if endpoint == "sendMediaGroup" else 1
        return await call_limited(self.limiter, endpoint, data.get("chat_id"), messages,
                                  lambda: callback(*args, **kwargs), classify,
                                  bool(data.get("allow_paid_broadcast")))


def make_bot(token: str, api_url: str | None, limiter: RateLimiter,
             request: BaseRequest | None = None) -> ExtBot[None]:
    """A PTB Bot talking to real Telegram or to any Bot API server (the sandbox), rate-limited;
    files are downloaded from the same server (base_file_url). `request`: another transport
    (the benchmark's recording one)."""
    # PTB 22 warns at every 429 that retry_after becomes a timedelta; we read both: opt in.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # httpx logs every request at INFO with its URL, which holds the bot token: warnings only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base = (api_url or TELEGRAM).rstrip("/")
    return ExtBot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot",
                  request=request or _request(CONNECTIONS), get_updates_request=_request(1),
                  rate_limiter=LimitedCalls(limiter))


def telegram_words(error: TgBadRequest) -> str:
    """Telegram's description as it sent it: PTB drops "Bad Request: " and lowers the rest."""
    return f"Bad Request: {error.message[:1].lower()}{error.message[1:]}"


@asynccontextmanager
async def delivery_errors() -> AsyncIterator[None]:
    """PTB's errors (after the limiter's retries) as the project's."""
    try:
        yield
    except TgRetryAfter as error:
        seconds = retry_after_seconds(error)
        raise RetryAfter(seconds, f"Too Many Requests: retry after {seconds:g}") from error
    except TgForbidden as error:
        raise Forbidden(error.message) from error
    except TgBadRequest as error:
        raise BadRequest(telegram_words(error)) from error
    except TelegramError as error:
        raise DeliveryError(error.message) from error


class PtbRuntime(FeedingRuntime[Update]):
    """Feeds PTB Updates to the conversation core and sends its replies with PTB's Bot."""

    def __init__(self, bot: ExtBot[None], conversation: Conversation) -> None:
        super().__init__(conversation)
        self.bot = bot
        self.renderer = Renderer(bot)

    def parse(self, data: dict[str, Any]) -> Update:
        try:
            return Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BadUpdate(repr(error)) from error

    def to_event(self, update: Update) -> Event | None:
        return to_event(update)

    def update_id(self, update: Update) -> int:
        return update.update_id

    async def fetch(self, offset: int | None, timeout: int) -> Sequence[Update]:
        return await self.bot.get_updates(offset=offset, timeout=timeout,
                                          allowed_updates=list(ALLOWED_UPDATES))

    async def render(self, reply: Reply) -> int | None:
        async with delivery_errors():
            return await self.renderer.one(reply)

    async def copies(self, reply: CopyMessages) -> list[int]:
        async with delivery_errors():
            return await self.renderer.copies(reply)

    async def download(self, file_id: str, max_bytes: int) -> bytes | None:
        async with delivery_errors():
            file = await self.bot.get_file(file_id)
            if (file.file_size or 0) > max_bytes:
                return None
            data = bytes(await file.download_as_bytearray())
        return data if len(data) <= max_bytes else None

    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        await self.bot.set_my_commands([BotCommand(c, d) for c, d in commands],
                                       scope=BotCommandScopeDefault(), language_code=language)

    async def me(self) -> tuple[int, str]:
        async with delivery_errors():
            me = await self.bot.get_me()
        return me.id, me.username or ""

    async def chat_rights(self, chat_id: int, user_id: int) -> ChatRights:
        async with delivery_errors():
            chat = await self.bot.get_chat(chat_id)
            member = await self.bot.get_chat_member(chat_id, user_id)
        return ChatRights(
            chat.title, str(chat.type), bool(chat.is_forum), str(member.status),
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
        """Open PTB's HTTP clients and learn who the bot is (getMe), as PTB wants first."""
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()
