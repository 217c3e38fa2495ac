"""The outbox sender: claims due rows, renders them, sends them through the rate-limited Bot."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.runtimes.aiogram_render import Renderer
from handlers.notifications import Notifications
from services.outbox import OutboxService, OutgoingMessage

log = logging.getLogger(__name__)
PERMANENT = ("chat not found", "bot was blocked", "user is deactivated", "bot was kicked")


class OutboxSender:
    """Sends what the services queued: retried on failure, never lost, sent once normally."""

    def __init__(self, outbox: OutboxService, renderer: Renderer,
                 notifications: Notifications | None = None, interval: float = 1.0) -> None:
        self.outbox = outbox
        self.renderer = renderer
        self.notifications = notifications or Notifications()
        self.interval = interval

    async def run(self) -> None:
        """Send until cancelled."""
        while True:
            sent = await self.send_due()
            if not sent:
                await asyncio.sleep(self.interval)

    async def send_due(self, limit: int = 50) -> int:
        """Send one batch of due rows; returns how many were handled."""
        batch = await self.outbox.claim(limit)
        await asyncio.gather(*(self._send(m) for m in batch))
        return len(batch)

    async def _send(self, message: OutgoingMessage) -> None:
        try:
            for reply in await self.notifications.compose(message):
                message_id = await self.renderer.one(reply)
                await self.notifications.sent(message, reply, message_id)
        except TelegramForbiddenError as exc:
            await self._failed(message, exc.message)
        except TelegramBadRequest as exc:
            if any(p in exc.message for p in PERMANENT):
                await self._failed(message, exc.message)
            else:
                await self.outbox.retry_later(message.id, timedelta(seconds=30), exc.message)
        except Exception as exc:  # noqa: BLE001 - any other failure is retried, never lost
            log.warning("outbox %s: %s, retrying", message.id, exc)
            delay = timedelta(seconds=min(2 ** message.attempts, 300))
            await self.outbox.retry_later(message.id, delay, repr(exc))
        else:
            await self.outbox.mark_sent(message.id)

    async def _failed(self, message: OutgoingMessage, error: str) -> None:
        level = logging.ERROR if message.audience == "admin" else logging.INFO
        log.log(level, "outbox %s to %s (%s) undeliverable: %s", message.id, message.chat_id,
                message.audience, error)
        await self.outbox.mark_failed(message.id, error)
