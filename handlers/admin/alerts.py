"""The admin chat's alerts: each outbox row for the merchant becomes an order card (or a return
card), edited in place as the order moves; an alert that needs attention moves the card to the
bottom of the chat (the old message is deleted, the card sent again) so the merchant notices.

Alerts without an order (low stock) are plain messages.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
from datetime import datetime, timedelta

from handlers.admin.cards.view import alert_line, card_keyboard, card_text
from handlers.admin.returns import return_keyboard, return_text
from handlers.events import DeleteMessage, EditText, Inline, Reply, SendAlbum, SendText
from handlers.i18n import Translator
from handlers.turn import Settings
from services.container import Services
from services.merchant import return_key
from services.outbox import OutgoingMessage

ATTENTION = frozenset({"alert_new_order", "alert_order_paid", "alert_out_of_stock",
                       "alert_payment_problem", "return_requested", "alert_low_rating"})
IN_FLIGHT_TIMEOUT = 10.0  # seconds a card waits for an earlier alert of the same order


def card_key(message: OutgoingMessage) -> int | None:
    """Which card an alert updates: the order's, a return request's, or none."""
    return_id = message.params.get("return_id")
    if message.template == "return_requested" and isinstance(return_id, int) and return_id > 0:
        return return_key(return_id)
    return message.order_id


class AdminAlerts:
    """The AlertComposer of the "admin" audience."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self.services = services
        self.settings = settings
        # One alert per card at a time in this process, so two alerts of one order sent in the
        # same batch edit one card instead of sending two.
        self._in_flight: dict[int, asyncio.Event] = {}

    async def compose(self, message: OutgoingMessage) -> list[Reply]:
        """The card (or message) that delivers this alert."""
        t = Translator(message.language, self.settings.timezone)
        if message.template == "settlement_statement":
            return await self._statement(t, message)
        if message.template == "return_photos":
            return await self._photos(t, message)
        line = alert_line(t, message.template, message.params, self.services.ctx)
        key = card_key(message)
        if key is None:
            return [SendText(message.chat_id, line)]
        await self._wait_turn(key)
        try:
            text, keyboard = await self._card(t, key, line)
            ref = await self.services.merchant.card_ref(key)
        except BaseException:
            self._done(key)
            raise
        new = SendText(message.chat_id, text, keyboard)
        if ref is None:
            return [new]
        if message.template in ATTENTION:
            return [DeleteMessage(ref.chat_id, ref.message_id), new]
        return [EditText(ref.chat_id, ref.message_id, text, keyboard)]

    async def _statement(self, t: Translator, message: OutgoingMessage) -> list[Reply]:
        """Orders archived: the settlement statement of their period, totals and CSV."""
        from handlers.admin.commands.reports import statement_replies

        start = datetime.fromisoformat(str(message.params["start"]))
        end = datetime.fromisoformat(str(message.params["end"]))
        return await statement_replies(self.services, t, message.chat_id, start, end,
                                       start.date(), (end - timedelta(microseconds=1)).date())

    async def _photos(self, t: Translator, message: OutgoingMessage) -> list[Reply]:
        """The customer's photos of a return, as one album replying to the request's card
        (queued after it, so the card is there; without it the album says which request)."""
        return_id, photos = message.params.get("return_id"), message.params.get("photos")
        if not isinstance(return_id, int) or not isinstance(photos, list) or not photos:
            return []
        ref = await self.services.merchant.card_ref(return_key(return_id))
        caption = t("admin_returns.photos_caption", id=return_id,
                    number=html.escape(str(message.params.get("order_number", ""))))
        return [SendAlbum(message.chat_id, tuple(str(p) for p in photos[:10]), caption,
                          ref.message_id if ref else None)]

    async def _card(self, t: Translator, key: int, line: str) -> tuple[str, Inline]:
        if key < 0:
            view = await self.services.returns.get(-key)
            return (return_text(t, view, line, self.services.ctx.rules.currency),
                    return_keyboard(t, view))
        card = await self.services.merchant.card(key)
        return card_text(t, card, self.services.ctx, line), card_keyboard(t, card)

    async def sent(self, message: OutgoingMessage, reply: Reply, message_id: int | None) -> None:
        """A card went out: remember its message, so the next alert edits it."""
        key = card_key(message)
        if key is None or not isinstance(reply, (SendText, EditText)):
            return
        try:
            if message_id is not None:
                await self.services.merchant.remember_card(key, reply.chat_id, message_id)
        finally:
            self._done(key)

    async def _wait_turn(self, key: int) -> None:
        while (busy := self._in_flight.get(key)) is not None:
            with contextlib.suppress(TimeoutError):  # (not wait_for: see OutboxSender.run)
                async with asyncio.timeout(IN_FLIGHT_TIMEOUT):
                    await busy.wait()
            if self._in_flight.get(key) is busy:  # its sender failed: do not wait forever
                self._in_flight.pop(key, None)
        self._in_flight[key] = asyncio.Event()

    def _done(self, key: int) -> None:
        event = self._in_flight.pop(key, None)
        if event is not None:
            event.set()
