"""The core's Replies -> aiogram Bot calls."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    LabeledPrice,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    ShippingOption,
)
from aiogram.types import ForceReply as TgForceReply

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
        return InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data, url=b.url) for b in row]
            for row in keyboard.rows])
    if isinstance(keyboard, ReplyKeyboard):
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=b.text, request_contact=b.request_contact or None,
                                      request_location=b.request_location or None) for b in row]
                      for row in keyboard.rows],
            resize_keyboard=True, one_time_keyboard=keyboard.one_time,
            input_field_placeholder=keyboard.placeholder)
    if isinstance(keyboard, RemoveKeyboard):
        return ReplyKeyboardRemove()
    if isinstance(keyboard, ForceReply):
        return TgForceReply(force_reply=True, selective=keyboard.selective or None,
                            input_field_placeholder=keyboard.placeholder[:64] or None)
    return None


# aiogram's markup for a core keyboard.
markup = cached_markup(_markup)


class Renderer:
    """Sends Replies with one Bot; remembers uploaded photos' file ids to send them once."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._file_ids: dict[str, str] = {}

    async def render(self, replies: list[Reply]) -> None:
        """Send every reply, in order."""
        for reply in replies:
            await self.one(reply)

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
                    reply.chat_id, BufferedInputFile(reply.content, reply.filename),
                    caption=reply.caption or None, parse_mode="HTML",
                    message_thread_id=reply.thread_id)
                return sent.message_id
            case AnswerCallback():
                await self._answer(reply)
            case SendInvoice():
                sent = await bot.send_invoice(
                    reply.chat_id, reply.title, reply.description, reply.payload, reply.currency,
                    [LabeledPrice(label=reply.label, amount=reply.amount)],
                    provider_token=reply.provider_token, need_name=reply.form or None,
                    need_phone_number=reply.form or None,
                    need_shipping_address=reply.form or None, is_flexible=reply.form or None)
                return sent.message_id
            case AnswerShipping():
                await bot.answer_shipping_query(
                    reply.query_id, reply.ok, error_message=reply.error_message,
                    shipping_options=[
                        ShippingOption(id=o.id, title=o.title,
                                       prices=[LabeledPrice(label=o.label, amount=o.amount)])
                        for o in reply.options] if reply.ok else None)
            case AnswerPreCheckout():
                await bot.answer_pre_checkout_query(reply.query_id, reply.ok,
                                                    error_message=reply.error_message)
            case DeleteMessage():
                with contextlib.suppress(TelegramBadRequest):  # already gone: that was the aim
                    await bot.delete_message(reply.chat_id, reply.message_id)
            case CopyMessage():
                replying = (ReplyParameters(message_id=reply.reply_to,
                                            allow_sending_without_reply=True)
                            if reply.reply_to is not None else None)
                copied = await bot.copy_message(reply.chat_id, reply.from_chat_id,
                                                reply.message_id,
                                                message_thread_id=reply.thread_id,
                                                reply_parameters=replying)
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
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                # The core skips edits the pressed message already shows (handlers.screen);
                # one still lands here when an edit of the same message raced it.
                log.info("edit of message %s changed nothing", reply.message_id)
                return reply.message_id
            # A photo card has no text to edit, or the message is gone: show a new message.
            sent = await self.bot.send_message(reply.chat_id, reply.text, parse_mode="HTML",
                                               reply_markup=markup(reply.keyboard))
            return sent.message_id

    async def _photo(self, reply: SendPhoto) -> int:
        if reply.content is not None:  # drawn for this message: nothing to remember
            sent = await self.bot.send_photo(
                reply.chat_id, BufferedInputFile(reply.content, reply.photo), caption=reply.caption,
                parse_mode="HTML", reply_markup=markup(reply.keyboard),
                message_thread_id=reply.thread_id)
            return sent.message_id
        photo = self._source(reply.photo)
        sent = await self.bot.send_photo(reply.chat_id, photo, caption=reply.caption,
                                         parse_mode="HTML", reply_markup=markup(reply.keyboard),
                                         message_thread_id=reply.thread_id)
        self._remember(reply.photo, sent)
        return sent.message_id

    def _source(self, photo: str) -> str | FSInputFile:
        """A photo once uploaded goes by its file id; a path is read and uploaded; any other
        string is a file id or a URL, as Telegram says."""
        path = Path(photo)
        return self._file_ids.get(photo) or (FSInputFile(path) if path.is_file() else photo)

    def _remember(self, photo: str, sent: Message | bool) -> None:
        """The file id Telegram gave a photo sent by path or URL, to send it by id next time."""
        if photo not in self._file_ids and isinstance(sent, Message) and sent.photo:
            self._file_ids[photo] = sent.photo[-1].file_id

    async def _edit_photo(self, reply: EditPhoto) -> int:
        """editMessageMedia: the pressed photo or text becomes this photo card."""
        photo = self._source(reply.photo)
        try:
            edited = await self.bot.edit_message_media(
                InputMediaPhoto(media=photo, caption=reply.caption, parse_mode="HTML"),
                chat_id=reply.chat_id, message_id=reply.message_id,
                reply_markup=markup(reply.keyboard))  # type: ignore[arg-type]
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                log.info("edit of message %s changed nothing", reply.message_id)
                return reply.message_id
            # The message is gone (or too old to edit): the card as a new message.
            return await self._photo(SendPhoto(reply.chat_id, reply.photo, reply.caption,
                                               reply.keyboard))
        self._remember(reply.photo, edited)
        return reply.message_id

    async def _album(self, reply: SendAlbum) -> int:
        """One photo as a photo message, 2-10 as an album (Telegram's limits); the first id."""
        replying = (ReplyParameters(message_id=reply.reply_to, allow_sending_without_reply=True)
                    if reply.reply_to is not None else None)
        if len(reply.photos) == 1:
            sent = await self.bot.send_photo(reply.chat_id, reply.photos[0],
                                             caption=reply.caption or None, parse_mode="HTML",
                                             reply_parameters=replying)
            return sent.message_id
        media = [InputMediaPhoto(media=photo, caption=reply.caption or None if i == 0 else None,
                                 parse_mode="HTML") for i, photo in enumerate(reply.photos)]
        album = await self.bot.send_media_group(reply.chat_id, media,  # type: ignore[arg-type]
                                                reply_parameters=replying)
        return album[0].message_id

    async def _answer(self, reply: AnswerCallback) -> None:
        try:
            await self.bot.answer_callback_query(reply.callback_id, reply.text or None,
                                                 show_alert=reply.alert)
        except TelegramBadRequest as exc:  # too old: the user waited; the rest of the turn stands
            log.info("callback answer refused: %s", exc.message)
