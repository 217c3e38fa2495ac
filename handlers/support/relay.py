"""Delivering the "support" outbox rows: copies both ways, the card, the bot's notes.

A row for a topic finds the customer's topic, or makes it (with the card at its top) when it
does not exist yet or Telegram says it is gone ("message thread not found" when agents deleted
it, TOPIC_CLOSED when they closed it): the topic is made again and the message sent there,
once. Only one sender makes a customer's topic (a lease on the topic's row); another one
retries its row later. Each copy's id is stored with its original, both ways.
"""
from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import TypeVar

from handlers import callbacks
from handlers.events import (
    Button,
    CopyMessage,
    CopyMessages,
    CreateTopic,
    EditCaption,
    EditText,
    Inline,
    Refused,
    Reply,
    SendText,
)
from handlers.i18n import Translator
from handlers.notifications import Send
from handlers.support.card import card_keyboard, card_text, topic_name
from handlers.turn import Settings
from services.container import Services
from services.outbox import OutgoingMessage
from services.support.views import (
    CARD,
    CARD_EDIT,
    CUSTOMER_NOTE,
    EDIT,
    RELAY_IN,
    RELAY_OUT,
    TEXT_OUT,
    TOPIC_NOTE,
)

MAX_TEXT = 4096
T = TypeVar("T")
# Telegram's answers when a card cannot be edited and need not be: it already says that, or
# it is gone (its topic deleted).
CARD_GONE = ("message is not modified", "message to edit not found")


class TopicBusy(Exception):
    """Another sender is making this customer's topic right now: try the row again later."""


def split_text(text: str, size: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `size` characters, cut at a line break or space when there is one."""
    pieces: list[str] = []
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else size
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    return [*pieces, text] if text else pieces


class SupportRelay:
    """The Deliverer of the "support" audience."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self.services = services
        self.settings = settings
        self.desk = services.support

    async def compose(self, message: OutgoingMessage) -> list[Reply]:
        """Unused: support rows are delivered step by step (`deliver`)."""
        return []

    async def sent(self, message: OutgoingMessage, reply: Reply, message_id: int | None) -> None:
        """Unused (see `deliver`)."""

    async def deliver(self, message: OutgoingMessage, send: Send) -> None:
        """Send what the row asks for."""
        steps = {RELAY_IN: self._relay_in, CARD: self._card, CARD_EDIT: self._card_edit,
                 TOPIC_NOTE: self._note,
                 RELAY_OUT: self._relay_out, TEXT_OUT: self._text_out, EDIT: self._edit,
                 CUSTOMER_NOTE: self._customer_note}
        step = steps.get(message.template)
        if step is not None:
            await step(message, send)

    async def _relay_in(self, message: OutgoingMessage, send: Send) -> None:
        """A customer's message (or their whole album), copied into their topic."""
        p, chat = message.params, message.chat_id
        customer, source = int(p["customer"]), int(p["message_id"])
        if p.get("album"):
            pieces = await self.desk.album_to_copy(customer, str(p["album"]))
            if source not in pieces:
                return  # copied with its album already
            copies = await self._in_topic(customer, lambda thread: send.copies(CopyMessages(
                chat, customer, tuple(pieces), thread)), send)
            await self._linked(customer, pieces, chat, copies)
            return
        copied = await self._in_topic(customer, lambda thread: send(CopyMessage(
            chat, customer, source, thread, p.get("reply_to"))), send)
        if copied is not None:
            await self.desk.linked(customer, source, chat, copied)

    async def _relay_out(self, message: OutgoingMessage, send: Send) -> None:
        """An agent's message (or album), copied to the customer."""
        p, customer, forum = message.params, message.chat_id, self._forum()
        source = int(p["message_id"])
        if p.get("album"):
            pieces = await self.desk.album_to_copy(forum, str(p["album"]))
            if source not in pieces:
                return
            copies = await self._to_customer(customer, send, send.copies(CopyMessages(
                customer, forum, tuple(pieces))))
            await self._linked(forum, pieces, customer, copies)
            return
        copied = await self._to_customer(customer, send, send(CopyMessage(
            customer, forum, source, None, p.get("reply_to"))))
        if copied is not None:
            await self.desk.linked(forum, source, customer, copied)

    async def _linked(self, chat: int, pieces: list[int], peer_chat: int,
                      copies: list[int]) -> None:
        """Each piece of an album with its copy (Telegram skips a piece deleted meanwhile)."""
        for piece, copied in zip(pieces, copies, strict=False):
            await self.desk.linked(chat, piece, peer_chat, copied)

    async def _text_out(self, message: OutgoingMessage, send: Send) -> None:
        """A canned reply to the customer, split at Telegram's 4096 characters."""
        for piece in split_text(str(message.params["text"])):
            await self._to_customer(message.chat_id, send,
                                    send(SendText(message.chat_id, html.escape(piece))))

    # ---- the topic ------------------------------------------------------------------------
    def _forum(self) -> int:
        return int(self.desk.rules.chat_id or 0)

    def _t(self) -> Translator:
        return Translator(self.desk.rules.language, self.settings.timezone)

    async def _thread(self, customer: int, send: Send) -> int:
        """The customer's topic, made (with its card) if it is not there."""
        ref = await self.desk.topic(customer)
        if ref is not None and ref.thread_id is not None:
            return ref.thread_id
        if not await self.desk.claim_topic_creation(customer):
            raise TopicBusy(f"the topic of {customer} is being made")
        view = await self.desk.card(customer)
        thread = await send(CreateTopic(self._forum(), topic_name(view)))
        assert thread is not None
        await self.desk.topic_created(customer, thread)
        await self._put_card(customer, thread, send)
        return thread

    async def _in_topic(self, customer: int, attempt: Callable[[int], Awaitable[T]],
                        send: Send) -> T:
        """Send into the customer's topic (`attempt` given its thread); made again once if
        Telegram says it is gone."""
        thread = await self._thread(customer, send)
        try:
            return await attempt(thread)
        except Refused as error:
            if not error.topic_gone:
                raise
            await self.desk.topic_gone(customer, thread)
            return await attempt(await self._thread(customer, send))

    def _in_topic_text(self, customer: int, text: str, send: Send) -> Awaitable[int | None]:
        """The bot's line in the customer's topic."""
        return self._in_topic(customer, lambda thread: send(SendText(
            self._forum(), text, None, thread)), send)

    async def _put_card(self, customer: int, thread: int, send: Send) -> None:
        t = self._t()
        view = await self.desk.card(customer)
        sent = await send(SendText(self._forum(), card_text(t, view), card_keyboard(t, view),
                                   thread))
        if sent is not None:
            await self.desk.card_sent(customer, sent)

    async def _card(self, message: OutgoingMessage, send: Send) -> None:
        """A new conversation: the card at the bottom of the topic (a new topic has it)."""
        customer = int(message.params["customer"])
        ref = await self.desk.topic(customer)
        thread = await self._thread(customer, send)
        if ref is None or ref.thread_id is None:
            return  # made just now, with its card
        try:
            await self._put_card(customer, thread, send)
        except Refused as error:
            if not error.topic_gone:
                raise
            await self.desk.topic_gone(customer, thread)
            await self._thread(customer, send)

    async def _card_edit(self, message: OutgoingMessage, send: Send) -> None:
        """The card, shown afresh where it is (gone with its topic: the next one is new)."""
        customer = int(message.params["customer"])
        ref = await self.desk.topic(customer)
        if ref is None or ref.card_message_id is None:
            return
        t, view = self._t(), await self.desk.card(customer)
        try:
            await send(EditText(self._forum(), ref.card_message_id, card_text(t, view),
                                card_keyboard(t, view)))
        except Refused as error:
            if not any(gone in error.description for gone in CARD_GONE):
                raise

    async def _note(self, message: OutgoingMessage, send: Send) -> None:
        p = message.params
        t = self._t()
        customer = int(p["customer"])
        values = {k: v for k, v in p.items() if isinstance(v, (int, str)) and k != "key"}
        if p.get("order_id"):
            values["number"] = await self._order_number(int(p["order_id"]))
        if p.get("general"):  # an alert in General, naming the customer's topic
            view = await self.desk.card(customer)
            values["name"] = html.escape(topic_name(view))
            await send(SendText(self._forum(), t(f"support.note.{p['key']}", **values)))
            return
        await self._in_topic_text(customer, t(f"support.note.{p['key']}", **values), send)

    async def _order_number(self, order_id: int) -> str:
        card = await self.services.merchant.card(order_id)
        return html.escape(card.order.number)

    # ---- the customer ---------------------------------------------------------------------
    async def _to_customer(self, customer: int, send: Send, sending: Awaitable[T]) -> T:
        """Send to the customer; if they blocked the bot, the agents read a note about it."""
        try:
            return await sending
        except Refused as error:
            if error.forbidden:
                await self._in_topic_text(customer, self._t()("support.note.customer_blocked_bot"),
                                          send)
            raise

    async def _edit(self, message: OutgoingMessage, send: Send) -> None:
        p = message.params
        text = html.escape(str(p.get("text", "")))[:MAX_TEXT]
        edit: Reply = (EditCaption(message.chat_id, int(p["message_id"]), text[:1024])
                       if p.get("caption") else EditText(message.chat_id, int(p["message_id"]),
                                                         text or "…"))
        try:
            await send(edit)
        except Refused as error:
            if "not modified" not in error.description:
                raise

    async def _customer_note(self, message: OutgoingMessage, send: Send) -> None:
        p = message.params
        t = Translator(await self._language(message.chat_id), self.settings.timezone)
        name = html.escape(str(p.get("name", "")))
        if p.get("key") == "closed":
            stars = tuple(Button("⭐" * n, callbacks.encode("supr", int(p["session_id"]), n))
                          for n in range(1, 6))
            keyboard = Inline(((*stars[:3],), (*stars[3:],)))
            await send(SendText(message.chat_id, t("support.closed", name=name), keyboard))
            return
        await send(SendText(message.chat_id, t("support.joined", name=name)))

    async def _language(self, customer: int) -> str:
        view = await self.desk.card(customer)
        return view.language

