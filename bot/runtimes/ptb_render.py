"""The core's Replies -> python-telegram-bot Bot calls (the twin of aiogram_render)."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    KeyboardButton,
    LabeledPrice,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    ShippingOption,
)
from telegram import ForceReply as TgForceReply
from telegram.error import BadRequest

from bot.runtimes.markup_cache import cached_markup
from handlers.events import (
    AnswerCallback,
    AnswerPreCheckout,
    AnswerShipping,
    CopyMessage,
    CopyMessages,
    CreateTopic,
    DeleteMessage,
    EditCaption,
    EditPhoto,
    EditText,
    ForceReply,
    Inline,
    Keyboard,
    RemoveKeyboard,
    Reply,
    ReplyKeyboard,
    SendAlbum,
    SendDocument,
    SendInvoice,
    SendPhoto,
    SendText,
)

log = logging.getLogger(__name__)
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | TgForceReply | None


def _markup(keyboard: Keyboard) -> Markup:
    if isinstance(keyboard, Inline):
        return InlineKeyboardMarkup([
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in keyboard.rows])
    if isinstance(keyboard, ReplyKeyboard):
        return ReplyKeyboardMarkup(
            [[KeyboardButton(b.text, request_contact=b.request_contact or None,
                             request_location=b.request_location or None) for b in row]
             for row in keyboard.rows],
            resize_keyboard=True, one_time_keyboard=keyboard.one_time,
            input_field_placeholder=keyboard.placeholder)
    if isinstance(keyboard, RemoveKeyboard):
        return ReplyKeyboardRemove()
    if isinstance(keyboard, ForceReply):
        return TgForceReply(selective=keyboard.selective or None,
                            input_field_placeholder=keyboard.placeholder[:64] or None)
    return None


# PTB's markup for a core keyboard.
markup = cached_markup(_markup)


def _replying(message_id: int | None) -> ReplyParameters | None:
    """Reply to that message, and send anyway if it is gone."""
    return (ReplyParameters(message_id, allow_sending_without_reply=True)
            if message_id is not None else None)


class Renderer:
    """Sends Replies with one Bot; remembers uploaded photos' file ids to send them once."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._file_ids: dict[str, str] = {}

    async def one(self, reply: Reply) -> int | None:
        """Send one reply; the id of the message it put on screen, if any."""
        bot = self.bot
        match reply:
            case SendText():
                sent = await bot.send_message(reply.chat_id, reply.text, parse_mode="HTML",
                                              reply_markup=markup(reply.keyboard),
                                              message_thread_id=reply.thread_id,
                                              allow_paid_broadcast=reply.paid or None)
                return sent.message_id
            case EditText():
                return await self._edit(reply)
            case SendPhoto():
                return await self._photo(reply)
            case EditPhoto():
                return await self._edit_photo(reply)
            case SendAlbum():
                return await self._album(reply)
            case SendDocument():
                sent = await bot.send_document(
                    reply.chat_id, InputFile(reply.content, filename=reply.filename),
                    caption=reply.caption or None, parse_mode="HTML",
                    message_thread_id=reply.thread_id)
                return sent.message_id
            case AnswerCallback():
                await self._answer(reply)
            case SendInvoice():
                sent = await bot.send_invoice(
                    reply.chat_id, reply.title, reply.description, reply.payload, reply.currency,
                    [LabeledPrice(reply.label, reply.amount)], provider_token=reply.provider_token,
                    need_name=reply.form or None, need_phone_number=reply.form or None,
                    need_shipping_address=reply.form or None, is_flexible=reply.form or None)
                return sent.message_id
            case AnswerShipping():
                await bot.answer_shipping_query(
                    reply.query_id, reply.ok, error_message=reply.error_message,
                    shipping_options=[
                        ShippingOption(o.id, o.title, [LabeledPrice(o.label, o.amount)])
                        for o in reply.options] if reply.ok else None)
            case AnswerPreCheckout():
                await bot.answer_pre_checkout_query(reply.query_id, reply.ok,
                                                    error_message=reply.error_message)
            case DeleteMessage():
                with contextlib.suppress(BadRequest):  # already gone: that was the aim
                    await bot.delete_message(reply.chat_id, reply.message_id)
            case CopyMessage():
                copied = await bot.copy_message(reply.chat_id, reply.from_chat_id,
                                                reply.message_id,
                                                message_thread_id=reply.thread_id,
                                                reply_parameters=_replying(reply.reply_to))
                return copied.message_id
            case CopyMessages():
                return (await self.copies(reply))[0]
            case EditCaption():
                await bot.edit_message_caption(chat_id=reply.chat_id, message_id=reply.message_id,
                                               caption=reply.caption, parse_mode="HTML")
                return reply.message_id
            case CreateTopic():
                topic = await bot.create_forum_topic(reply.chat_id, reply.name[:128])
                return topic.message_thread_id
        return None

    async def copies(self, reply: CopyMessages) -> list[int]:
        """copyMessages: the copies' ids, in order (Telegram skips originals that are gone)."""
        sent = await self.bot.copy_messages(reply.chat_id, reply.from_chat_id,
                                            list(reply.message_ids),
                                            message_thread_id=reply.thread_id)
        return [m.message_id for m in sent]

    async def _edit(self, reply: EditText) -> int:
        try:
            await self.bot.edit_message_text(reply.text, chat_id=reply.chat_id,
                                             message_id=reply.message_id, parse_mode="HTML",
                                             reply_markup=markup(reply.keyboard))  # type: ignore[arg-type]
            return reply.message_id
        except BadRequest as exc:
            # PTB drops Telegram's "Bad Request: " and capitalises the rest: compare lower case.
            if "message is not modified" in exc.message.lower():
                log.info("edit of message %s changed nothing", reply.message_id)
                return reply.message_id
            # A photo card has no text to edit, or the message is gone: show a new message.
            sent = await self.bot.send_message(reply.chat_id, reply.text, parse_mode="HTML",
                                               reply_markup=markup(reply.keyboard))
            return sent.message_id

    async def _photo(self, reply: SendPhoto) -> int:
        if reply.content is not None:  # drawn for this message: nothing to remember
            sent = await self.bot.send_photo(
                reply.chat_id, InputFile(reply.content, filename=reply.photo),
                caption=reply.caption, parse_mode="HTML", reply_markup=markup(reply.keyboard),
                message_thread_id=reply.thread_id)
            return sent.message_id
        photo = self._source(reply.photo)
        sent = await self.bot.send_photo(reply.chat_id, photo, caption=reply.caption,
                                         parse_mode="HTML", reply_markup=markup(reply.keyboard),
                                         message_thread_id=reply.thread_id)
        self._remember(reply.photo, sent)
        return sent.message_id

    def _source(self, photo: str) -> str | Path:
        """A photo once uploaded goes by its file id; a path is read and uploaded; any other
        string is a file id or a URL, as Telegram says."""
        path = Path(photo)
        return self._file_ids.get(photo) or (path if path.is_file() else photo)

    def _remember(self, photo: str, sent: Message | bool) -> None:
        """The file id Telegram gave a photo sent by path or URL, to send it by id next time."""
        if photo not in self._file_ids and isinstance(sent, Message) and sent.photo:
            self._file_ids[photo] = sent.photo[-1].file_id

    async def _edit_photo(self, reply: EditPhoto) -> int:
        """editMessageMedia: the pressed photo or text becomes this photo card."""
        photo = self._source(reply.photo)
        # In an InputMedia PTB takes a path for a local Bot API server's file:// only: the
        # file's content is what uploads it to Telegram.
        media = photo.read_bytes() if isinstance(photo, Path) else photo
        name = photo.name if isinstance(photo, Path) else None
        try:
            edited = await self.bot.edit_message_media(
                InputMediaPhoto(media, caption=reply.caption, parse_mode="HTML", filename=name),
                chat_id=reply.chat_id, message_id=reply.message_id,
                reply_markup=markup(reply.keyboard))  # type: ignore[arg-type]
        except BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                log.info("edit of message %s changed nothing", reply.message_id)
                return reply.message_id
            # The message is gone (or too old to edit): the card as a new message.
            return await self._photo(SendPhoto(reply.chat_id, reply.photo, reply.caption,
                                               reply.keyboard))
        self._remember(reply.photo, edited)
        return reply.message_id

    async def _album(self, reply: SendAlbum) -> int:
        """One photo as a photo message, 2-10 as an album (Telegram's limits); the first id."""
        if len(reply.photos) == 1:
            sent = await self.bot.send_photo(reply.chat_id, reply.photos[0],
                                             caption=reply.caption or None, parse_mode="HTML",
                                             reply_parameters=_replying(reply.reply_to))
            return sent.message_id
        media = [InputMediaPhoto(photo, caption=reply.caption or None if i == 0 else None,
                                 parse_mode="HTML") for i, photo in enumerate(reply.photos)]
        album = await self.bot.send_media_group(reply.chat_id, media,
                                                reply_parameters=_replying(reply.reply_to))
        return album[0].message_id

    async def _answer(self, reply: AnswerCallback) -> None:
        try:
            await self.bot.answer_callback_query(reply.callback_id, reply.text or None,
                                                 show_alert=reply.alert)
        except BadRequest as exc:  # too old: the user waited; the rest of the turn stands
            log.info("callback answer refused: %s", exc.message)
