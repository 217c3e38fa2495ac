"""The conversation's own types: one Event in, a list of Replies out. No Telegram library here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from services.checkout_form import ShippingAddress as ShippingAddress

EventKind = Literal[
    "command", "message", "callback", "contact", "location", "photo", "document",
    "pre_checkout", "shipping_query", "successful_payment", "edited", "service", "other",
]


@dataclass(frozen=True)
class User:
    """The person who acted."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        """First and last name."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True)
class OrderInfo:
    """What the customer filled in on Telegram's payment form (each part only if asked)."""

    name: str = ""
    phone_number: str = ""
    shipping_address: ShippingAddress | None = None


@dataclass(frozen=True)
class Payment:
    """A Telegram Payments pre-checkout query or successful payment."""

    payload: str
    currency: str
    total_amount: int
    query_id: str | None = None
    telegram_charge_id: str | None = None
    provider_charge_id: str | None = None
    shipping_option_id: str | None = None
    order_info: OrderInfo | None = None


@dataclass(frozen=True)
class ShippingQuery:
    """Telegram asks where the invoice can be delivered: the address typed on its form."""

    query_id: str
    payload: str
    address: ShippingAddress


@dataclass(frozen=True)
class Entity:
    """A formatting span of a message as Telegram reports it (offsets in UTF-16 code units)."""

    type: str
    offset: int
    length: int
    extra: str = ""  # a link's URL, a mentioned user's id, a code block's language, an emoji id


@dataclass(frozen=True)
class Pressed:
    """The message whose button was pressed, as Telegram shows it at the press."""

    text: str  # the caption of a media message (see `caption`)
    entities: tuple[Entity, ...] = ()
    keyboard: Inline | None = None
    caption: bool = False


@dataclass(frozen=True)
class Event:
    """Anything a user did that reaches the bot."""

    kind: EventKind
    update_id: int
    user: User
    chat_id: int
    chat_type: str = "private"
    message_id: int | None = None
    thread_id: int | None = None
    text: str = ""
    command: str | None = None
    args: str = ""
    callback_id: str | None = None
    callback_data: str | None = None
    callback_message_id: int | None = None
    # What the pressed message shows now (None when Telegram no longer sends it: too old).
    pressed: Pressed | None = field(default=None, repr=False)
    # The message this one replies to (a prompt's force_reply makes an admin's answer one).
    reply_to_message_id: int | None = None
    contact_phone: str | None = None
    contact_user_id: int | None = None
    location: tuple[float, float] | None = None
    file_id: str | None = None
    file_name: str | None = None
    # A document's content, downloaded by the runtime for the admin chat (the core cannot).
    file_bytes: bytes | None = field(default=None, repr=False)
    payment: Payment | None = None
    shipping: ShippingQuery | None = None
    # An edited message ("edited"): its new text is a media message's caption.
    is_caption: bool = False
    # A piece of an album: Telegram sends each photo of it as a message of its own.
    media_group_id: str | None = None

    @property
    def is_private(self) -> bool:
        """True in the user's private chat with the bot."""
        return self.chat_type == "private"


@dataclass(frozen=True)
class Button:
    """An inline button (callback data or a URL) or a reply-keyboard button."""

    text: str
    data: str | None = None
    url: str | None = None
    request_contact: bool = False
    request_location: bool = False


Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Inline:
    """An inline keyboard under a message."""

    rows: Rows


@dataclass(frozen=True)
class ReplyKeyboard:
    """A keyboard that replaces the user's keyboard (e.g. "share my phone")."""

    rows: Rows
    one_time: bool = True
    placeholder: str | None = None


@dataclass(frozen=True)
class RemoveKeyboard:
    """Take a reply keyboard away."""


@dataclass(frozen=True)
class ForceReply:
    """Ask for a typed answer: the person's app opens a reply to this message.

    In a group a bot in privacy mode receives replies to its messages, not plain text, so every
    typed answer in the admin chat is asked for this way. `selective`: only for the people the
    message mentions (a text mention counts) or replies to. `step` names the conversation step
    that asked (the core's own mark, not sent to Telegram), so the answer finds its question.
    """

    placeholder: str  # 1-64 characters, in the reader's language
    selective: bool = True
    step: str = ""


Keyboard = Inline | ReplyKeyboard | RemoveKeyboard | ForceReply | None


@dataclass(frozen=True)
class SendText:
    """A new text message (HTML parse mode). `paid`: sent with allow_paid_broadcast (up to
    1000 messages/s instead of about 30, 0.1 Telegram Star each), for notifications when the
    shop pays for it."""

    chat_id: int
    text: str
    keyboard: Keyboard = None
    thread_id: int | None = None
    paid: bool = False


@dataclass(frozen=True)
class EditText:
    """Replace the text (and inline keyboard) of a message the bot sent."""

    chat_id: int
    message_id: int
    text: str
    keyboard: Inline | None = None


@dataclass(frozen=True)
class SendPhoto:
    """A photo (a file path, a URL, a Telegram file id, or bytes the bot drew) with a caption."""

    chat_id: int
    photo: str  # with `content`, the file name
    caption: str
    keyboard: Keyboard = None
    thread_id: int | None = None
    content: bytes | None = field(default=None, repr=False)  # a chart drawn by the bot


@dataclass(frozen=True)
class EditPhoto:
    """Make a message the bot sent show this photo, caption and keyboard (editMessageMedia).

    A photo changes its picture in place, and a text message becomes the photo (Bot API 10.1
    lets editMessageMedia "replace a text ... with a media"); the way back, a photo becoming
    text, has no Bot API call (see Turn.show).
    """

    chat_id: int
    message_id: int
    photo: str  # a file path, a URL or a Telegram file id, as in SendPhoto
    caption: str
    keyboard: Inline | None = None


@dataclass(frozen=True)
class SendAlbum:
    """Photos already on Telegram (file ids), as one album, optionally replying to a message."""

    chat_id: int
    photos: tuple[str, ...]  # 1-10 file ids (one photo is a plain photo message)
    caption: str = ""  # under the first photo
    reply_to: int | None = None  # sent anyway if that message is gone


@dataclass(frozen=True)
class SendDocument:
    """A file made by the bot (a shipping slip PDF, a CSV)."""

    chat_id: int
    filename: str
    content: bytes
    caption: str = ""
    thread_id: int | None = None


@dataclass(frozen=True)
class AnswerCallback:
    """The small notice (or alert) answering a button press; every press gets one."""

    callback_id: str
    text: str = ""
    alert: bool = False


@dataclass(frozen=True)
class SendInvoice:
    """A Telegram Payments invoice; `form`: Telegram's form asks the name, phone and address,
    and the delivery option (is_flexible: the bot answers a shipping query with the fees)."""

    chat_id: int
    title: str
    description: str
    payload: str
    currency: str
    amount: int
    provider_token: str
    label: str
    form: bool = False


@dataclass(frozen=True)
class ShippingOption:
    """A delivery option offered on Telegram's form, with its fee as one price portion."""

    id: str
    title: str
    label: str
    amount: int


@dataclass(frozen=True)
class AnswerShipping:
    """The answer to a shipping query: the options for that address, or why there are none."""

    query_id: str
    ok: bool
    options: tuple[ShippingOption, ...] = ()
    error_message: str | None = None


@dataclass(frozen=True)
class AnswerPreCheckout:
    """The answer to a pre-checkout query (must arrive within 10 seconds)."""

    query_id: str
    ok: bool
    error_message: str | None = None


@dataclass(frozen=True)
class DeleteMessage:
    """Remove a message the bot sent (e.g. an admin card that moves to the bottom)."""

    chat_id: int
    message_id: int


@dataclass(frozen=True)
class CopyMessage:
    """A copy of a message (any kind: text, photo, voice, sticker ...) in another chat."""

    chat_id: int
    from_chat_id: int
    message_id: int
    thread_id: int | None = None
    reply_to: int | None = None  # sent anyway if that message is gone


@dataclass(frozen=True)
class CopyMessages:
    """Copies of several messages of one chat, in order (an album stays an album); the
    renderer returns the first copy's id, `Send.copies` all of them."""

    chat_id: int
    from_chat_id: int
    message_ids: tuple[int, ...]
    thread_id: int | None = None


@dataclass(frozen=True)
class EditCaption:
    """Replace the caption of a media message the bot sent."""

    chat_id: int
    message_id: int
    caption: str


@dataclass(frozen=True)
class CreateTopic:
    """A new topic in a forum; its message_thread_id is what the renderer returns."""

    chat_id: int
    name: str  # 1-128 characters


Reply = (
    SendText | EditText | SendPhoto | EditPhoto | SendAlbum | SendDocument | AnswerCallback
    | SendInvoice | AnswerPreCheckout | AnswerShipping | DeleteMessage | CopyMessage
    | CopyMessages | EditCaption
    | CreateTopic
)


GONE_TOPIC = ("message thread not found", "topic_deleted", "topic_closed")


class DeliveryError(Exception):
    """Telegram did not take a reply: the project's own error, whichever framework sent it.

    This base class alone: the call did not get through (network, Telegram's 5xx, a timeout),
    after the runtime's own retries; trying again later may well work. `description` is
    compared in lower case (python-telegram-bot rewrites the case of Telegram's words).
    """

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class RetryAfter(DeliveryError):
    """429: still flooded after the runtime's retries; try again in `seconds`."""

    def __init__(self, seconds: float, description: str = "") -> None:
        super().__init__(description or f"Too Many Requests: retry after {seconds:g}")
        self.seconds = seconds


class Refused(DeliveryError):
    """Telegram refused a reply: its description, and `forbidden` for a 403 (the person
    blocked the bot, or the bot is not in the chat)."""

    def __init__(self, description: str, forbidden: bool = False) -> None:
        super().__init__(description)
        self.forbidden = forbidden

    @property
    def topic_gone(self) -> bool:
        """The forum topic was deleted or closed: Telegram answers "message thread not found"
        or TOPIC_DELETED for a deleted one, TOPIC_CLOSED for a closed one."""
        text = self.description.lower()
        return any(answer in text for answer in GONE_TOPIC)


class Forbidden(Refused):
    """403: the person blocked the bot, or the bot is not (or no longer) in the chat."""

    def __init__(self, description: str) -> None:
        super().__init__(description, forbidden=True)


class BadRequest(Refused):
    """400: Telegram will not do this call as it stands (chat not found, message gone ...)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)


@dataclass
class Replies:
    """A reply list being built by a handler."""

    items: list[Reply] = field(default_factory=list)

    def add(self, *replies: Reply) -> Replies:
        """Append replies; returns self for chaining."""
        self.items.extend(replies)
        return self
