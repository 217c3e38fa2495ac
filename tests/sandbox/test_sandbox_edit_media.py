"""editMessageMedia as Telegram (Bot API 10.1) does it: media replaced in place, text turned into
media, the old caption gone with the old content, and Telegram's refusals word for word."""

from __future__ import annotations

import json

import aiohttp

from sandbox.client import TINY_PNG
from sandbox.testing import Sandbox

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
KEYBOARD = {"inline_keyboard": [[{"text": "Back", "callback_data": "back"}]]}


async def test_a_photo_changes_its_picture_caption_and_keyboard_in_place(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    _, first = await api("sendPhoto", chat_id=alice.id, photo="https://example.com/tea.jpg",
                         caption="<b>Tea</b>", parse_mode="HTML")
    message_id = first["result"]["message_id"]
    code, body = await api(
        "editMessageMedia", chat_id=alice.id, message_id=message_id,
        media={"type": "photo", "media": "https://example.com/mug.jpg",
               "caption": "<b>Mug</b> · CN¥25", "parse_mode": "HTML"},
        reply_markup=KEYBOARD)
    assert code == 200, body
    edited = body["result"]
    assert edited["message_id"] == message_id and "edit_date" in edited
    assert edited["caption"] == "Mug · CN¥25"
    assert edited["caption_entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert edited["photo"][-1]["file_id"] != first["result"]["photo"][-1]["file_id"]
    assert edited["reply_markup"] == KEYBOARD
    [shown] = [m for m in alice.messages if m.message_id == message_id]
    assert shown.text == "Mug · CN¥25" and len(alice.messages) == 1  # what Alice sees: one card

    # The same picture, caption and keyboard again: Telegram refuses the edit.
    same = {"type": "photo", "media": edited["photo"][-1]["file_id"],
            "caption": "<b>Mug</b> · CN¥25", "parse_mode": "HTML"}
    code, body = await api("editMessageMedia", chat_id=alice.id, message_id=message_id,
                           media=same, reply_markup=KEYBOARD)
    assert (code, body["description"]) == (400, NOT_MODIFIED)
    # The same picture without its caption is a change: the old caption goes with the old media.
    code, body = await api("editMessageMedia", chat_id=alice.id, message_id=message_id,
                           media={"type": "photo", "media": same["media"]})
    assert code == 200 and "caption" not in body["result"] and "reply_markup" not in body["result"]


async def test_a_text_message_becomes_a_photo_uploaded_with_the_edit(sb: Sandbox) -> None:
    alice = sb.user("Alice")
    url = f"{sb.api_url}/bot{sb.token}/"
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "sendMessage", json={
                "chat_id": alice.id, "text": "Choose a category",
                "link_preview_options": {"is_disabled": True}, "reply_markup": KEYBOARD}) as r:
            sent = (await r.json())["result"]
        form = aiohttp.FormData()
        form.add_field("chat_id", str(alice.id))
        form.add_field("message_id", str(sent["message_id"]))
        form.add_field("media", json.dumps({"type": "photo", "media": "attach://card",
                                            "caption": "Green tea"}))
        form.add_field("card", TINY_PNG, filename="tea.png", content_type="image/png")
        async with session.post(url + "editMessageMedia", data=form) as r:
            body = await r.json()
    assert body["ok"], body
    card = body["result"]
    assert card["message_id"] == sent["message_id"] and card["caption"] == "Green tea"
    assert "text" not in card and "link_preview_options" not in card and "photo" in card
    assert "reply_markup" not in card  # an edit without reply_markup takes the keyboard away
    assert [m.message_id for m in alice.messages] == [sent["message_id"]]
    assert "photo" in alice.messages[-1]


async def test_refusals_word_for_word(sb: Sandbox, api) -> None:
    sb.set_limits(enabled=False)
    alice = sb.user("Alice")
    photo = {"type": "photo", "media": "https://example.com/a.jpg"}
    _, text = await api("sendMessage", chat_id=alice.id, text="hi")
    text_id = text["result"]["message_id"]

    async def refused(expected: str, **params: object) -> None:
        params = {"chat_id": alice.id, "message_id": text_id, "media": photo, **params}
        code, body = await api("editMessageMedia", **params)
        assert (code, body["description"]) == (400, f"Bad Request: {expected}"), params

    await refused("message to edit not found", message_id=999)
    code, _ = await api("editMessageMedia", chat_id=alice.id, message_id=text_id,
                        media={"type": "sticker", "media": "https://example.com/s.webp"})
    assert code == 400  # not an InputMedia: refused before the message is looked at
    await refused("message caption is too long", media={**photo, "caption": "x" * 1025})
    await refused("wrong file identifier/HTTP URL specified",
                  media={"type": "photo", "media": "no-such-file-id"})
    _, location = await api("sendLocation", chat_id=alice.id, latitude=31.2, longitude=121.5)
    await refused("message media can't be edited", message_id=location["result"]["message_id"])
    theirs = await alice.send_photo(caption="mine")  # the customer's own message
    await refused("message can't be edited", message_id=theirs.message_id)
    _, album = await api("sendMediaGroup", chat_id=alice.id, media=[photo, photo])
    first = album["result"][0]["message_id"]
    await refused("can't change media type in the album", message_id=first,
                  media={"type": "document", "media": "https://example.com/a.pdf"})
    code, body = await api("editMessageMedia", chat_id=alice.id, message_id=first,
                           media={"type": "video", "media": "https://example.com/a.mp4"})
    assert code == 200 and "video" in body["result"] and "photo" not in body["result"]
    # A caption of exactly 1024 characters is fine; the text message is a photo now.
    code, body = await api("editMessageMedia", chat_id=alice.id, message_id=text_id,
                           media={**photo, "caption": "é" * 1024})
    assert code == 200 and len(body["result"]["caption"]) == 1024
    code, body = await api("editMessageText", chat_id=alice.id, message_id=text_id, text="back")
    assert (code, body["description"]) == (400, "Bad Request: there is no text in the message "
                                                "to edit")  # no way back to text


async def test_edits_do_not_count_against_the_send_limits(sb: Sandbox, api) -> None:
    sb.set_limits(private_burst=1, private_per_second=0.01)
    alice = sb.user("Alice")
    _, sent = await api("sendPhoto", chat_id=alice.id, photo="https://example.com/0.jpg")
    for i in range(1, 6):
        code, body = await api("editMessageMedia", chat_id=alice.id,
                               message_id=sent["result"]["message_id"],
                               media={"type": "photo", "media": f"https://example.com/{i}.jpg"})
        assert code == 200, body
    code, _ = await api("sendMessage", chat_id=alice.id, text="one more")
    assert code == 429  # a new message still waits for the chat's bucket
