"""Framework adapters: each turns its framework's updates into Events and renders Replies.

`Runtime` is the seam the rest of bot/ talks to (app.py, web.py, outbox_sender.py): no other
module imports a Telegram library. Two implement it, over the same polling, chat order and
delivery (bot.runtimes.base): aiogram 3 (bot.runtimes.aiogram) and python-telegram-bot 22
(bot.runtimes.ptb). Their errors reach the rest as handlers.events.DeliveryError.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from bot.ratelimit import RateLimiter
    from handlers.events import CopyMessages, Reply
    from handlers.router import Conversation

Framework = Literal["aiogram", "ptb"]
FRAMEWORKS: tuple[Framework, ...] = ("aiogram", "ptb")


class BadUpdate(ValueError):
    """A webhook body that is not a Telegram update."""


class Runtime(Protocol):
    """One framework's Bot and update handling, as the rest of the bot sees it."""

    stopping: bool  # no new updates are taken (a webhook's are answered 503: resent later)

    async def start(self) -> None:
        """Open the HTTP session; register the command menu; log what will not work in the
        configured chats."""
        ...

    async def poll(self) -> None:
        """Long polling until `stop`."""
        ...

    async def set_webhook(self, url: str, secret_token: str | None) -> None:
        """Ask Telegram to post updates to `url`."""
        ...

    async def feed_json(self, data: dict[str, Any]) -> None:
        """Handle one update given as Telegram's JSON (a webhook's body) to the end; raises
        BadUpdate if it is not one, anything else if the work failed (nothing committed)."""
        ...

    async def render(self, reply: Reply) -> int | None:
        """Send one reply; the id of the message (or topic) it made. Raises DeliveryError."""
        ...

    async def copies(self, reply: CopyMessages) -> list[int]:
        """Copy several messages at once (an album stays an album): every copy's id. Raises
        DeliveryError."""
        ...

    async def download(self, file_id: str, max_bytes: int) -> bytes | None:
        """A file's bytes, or None when it is bigger than `max_bytes`. Raises DeliveryError."""
        ...

    async def me(self) -> tuple[int, str]:
        """The bot's id and username (getMe). Raises DeliveryError."""
        ...

    async def stop(self) -> None:
        """No new updates; those in flight finish (a bounded time) and are confirmed."""
        ...

    async def close(self) -> None:
        """Close the HTTP session."""
        ...


class Steps:
    """A runtime as the outbox's way to Telegram (handlers.notifications.Send)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, reply: Reply) -> int | None:
        """Send one reply."""
        return await self.runtime.render(reply)

    async def copies(self, reply: CopyMessages) -> list[int]:
        """Copy several messages at once."""
        return await self.runtime.copies(reply)


def make_runtime(framework: Framework, token: str, api_url: str | None, limiter: RateLimiter,
                 conversation: Conversation) -> Runtime:
    """The runtime of `framework`, talking to Telegram or to a Bot API server at `api_url`."""
    if framework == "ptb":
        from bot.runtimes import ptb

        return ptb.PtbRuntime(ptb.make_bot(token, api_url, limiter), conversation)
    from bot.runtimes.aiogram import AiogramRuntime, make_bot

    return AiogramRuntime(make_bot(token, api_url, limiter), conversation)
