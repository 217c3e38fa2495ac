"""Photos, documents and other media: uploads, file_id reuse, URLs, getFile."""

from __future__ import annotations

import io
import mimetypes
from typing import Any

from sandbox.server.errors import NOT_MODIFIED, bad_request
from sandbox.server.methods.common import (
    Call,
    check_markup,
    deliver,
    method,
    reply_to,
    target_chat,
    text_content,
    thread_for,
)
from sandbox.server.methods.messages import edit_target, edited
from sandbox.server.models import FileRecord
from sandbox.server.validation import UploadedFile

_KIND_NAMES = {
    "photo": "Photo",
    "document": "Document",
    "video": "Video",
    "audio": "Audio",
    "voice": "Voice",
    "animation": "Animation",
    "sticker": "Sticker",
    "video_note": "VideoNote",
}
# Which stored kinds may be re-sent as which (Telegram converts freely among documents).
_COMPATIBLE = {
    "document": {"document", "video", "audio", "animation", "voice"},
    "animation": {"animation", "document"},
    "video": {"video", "document"},
    "audio": {"audio", "document"},
}


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional for the sandbox; accept bytes unchecked then
        return (1, 1)
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (OSError, ValueError):  # PIL's UnidentifiedImageError is an OSError
        return None


def resolve_file(call: Call, value: Any, kind: str) -> FileRecord:
    """Turn an upload, attach://name, URL or file_id into a stored file record."""
    uploads: dict[str, UploadedFile] = call.params.get("_uploads", {})
    if isinstance(value, str) and value.startswith("attach://"):
        value = uploads.get(value[len("attach://") :])
        if value is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
    state = call.state
    if isinstance(value, UploadedFile):
        if len(value.data) > 50 * 1024 * 1024:
            raise TelegramTooLarge()
        width = height = 0
        if kind == "photo":
            size = _image_size(value.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
        mime = value.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(value.filename or "")[0] or mime
        return state.store_file(
            kind,
            value.data,
            file_name=value.filename or None,
            mime_type=mime,
            width=width,
            height=height,
        )
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        # No internet in the sandbox: remember the URL, serve empty content.
        name = value.rstrip("/").rsplit("/", 1)[-1] or "file"
        return state.store_file(
            kind,
            b"",
            file_name=name,
            url=value,
            mime_type=mimetypes.guess_type(name)[0],
            width=800 if kind == "photo" else 0,
            height=600 if kind == "photo" else 0,
        )
    rec = state.files.get(str(value))
    if rec is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if rec.kind != kind and kind not in _COMPATIBLE.get(rec.kind, set()):
        raise bad_request(
            f"can't use file of type {_KIND_NAMES.get(rec.kind, rec.kind)} as "
            f"{_KIND_NAMES.get(kind, kind)}"
        )
    return rec


class TelegramTooLarge(Exception):
    """Raised for uploads over the Bot API's 50 MB limit."""


def photo_sizes(call: Call, rec: FileRecord) -> list[dict[str, Any]]:
    """PhotoSize list like Telegram's: a thumbnail and the full size, distinct file_ids."""
    sizes = []
    w, h = rec.width or 1, rec.height or 1
    scale = min(1.0, 90 / max(w, h))
    if scale < 1.0:
        thumb = call.state.store_file(
            "photo", rec.data, width=max(1, int(w * scale)), height=max(1, int(h * scale))
        )
        sizes.append(
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "file_size": len(rec.data),
                "width": thumb.width,
                "height": thumb.height,
            }
        )
    sizes.append(
        {
            "file_id": rec.file_id,
            "file_unique_id": rec.file_unique_id,
            "file_size": len(rec.data),
            "width": w,
            "height": h,
        }
    )
    return sizes


def file_object(rec: FileRecord, kind: str) -> dict[str, Any]:
    """Document/Video/Audio/... object of a stored file."""
    out: dict[str, Any] = {
        "file_id": rec.file_id,
        "file_unique_id": rec.file_unique_id,
        "file_size": len(rec.data),
    }
    if rec.file_name:
        out["file_name"] = rec.file_name
    if rec.mime_type:
        out["mime_type"] = rec.mime_type
    if kind in ("video", "animation", "video_note"):
        out.update({"width": rec.width, "height": rec.height, "duration": 0})
        if kind == "video_note":
            out = {
                k: v
                for k, v in out.items()
                if k not in ("file_name", "mime_type", "width", "height")
            } | {"length": 0}
    if kind in ("audio", "voice"):
        out["duration"] = 0
    if kind == "sticker":
        out.update(
            {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        )
    return out


async def _send_media(call: Call, kind: str) -> dict[str, Any]:
    chat = target_chat(call)
    thread = thread_for(call, chat)
    caption, entities = text_content(
        call.get("caption") or "",
        call.get("parse_mode"),
        call.get("caption_entities"),
        caption=True,
    )
    markup = check_markup(call.get("reply_markup"))
    reply = reply_to(call, chat)
    try:
        rec = resolve_file(call, call.get(kind), kind)
    except TelegramTooLarge:
        raise bad_request("file is too big") from None
    content: dict[str, Any] = {}
    content[kind] = photo_sizes(call, rec) if kind == "photo" else file_object(rec, kind)
    if caption:
        content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
    if call.get("has_spoiler"):
        content["has_media_spoiler"] = True
    return deliver(call, chat, content, thread=thread, markup=markup, reply=reply)


@method("sendPhoto")
async def send_photo(call: Call) -> dict[str, Any]:
    """sendPhoto."""
    return await _send_media(call, "photo")


@method("sendDocument")
async def send_document(call: Call) -> dict[str, Any]:
    """sendDocument."""
    return await _send_media(call, "document")


@method("sendVideo", "sendAudio", "sendVoice", "sendAnimation", "sendSticker", "sendVideoNote")
async def send_other_media(call: Call) -> dict[str, Any]:
    """The remaining single-file send methods."""
    kind = {
        "sendVideo": "video",
        "sendAudio": "audio",
        "sendVoice": "voice",
        "sendAnimation": "animation",
        "sendSticker": "sticker",
        "sendVideoNote": "video_note",
    }[call.method]
    return await _send_media(call, kind)


@method("sendMediaGroup")
async def send_media_group(call: Call) -> list[dict[str, Any]]:
    """sendMediaGroup: 2-10 items, one message each sharing a media_group_id."""
    media = call.get("media") or []
    if not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media in the album")
    chat = target_chat(call)
    thread = thread_for(call, chat)
    reply = reply_to(call, chat)  # every message of the album replies to it, as in Telegram
    group_id = str(abs(hash((call.bot.id, chat.id, len(call.state.files)))))
    out = []
    for item in media:
        kind = item.get("type", "document")
        rec = resolve_file(call, item.get("media"), kind)
        content: dict[str, Any] = {
            "media_group_id": group_id,
            kind: photo_sizes(call, rec) if kind == "photo" else file_object(rec, kind),
        }
        if item.get("caption"):
            caption, entities = text_content(
                item["caption"], item.get("parse_mode"), item.get("caption_entities"), caption=True
            )
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        out.append(deliver(call, chat, content, thread=thread, reply=reply))
    return out


@method("getFile")
async def get_file(call: Call) -> dict[str, Any]:
    """getFile: a file_path downloadable at /file/bot<token>/<file_path>."""
    rec = call.state.files.get(str(call.get("file_id")))
    if rec is None:
        raise bad_request("wrong file_id or the file is temporarily unavailable")
    if len(rec.data) > call.state.config.max_file_size:
        raise bad_request("file is too big")
    return {
        "file_id": rec.file_id,
        "file_unique_id": rec.file_unique_id,
        "file_size": len(rec.data),
        "file_path": rec.file_path,
    }


# What editMessageMedia may replace (TDLib's can_edit_message_media): a photo, video,
# animation, audio or document changes its media, and text becomes media (Bot API 10.1: "or to
# replace a text or a rich message with a media"). A voice note, sticker, video note, location,
# contact, poll, dice or invoice keeps its content: "message media can't be edited".
_MEDIA_EDITABLE = ("text", "photo", "video", "animation", "audio", "document")
_EDIT_KINDS = ("photo", "video", "animation", "audio", "document")
# An album holds photos and videos together, or only documents, or only audio files.
_ALBUM_ALONE = ("document", "audio")
# Keys of a message's content, all replaced by the new media and its caption.
_CONTENT = (
    "text", "entities", "link_preview_options", "caption", "caption_entities",
    "has_media_spoiler", "show_caption_above_media", *_KIND_NAMES,
)


def _media_of(msg: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, file_unique_id) of a message's media; None for text and the rest."""
    for kind in _EDIT_KINDS:
        value = msg.get(kind)
        if value:
            item = value[-1] if isinstance(value, list) else value
            return kind, str(item.get("file_unique_id"))
    return None


@method("editMessageMedia")
async def edit_message_media(call: Call) -> dict[str, Any]:
    """editMessageMedia: a message's media (or its text) replaced by new media, as Telegram
    does it: the old caption goes with the old content, the same media, caption and keyboard
    again is "message is not modified", an album keeps its kind of media."""
    # Telegram reads the InputMedia first, then the message, then the caption and the album.
    item = call.get("media") or {}
    kind = item.get("type")
    if kind not in _EDIT_KINDS:  # live photos are not modelled by the sandbox
        raise bad_request(f'can\'t parse InputMedia: type "{kind}" is unsupported')
    chat, msg = edit_target(call)
    old = next((k for k in _MEDIA_EDITABLE if k in msg), None)
    if old is None:
        raise bad_request("message media can't be edited")
    caption, entities = text_content(
        item.get("caption") or "",
        item.get("parse_mode"),
        item.get("caption_entities"),
        caption=True,
    )
    if msg.get("media_group_id") and (kind in _ALBUM_ALONE or old in _ALBUM_ALONE) and kind != old:
        raise bad_request("can't change media type in the album")
    markup = check_markup(call.get("reply_markup"))
    try:
        rec = resolve_file(call, item.get("media"), kind)
    except TelegramTooLarge:
        raise bad_request("file is too big") from None
    content: dict[str, Any] = {
        kind: photo_sizes(call, rec) if kind == "photo" else file_object(rec, kind)
    }
    if caption:
        content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
    if item.get("has_spoiler"):
        content["has_media_spoiler"] = True
    if item.get("show_caption_above_media"):
        content["show_caption_above_media"] = True
    before = {k: msg[k] for k in _CONTENT if k in msg}
    if (
        _media_of(msg) == _media_of(content)
        and {k: v for k, v in before.items() if k not in _EDIT_KINDS}
        == {k: v for k, v in content.items() if k not in _EDIT_KINDS}
        and msg.get("reply_markup") == markup
    ):
        raise bad_request(NOT_MODIFIED)
    call.state.flood.check(call.bot.id, chat.id, chat.type, call.method)
    for key in before:
        del msg[key]
    msg.update(content)
    return edited(call, chat, msg, markup)
