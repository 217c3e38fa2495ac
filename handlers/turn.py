"""One turn of the conversation: the event, who acted, their language and state, and the replies."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from handlers.events import (
    AnswerCallback,
    DeleteMessage,
    EditPhoto,
    EditText,
    Event,
    Inline,
    Keyboard,
    Reply,
    SendPhoto,
    SendText,
)
from handlers.i18n import Translator
from handlers.screen import unchanged
from services.container import Services
from services.conversation import State
from services.customers import CustomerView


@dataclass(frozen=True)
class Settings:
    """What the conversation needs from the configuration."""

    shop_name: str = "Shop"
    admin_user_ids: frozenset[int] = frozenset()
    admin_chat_id: int | None = None
    support_chat_id: int | None = None
    telegram_provider_token: str = ""
    public_url: str = "http://127.0.0.1:8080"
    timezone: str = "Asia/Shanghai"


@dataclass
class Turn:
    """Everything a handler needs, and the replies it adds."""

    event: Event
    services: Services
    customer: CustomerView
    t: Translator
    state: State
    settings: Settings
    replies: list[Reply] = field(default_factory=list)
    state_changed: bool = False
    left: State | None = None  # a step this turn left (the same button again reopens it)

    @property
    def chat_id(self) -> int:
        """The chat the event came from."""
        return self.event.chat_id

    def send(self, text: str, keyboard: Keyboard = None) -> None:
        """A new message in this chat."""
        self.replies.append(SendText(self.chat_id, text, keyboard, self.event.thread_id))

    def photo(self, photo: str, caption: str, keyboard: Keyboard = None) -> None:
        """A photo with a caption in this chat."""
        self.replies.append(SendPhoto(self.chat_id, photo, caption, keyboard, self.event.thread_id))

    def show(self, text: str, keyboard: Inline | None = None) -> None:
        """Edit the pressed message in place when there is one, else send a new one.

        A message that already shows exactly this is left alone (Telegram refuses such an edit).
        A pressed photo cannot become text (editMessageText finds no text in it, and no call
        turns media into text): the text comes as a new message and the photo goes, so the
        chat still shows one screen.
        """
        message_id, pressed = self.event.callback_message_id, self.event.pressed
        if self.event.kind == "callback" and message_id is not None:
            if pressed is not None and pressed.caption:
                self.send(text, keyboard)
                self.replies.append(DeleteMessage(self.chat_id, message_id))
                return
            if pressed is not None and unchanged(pressed, text, keyboard):
                return
            self.replies.append(EditText(self.chat_id, message_id, text, keyboard))
        else:
            self.send(text, keyboard)

    def show_photo(self, photo: str, caption: str, keyboard: Inline | None = None) -> None:
        """The photo in place of the pressed message (a photo or a text: editMessageMedia
        takes both), else a new photo message."""
        message_id = self.event.callback_message_id
        if self.event.kind == "callback" and message_id is not None:
            self.replies.append(EditPhoto(self.chat_id, message_id, photo, caption, keyboard))
        else:
            self.photo(photo, caption, keyboard)

    def answer(self, text: str = "", alert: bool = False) -> None:
        """Answer the button press (once; later calls replace the text)."""
        if self.event.callback_id is None:
            if text:
                self.send(text)
            return
        self.replies = [r for r in self.replies if not isinstance(r, AnswerCallback)]
        self.replies.append(AnswerCallback(self.event.callback_id, text, alert))

    def go(self, name: str, **data: Any) -> None:
        """Move the user to a conversation step, replacing its data."""
        self.state = State(name, data)
        self.state_changed = True

    def remember(self, **data: Any) -> None:
        """Add to the current step's data."""
        self.state.data.update(data)
        self.state_changed = True

    def reset(self) -> None:
        """Leave any step."""
        if self.state.name or self.state.data:
            self.left, self.state = self.state, State()
            self.state_changed = True


Handler = Callable[[Turn], Awaitable[None]]
