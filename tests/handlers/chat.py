"""Talk to the conversation core directly (no Telegram library, no sandbox): fast handler tests."""
from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any

from handlers.events import (
    AnswerCallback,
    Button,
    DeleteMessage,
    EditPhoto,
    EditText,
    Event,
    Inline,
    Payment,
    Pressed,
    Reply,
    ReplyKeyboard,
    SendDocument,
    SendInvoice,
    SendPhoto,
    SendText,
    User,
)
from handlers.router import Conversation

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


class CoreChat:
    """A customer's private chat with the core: what they do, and what the bot answered."""

    def __init__(self, conversation: Conversation, user_id: int = 1001, first_name: str = "Li",
                 language_code: str = "en") -> None:
        self.conversation = conversation
        self.user = User(user_id, first_name, None, None, language_code)
        self.replies: list[Reply] = []
        self.last: list[Reply] = []
        self.messages: dict[int, Reply] = {}  # message id -> last content shown

    def _event(self, kind: str, **fields: Any) -> Event:
        return Event(kind=kind, update_id=next(_update_ids), user=self.user,  # type: ignore[arg-type]
                     chat_id=self.user.id, message_id=next(_message_ids), **fields)

    async def deliver(self, event: Event) -> list[Reply]:
        """Hand an event to the core and keep what it answered."""
        self.last = await self.conversation.handle(event)
        await self.conversation.delivered(event, self.last)  # as the runtime does once sent
        for reply in self.last:
            if isinstance(reply, (SendText, SendPhoto, SendDocument, SendInvoice)):
                self.messages[next(_message_ids)] = reply
            elif isinstance(reply, (EditText, EditPhoto)):
                self.messages[reply.message_id] = reply
            elif isinstance(reply, DeleteMessage):
                self.messages.pop(reply.message_id, None)
        self.replies.extend(self.last)
        return self.last

    async def command(self, text: str) -> list[Reply]:
        """/command args."""
        name, _, args = text.lstrip("/").partition(" ")
        return await self.deliver(self._event("command", text=text, command=name, args=args))

    async def send(self, text: str) -> list[Reply]:
        """A text message."""
        return await self.deliver(self._event("message", text=text))

    async def share_contact(self, phone: str = "+8613800138000") -> list[Reply]:
        """The share-contact button."""
        return await self.deliver(self._event("contact", contact_phone=phone,
                                              contact_user_id=self.user.id))

    async def send_photo(self, file_id: str = "photo-1") -> list[Reply]:
        """A photo."""
        return await self.deliver(self._event("photo", file_id=file_id))

    async def press(self, data: str, message_id: int = 1) -> list[Reply]:
        """A button press with raw callback data (forged data too). A photo the bot sent comes
        as Telegram shows it, a media message (the core cannot edit it into text); the text of
        a text message is left out (None: the core edits it without comparing)."""
        photo = isinstance(self.messages.get(message_id), (SendPhoto, EditPhoto))
        return await self.deliver(self._event("callback", callback_id=f"cb{next(_update_ids)}",
                                              callback_data=data, callback_message_id=message_id,
                                              pressed=Pressed("", caption=True) if photo else None))

    async def click(self, label: str | re.Pattern[str]) -> list[Reply]:
        """Press the newest button whose text matches (inline: callback; reply: its text)."""
        for message_id, reply in reversed(list(self.messages.items())):
            keyboard = getattr(reply, "keyboard", None)
            for button in _buttons(keyboard):
                if _matches(button.text, label):
                    if isinstance(keyboard, ReplyKeyboard):
                        if button.request_contact:
                            return await self.share_contact()
                        return await self.send(button.text)
                    assert button.data, f"button {button.text!r} has no callback data"
                    return await self.press(button.data, message_id)
        raise AssertionError(f"no button {label!r}; buttons: {self.buttons()}")

    async def repeat(self, event: Event) -> list[Reply]:
        """Deliver the very same update again (a redelivery)."""
        return await self.deliver(replace(event))

    def buttons(self) -> list[str]:
        """Texts of every button still on screen, newest message first."""
        return [b.text for _, r in reversed(list(self.messages.items()))
                for b in _buttons(getattr(r, "keyboard", None))]

    @property
    def texts(self) -> list[str]:
        """Texts of the last turn's messages and edits."""
        return [_text(r) for r in self.last if _text(r)]

    @property
    def last_text(self) -> str:
        """The text of the last message or edit shown."""
        shown = [_text(r) for r in self.replies if _text(r)]
        return shown[-1] if shown else ""

    @property
    def answers(self) -> list[AnswerCallback]:
        """Callback answers of the last turn."""
        return [r for r in self.last if isinstance(r, AnswerCallback)]


def _text(reply: Reply) -> str:
    if isinstance(reply, (SendText, EditText)):
        return reply.text
    if isinstance(reply, (SendPhoto, EditPhoto)):
        return reply.caption
    if isinstance(reply, SendInvoice):
        return reply.description
    return ""


def _buttons(keyboard: object) -> list[Button]:
    if isinstance(keyboard, (Inline, ReplyKeyboard)):
        return [b for row in keyboard.rows for b in row]
    return []


def _matches(text: str, label: str | re.Pattern[str]) -> bool:
    return bool(label.search(text)) if isinstance(label, re.Pattern) else label in text


__all__ = ["CoreChat", "Payment"]
