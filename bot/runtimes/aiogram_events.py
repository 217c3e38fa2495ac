"""aiogram Update -> the core's Event."""
from __future__ import annotations

from dataclasses import replace

from aiogram.types import InlineKeyboardMarkup, Message, MessageEntity, Update
from aiogram.types import User as TgUser

from bot.runtimes.base import SERVICE, pre_checkout_event, shipping_event
from handlers.events import Button, Entity, Event, Inline, Payment, Pressed, User


def _user(u: TgUser) -> User:
    return User(u.id, u.first_name, u.last_name, u.username, u.language_code)


def _from_message(update_id: int, m: Message) -> Event | None:
    if m.from_user is None:
        return None
    base = {"update_id": update_id, "user": _user(m.from_user), "chat_id": m.chat.id,
            "chat_type": m.chat.type, "message_id": m.message_id,
            "thread_id": m.message_thread_id if m.is_topic_message else None,
            "reply_to_message_id": _replied(m), "media_group_id": m.media_group_id}
    if any(getattr(m, name, None) is not None for name in SERVICE):
        return Event("service", **base)  # type: ignore[arg-type]
    if m.successful_payment is not None:
        p = m.successful_payment
        return Event("successful_payment", **base, payment=Payment(  # type: ignore[arg-type]
            p.invoice_payload, p.currency, p.total_amount, None,
            p.telegram_payment_charge_id, p.provider_payment_charge_id))
    if m.contact is not None:
        return Event("contact", **base, contact_phone=m.contact.phone_number,  # type: ignore[arg-type]
                     contact_user_id=m.contact.user_id)
    if m.location is not None:
        return Event("location", **base,  # type: ignore[arg-type]
                     location=(m.location.latitude, m.location.longitude))
    if m.photo:
        return Event("photo", **base, file_id=m.photo[-1].file_id,  # type: ignore[arg-type]
                     text=m.caption or "")
    if m.document is not None:
        return Event("document", **base, file_id=m.document.file_id,  # type: ignore[arg-type]
                     file_name=m.document.file_name, text=m.caption or "")
    text = m.text or ""
    if text.startswith("/"):
        head, _, args = text.partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        return Event("command", **base, text=text, command=name, args=args.strip())  # type: ignore[arg-type]
    return Event("message" if m.text is not None else "other", **base, text=text)  # type: ignore[arg-type]


def _entity(e: MessageEntity) -> Entity:
    extra = e.url or e.language or e.custom_emoji_id or (str(e.user.id) if e.user else "")
    return Entity(e.type, e.offset, e.length, extra)


def _keyboard(markup: InlineKeyboardMarkup | None) -> Inline | None:
    if markup is None:
        return None
    # Only callback and URL buttons have a twin in the core; any other kind never compares equal.
    return Inline(tuple(tuple(Button(b.text, b.callback_data, b.url) for b in row)
                        for row in markup.inline_keyboard))


def pressed(message: object) -> Pressed | None:
    """The pressed message's text, formatting and buttons (None for an inaccessible one)."""
    if not isinstance(message, Message):
        return None
    markup = (message.reply_markup if isinstance(message.reply_markup, InlineKeyboardMarkup)
              else None)
    if message.text is not None:
        return Pressed(message.text, tuple(map(_entity, message.entities or ())), _keyboard(markup))
    return Pressed(message.caption or "", tuple(map(_entity, message.caption_entities or ())),
                   _keyboard(markup), caption=True)


def _replied(m: Message) -> int | None:
    """The message this one answers; a topic's opening message is not an answer to anything
    (Telegram sets it as reply_to_message of every message in the topic)."""
    quoted = m.reply_to_message
    if quoted is None or quoted.forum_topic_created is not None:
        return None
    return quoted.message_id


def _edited(update_id: int, m: Message) -> Event | None:
    """An edited text or caption (support relays the edit to the message's copy)."""
    event = _from_message(update_id, m)
    if event is None:
        return None
    caption = m.text is None
    return replace(event, kind="edited", text=(m.caption or "") if caption else (m.text or ""),
                   is_caption=caption, command=None, args="")


def to_event(update: Update) -> Event | None:
    """The Event for an update, or None for kinds the shop does not handle."""
    if update.message is not None:
        return _from_message(update.update_id, update.message)
    if update.edited_message is not None:
        return _edited(update.update_id, update.edited_message)
    if update.callback_query is not None:
        q = update.callback_query
        chat = q.message.chat if q.message is not None else None
        return Event(
            "callback", update.update_id, _user(q.from_user),
            chat_id=chat.id if chat else q.from_user.id, chat_type=chat.type if chat else "private",
            callback_id=q.id, callback_data=q.data,
            callback_message_id=q.message.message_id if q.message is not None else None,
            thread_id=getattr(q.message, "message_thread_id", None), pressed=pressed(q.message),
        )
    if update.pre_checkout_query is not None:
        pq = update.pre_checkout_query
        return pre_checkout_event(update.update_id, _user(pq.from_user), pq)
    if update.shipping_query is not None:
        sq = update.shipping_query
        return shipping_event(update.update_id, _user(sq.from_user), sq)
    return None
