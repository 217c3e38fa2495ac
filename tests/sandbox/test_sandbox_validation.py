"""Every validation and limit answers exactly Telegram's error code and description."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox.testing import Sandbox

KB = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
INVOICE = {
    "title": "T",
    "description": "D",
    "payload": "p",
    "currency": "USD",
    "provider_token": "TEST",
    "prices": [{"label": "x", "amount": 100}],
}


def _buttons(n: int) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)}] for i in range(n)]}


# (id, method, params, expected status, expected description). "$name" is filled from `world`.
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("unknown-method", "sendTelepathy", {"chat_id": "$alice"}, 404, "Not Found"),
    ("missing-chat-id", "sendMessage", {"text": "hi"}, 400, "Bad Request: chat_id is empty"),
    (
        "missing-text",
        "sendMessage",
        {"chat_id": "$alice"},
        400,
        "Bad Request: message text is empty",
    ),
    (
        "blank-text",
        "sendMessage",
        {"chat_id": "$alice", "text": "   "},
        400,
        "Bad Request: message text is empty",
    ),
    (
        "html-only-tags",
        "sendMessage",
        {"chat_id": "$alice", "text": "<b></b>", "parse_mode": "HTML"},
        400,
        "Bad Request: message text is empty",
    ),
    (
        "text-4097",
        "sendMessage",
        {"chat_id": "$alice", "text": "x" * 4097},
        400,
        "Bad Request: message is too long",
    ),
    (
        "html-unclosed",
        "sendMessage",
        {"chat_id": "$alice", "text": "<b>bold", "parse_mode": "HTML"},
        400,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    ),
    (
        "html-unknown-tag",
        "sendMessage",
        {"chat_id": "$alice", "text": "a <x>b</x>", "parse_mode": "HTML"},
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 2',
    ),
    (
        "html-mismatched",
        "sendMessage",
        {"chat_id": "$alice", "text": "<b><i>x</b></i>", "parse_mode": "HTML"},
        400,
        (
            'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 7, expected "</i>", '
            'found "</b>"'
        ),
    ),
    (
        "mdv2-reserved",
        "sendMessage",
        {"chat_id": "$alice", "text": "Total: 5.00", "parse_mode": "MarkdownV2"},
        400,
        (
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the "
            "preceding '\\'"
        ),
    ),
    (
        "mdv2-unclosed",
        "sendMessage",
        {"chat_id": "$alice", "text": "*bold", "parse_mode": "MarkdownV2"},
        400,
        "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
    ),
    (
        "caption-1025",
        "sendPhoto",
        {"chat_id": "$alice", "photo": "$photo", "caption": "c" * 1025},
        400,
        "Bad Request: message caption is too long",
    ),
    (
        "callback-data-65",
        "sendMessage",
        {
            "chat_id": "$alice",
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "d" * 65}]]},
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "callback-data-bytes",
        "sendMessage",
        {
            "chat_id": "$alice",
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "é" * 33}]]},
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        # Telegram refuses links to hosts without a dot (rubenlagus/TelegramBots#302).
        "url-button-localhost",
        "sendMessage",
        {
            "chat_id": "$alice",
            "text": "x",
            "reply_markup": {
                "inline_keyboard": [[{"text": "Pay", "url": "http://localhost:8080/p"}]]
            },
        },
        400,
        "Bad Request: BUTTON_URL_INVALID",
    ),
    (
        "callback-data-empty",
        "sendMessage",
        {
            "chat_id": "$alice",
            "text": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": ""}]]},
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "101-buttons",
        "sendMessage",
        {"chat_id": "$alice", "text": "x", "reply_markup": _buttons(101)},
        400,
        "Bad Request: reply markup is too long",
    ),
    (
        "text-only-button",
        "sendMessage",
        {"chat_id": "$alice", "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "A"}]]}},
        400,
        (
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline "
            "keyboard"
        ),
    ),
    (
        "markup-not-json",
        "sendMessage",
        {"chat_id": "$alice", "text": "x", "reply_markup": "{oops"},
        400,
        "Bad Request: can't parse reply keyboard markup JSON object",
    ),
    (
        "callback-answer-201",
        "answerCallbackQuery",
        {"callback_query_id": "1", "text": "a" * 201},
        400,
        "Bad Request: MESSAGE_TOO_LONG",
    ),
    ("callback-unknown-id", "answerCallbackQuery", {"callback_query_id": "123"}, 400, TOO_OLD),
    (
        "invoice-payload-129",
        "sendInvoice",
        {**INVOICE, "chat_id": "$alice", "payload": "p" * 129},
        400,
        "Bad Request: INVOICE_PAYLOAD_INVALID",
    ),
    (
        "invoice-title-33",
        "sendInvoice",
        {**INVOICE, "chat_id": "$alice", "title": "t" * 33},
        400,
        "Bad Request: INVOICE_TITLE_INVALID",
    ),
    (
        "invoice-description-256",
        "sendInvoice",
        {**INVOICE, "chat_id": "$alice", "description": "d" * 256},
        400,
        "Bad Request: INVOICE_DESCRIPTION_INVALID",
    ),
    (
        "link-payload-129",
        "createInvoiceLink",
        {**INVOICE, "payload": "p" * 129},
        400,
        "Bad Request: INVOICE_PAYLOAD_INVALID",
    ),
    (
        "not-modified",
        "editMessageText",
        {"chat_id": "$alice", "message_id": "$msg", "text": "hello", "reply_markup": KB},
        400,
        NOT_MODIFIED,
    ),
    (  # Telegram trims spaces and newlines at the ends: the same text
        "not-modified-trailing-newline",
        "editMessageText",
        {"chat_id": "$alice", "message_id": "$msg", "text": " hello \n\n", "reply_markup": KB},
        400,
        NOT_MODIFIED,
    ),
    (  # the same entities written another way
        "not-modified-html-variant",
        "editMessageText",
        {"chat_id": "$viewer", "message_id": "$bold", "text": "<strong>hi</strong> there",
         "parse_mode": "HTML"},
        400,
        NOT_MODIFIED,
    ),
    (
        "not-modified-markup-only",
        "editMessageReplyMarkup",
        {"chat_id": "$alice", "message_id": "$msg", "reply_markup": KB},
        400,
        NOT_MODIFIED,
    ),
    (
        "not-modified-caption",
        "editMessageCaption",
        {"chat_id": "$viewer", "message_id": "$picture", "caption": "look\n", "reply_markup": KB},
        400,
        NOT_MODIFIED,
    ),
    (
        "edit-not-found",
        "editMessageText",
        {"chat_id": "$alice", "message_id": 999, "text": "x"},
        400,
        "Bad Request: message to edit not found",
    ),
    (
        "markup-edit-not-found",
        "editMessageReplyMarkup",
        {"chat_id": "$alice", "message_id": 999},
        400,
        "Bad Request: message to edit not found",
    ),
    (
        "delete-not-found",
        "deleteMessage",
        {"chat_id": "$alice", "message_id": 999},
        400,
        "Bad Request: message to delete not found",
    ),
    (
        "chat-not-found",
        "sendMessage",
        {"chat_id": 424242, "text": "x"},
        400,
        "Bad Request: chat not found",
    ),
    (
        "username-not-found",
        "sendMessage",
        {"chat_id": "@nobody_here", "text": "x"},
        400,
        "Bad Request: chat not found",
    ),
    (
        "blocked",
        "sendMessage",
        {"chat_id": "$blocked", "text": "x"},
        403,
        "Forbidden: bot was blocked by the user",
    ),
    (
        "wrong-type-int",
        "forwardMessage",
        {"chat_id": "$alice", "from_chat_id": "$alice", "message_id": "abc"},
        400,
        'Bad Request: field "message_id" must be of type Integer',
    ),
    (
        "wrong-type-bool",
        "sendMessage",
        {"chat_id": "$alice", "text": "x", "disable_notification": "maybe"},
        400,
        'Bad Request: field "disable_notification" must be of type Boolean',
    ),
    ("missing-required", "getFile", {}, 400, 'Bad Request: parameter "file_id" is required'),
    (
        "thread-not-found",
        "sendMessage",
        {"chat_id": "$forum", "text": "x", "message_thread_id": 9999},
        400,
        "Bad Request: message thread not found",
    ),
    (
        "topic-closed",
        "sendMessage",
        {"chat_id": "$forum", "text": "x", "message_thread_id": "$closed_topic"},
        400,
        "Bad Request: TOPIC_CLOSED",
    ),
    (
        "topic-no-rights",
        "createForumTopic",
        {"chat_id": "$weak_forum", "name": "News"},
        400,
        "Bad Request: not enough rights to create a topic",
    ),
    (
        "getupdates-with-webhook",
        "getUpdates",
        {"_token": "$hooked_token"},
        409,
        (
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
            "delete the webhook first"
        ),
    ),
    ("unauthorized", "getMe", {"_token": "$wrong_secret_token"}, 401, "Unauthorized"),
    # answerShippingQuery's options, in the Bot API server's own words (before the query id).
    ("shipping-no-options", "answerShippingQuery", {"shipping_query_id": "1", "ok": True},
     400, 'Bad Request: Parameter "shipping_options" is required'),
    ("shipping-empty-options", "answerShippingQuery",
     {"shipping_query_id": "1", "ok": True, "shipping_options": []},
     400, "Bad Request: There must be at least one shipping option"),
    ("shipping-option-no-id", "answerShippingQuery",
     {"shipping_query_id": "1", "ok": True, "shipping_options": [
         {"id": "", "title": "Courier", "prices": [{"label": "Courier", "amount": 300}]}]},
     400, "Bad Request: Can't parse shipping option: ShippingOption identifier must be non-empty"),
    ("shipping-option-no-price", "answerShippingQuery",
     {"shipping_query_id": "1", "ok": True, "shipping_options": [
         {"id": "c", "title": "Courier", "prices": []}]},
     400, "Bad Request: Can't parse shipping option: Can't parse shipping option prices: "
          "There must be at least one price"),
    ("shipping-price-no-label", "answerShippingQuery",
     {"shipping_query_id": "1", "ok": True, "shipping_options": [
         {"id": "c", "title": "Courier", "prices": [{"label": "", "amount": 300}]}]},
     400, "Bad Request: Can't parse shipping option: Can't parse shipping option prices: "
          "Can't parse labeled price: LabeledPrice label must be non-empty"),
    ("shipping-refused-no-message", "answerShippingQuery",
     {"shipping_query_id": "1", "ok": False},
     400, 'Bad Request: Parameter "error_message" is required'),
    ("shipping-unknown-query", "answerShippingQuery",
     {"shipping_query_id": "1", "ok": False, "error_message": "No"}, 400, TOO_OLD),
    ("pre-checkout-refused-no-message", "answerPreCheckoutQuery",
     {"pre_checkout_query_id": "1", "ok": False},
     400, 'Bad Request: Parameter "error_message" is required'),
]


@pytest.fixture
async def world(sb: Sandbox, api) -> dict[str, Any]:
    """Chats and messages the error cases refer to."""
    alice = sb.user("Alice")
    blocked = sb.user("Blocky")
    await blocked.block()
    forum = sb.forum("Shop forum", members=[alice])
    weak = sb.forum("No rights", members=[alice], bot_admin=False)
    _, topic = await api("createForumTopic", chat_id=forum.id, name="Closed")
    closed = topic["result"]["message_thread_id"]
    assert (await api("closeForumTopic", chat_id=forum.id, message_thread_id=closed))[0] == 200
    _, sent = await api("sendMessage", chat_id=alice.id, text="hello", reply_markup=KB)
    await alice.send_photo()
    photo = alice.messages[-1]["photo"][-1]["file_id"]
    viewer = sb.user("Viewer")  # messages of its own: Alice's chat stays within flood limits
    _, bold = await api("sendMessage", chat_id=viewer.id, text="<b>hi</b> there", parse_mode="HTML")
    _, picture = await api("sendPhoto", chat_id=viewer.id, photo=photo, caption="look",
                           reply_markup=KB)
    hooked = sb.state.new_token()
    async with __import__("aiohttp").ClientSession() as s:
        url = f"{sb.api_url}/bot{hooked}/setWebhook"
        async with s.post(url, data={"url": "http://127.0.0.1:9/hook"}) as r:
            assert r.status == 200
    return {
        "alice": alice.id,
        "blocked": blocked.id,
        "forum": forum.id,
        "weak_forum": weak.id,
        "closed_topic": closed,
        "msg": sent["result"]["message_id"],
        "viewer": viewer.id,
        "bold": bold["result"]["message_id"],
        "picture": picture["result"]["message_id"],
        "photo": photo,
        "hooked_token": hooked,
        "wrong_secret_token": sb.token.split(":")[0] + ":not-the-secret",
    }


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return world[value[1:]]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize("encoding", ["form", "json", "multipart"])
@pytest.mark.parametrize(
    ("method", "params", "status", "description"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_error_matches_telegram(
    api,
    world: dict[str, Any],
    encoding: str,
    method: str,
    params: dict[str, Any],
    status: int,
    description: str,
) -> None:
    code, body = await api(method, _enc=encoding, **_fill(params, world))
    assert (code, body) == (status, {"ok": False, "error_code": status, "description": description})


async def test_limits_are_inclusive(sb: Sandbox, api, world: dict[str, Any]) -> None:
    """The largest allowed values pass: exactly 4096/1024 chars, 64 bytes, 100 buttons."""
    sb.set_limits(enabled=False)  # six sends to one private chat would hit 1 msg/s otherwise
    alice = world["alice"]
    ok = [
        await api("sendMessage", chat_id=alice, text="x" * 4096),
        await api(
            "sendMessage", chat_id=alice, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"
        ),
        await api("sendPhoto", chat_id=alice, photo=world["photo"], caption="c" * 1024),
        await api(
            "sendMessage",
            chat_id=alice,
            text="x",
            reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "d" * 64}]]},
        ),
        await api("sendMessage", chat_id=alice, text="x", reply_markup=_buttons(100)),
        await api(
            "sendInvoice",
            chat_id=alice,
            **{**INVOICE, "payload": "p" * 128, "title": "t" * 32, "description": "d" * 255},
        ),
    ]
    assert [code for code, _ in ok] == [200] * len(ok)
    html = ok[1][1]["result"]
    assert html["text"] == "x" * 4096 and html["entities"] == [
        {"offset": 0, "length": 4096, "type": "bold"}
    ]


async def test_callback_answered_twice_or_late(sb: Sandbox, api) -> None:
    alice = sb.user("Alice")
    await api("sendMessage", chat_id=alice.id, text="menu", reply_markup=KB)

    async def click_and_answer(delay: float) -> tuple[int, dict[str, Any]]:
        clicking = asyncio.create_task(alice.click("A", timeout=2))
        _, updates = await api("getUpdates", timeout=2)
        query = updates["result"][-1]["callback_query"]
        await api("getUpdates", offset=updates["result"][-1]["update_id"] + 1)
        await asyncio.sleep(delay)
        first = await api("answerCallbackQuery", callback_query_id=query["id"], text="ok")
        clicking.cancel()
        if first[0] == 200:
            return await api("answerCallbackQuery", callback_query_id=query["id"])
        return first

    assert await click_and_answer(0) == (
        400,
        {"ok": False, "error_code": 400, "description": TOO_OLD},
    )
    # sb's callback_timeout is 1 s (real Telegram: ~15 s); answering after it fails.
    assert await click_and_answer(1.2) == (
        400,
        {"ok": False, "error_code": 400, "description": TOO_OLD},
    )


@pytest.mark.parametrize("encoding", ["form", "json", "query", "multipart"])
async def test_encodings_and_case_insensitive_method(
    api, world: dict[str, Any], encoding: str
) -> None:
    code, body = await api(
        "SENDmessage",
        _enc=encoding,
        chat_id=str(world["alice"]),
        text="<i>hi</i>",
        parse_mode="HTML",
        disable_notification="true",
        reply_markup=KB,
    )
    assert code == 200, body
    msg = body["result"]
    assert msg["text"] == "hi" and msg["entities"][0]["type"] == "italic"
    assert msg["reply_markup"] == KB and msg["chat"]["id"] == world["alice"]
