"""The /sandbox/ control API (JSON over HTTP) for tests, demos and a web chat page.

Every answer has Telegram's shape: {"ok": true, "result": ...} or {"ok": false, "description"}.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.server import actions
from sandbox.server.errors import TelegramError
from sandbox.server.methods.common import public
from sandbox.server.models import SandboxConfig
from sandbox.server.payments import PaymentError, find_invoice, pay_invoice
from sandbox.server.state import SandboxState

Route = Callable[[web.Request], Awaitable[Any]]


def _ok(result: Any) -> web.Response:
    return web.json_response(
        {"ok": True, "result": public(result)},
        dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str),
    )


def _fail(description: str, status: int = 400) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


def _wrap(fn: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            result = await fn(request)
        except (actions.ActionError, PaymentError, ValueError, KeyError) as exc:
            return _fail(str(exc).strip("'\""))
        except TelegramError as exc:
            return _fail(exc.description, exc.code)
        if isinstance(result, web.StreamResponse):
            return result
        return _ok(result)

    return handler


async def _body(request: web.Request) -> dict[str, Any]:
    if request.can_read_body and request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    if request.can_read_body:
        return dict(await request.post())
    return dict(request.query)


def add_control_routes(app: web.Application, state: SandboxState) -> None:
    """Register the /sandbox/... routes on the app."""

    def bot_of(data: dict[str, Any]) -> Any:
        if data.get("token"):
            return state.bot_for_token(str(data["token"]))
        bot_id = data.get("bot_id")
        return actions.default_bot(state, int(bot_id) if bot_id else None)

    def user_of(data: dict[str, Any]) -> Any:
        uid = int(data["user_id"])
        if uid not in state.users:
            raise actions.ActionError(f"unknown user {uid}")
        return state.users[uid]

    def chat_of(request: web.Request, data: dict[str, Any]) -> Any:
        ref = request.match_info.get("chat_id") or data.get("chat_id") or data["user_id"]
        chat = state.chats.get(int(ref))
        if chat is None:
            raise actions.ActionError("chat not found")
        return chat

    async def info(request: web.Request) -> Any:
        return {
            "bots": [
                {
                    "id": b.id,
                    "username": b.user.username,
                    "privacy": b.privacy,
                    "webhook": b.webhook.url if b.webhook else None,
                    "pending_updates": len(b.updates),
                    "connected": b.connected,
                }
                for b in state.bots.values()
            ],
            "default_bot_id": state.default_bot_id,
            "config": vars(state.config),
            "kept": state.kept(),
            "limits": state.flood.limits.to_dict(),
        }

    async def register_bot(request: web.Request) -> Any:
        data = await _body(request)
        token = str(data.get("token") or state.new_token())
        bot = state.bot_for_token(token)
        if data.get("default", True):
            state.default_bot_id = bot.id
        return {"token": token, "id": bot.id, "user": bot.user.to_api()}

    async def privacy(request: web.Request) -> Any:
        """BotFather's /setprivacy for one bot: {"enabled": false} lets it read whole groups
        it joins from now on."""
        data = await _body(request)
        bot = actions.default_bot(state, int(request.match_info["bot_id"]))
        state.set_privacy(bot, bool(data.get("enabled", True)))
        return {"id": bot.id, "privacy": bot.privacy}

    async def create_user(request: web.Request) -> Any:
        data = await _body(request)
        user = state.create_user(
            data.get("first_name", "Alice"),
            last_name=data.get("last_name"),
            username=data.get("username"),
            language_code=data.get("language_code", "en"),
            phone_number=data.get("phone_number"),
            client_adds_plus=bool(data.get("client_adds_plus", False)),
        )
        return {**user.to_api(), "phone_number": user.phone_number}

    async def list_users(request: web.Request) -> Any:
        return [u.to_api() for u in state.users.values() if not u.is_bot]

    async def create_chat(request: web.Request) -> Any:
        data = await _body(request)
        kind = data.get("type", "group")
        bot = bot_of(data)
        chat = state.create_group(
            data.get("title", "Group"),
            members=[int(m) for m in data.get("members", [])],
            bot_ids=[bot.id],
            bot_admin=bool(data.get("bot_admin")),
            bot_rights=data.get("bot_rights"),
            supergroup=kind in ("supergroup", "forum"),
            forum=kind == "forum",
            username=data.get("username"),
        )
        return {**chat.to_api(), "members": chat.members}

    async def list_chats(request: web.Request) -> Any:
        return [
            {
                **c.to_api(),
                "topics": [t.to_api() | {"closed": t.closed} for t in c.topics.values()],
                "members": {str(uid): status for uid, status in c.members.items()},
            }
            for c in state.chats.values()
        ]

    async def messages(request: web.Request) -> Any:
        data = dict(request.query)
        chat = chat_of(request, data)
        bot = bot_of(data)
        since = int(data.get("since", 0))
        return [m for m in state.history(bot.id, chat) if m["message_id"] > since]

    async def keyboard(request: web.Request) -> Any:
        data = dict(request.query)
        shown = actions.active_reply_keyboard(state, bot_of(data), chat_of(request, data))
        return shown[1] if shown else None

    async def forced_reply(request: web.Request) -> Any:
        """The message a person's app is replying to because of its force_reply, if any."""
        data = dict(request.query)
        msg = actions.forced_reply(state, bot_of(data), chat_of(request, data), user_of(data))
        return {"message": msg, "force_reply": msg["_keyboard"]} if msg else None

    async def send(request: web.Request) -> Any:
        data = await _body(request)
        bot, user, chat = bot_of(data), user_of(data), chat_of(request, data)
        reply = (
            state.get_message(bot.id, chat, int(data["reply_to"])) if data.get("reply_to") else None
        )
        return actions.user_send(
            state,
            bot,
            user,
            chat,
            actions.text_content(str(data["text"])),
            thread_id=data.get("thread_id"),
            reply_to=reply,
            typed=not data.get("plain"),  # "plain": the person closed the reply interface
        )

    async def click(request: web.Request) -> Any:
        data = await _body(request)
        bot, user, chat = bot_of(data), user_of(data), chat_of(request, data)
        matcher: actions.Matcher = str(data["button"])
        if data.get("regex"):
            matcher = re.compile(str(data["button"]))
        mid = int(data["message_id"]) if data.get("message_id") else None
        return {"answer": await actions.click(state, bot, user, chat, matcher, message_id=mid)}

    async def contact(request: web.Request) -> Any:
        data = await _body(request)
        return actions.share_contact(state, bot_of(data), user_of(data), chat_of(request, data))

    async def location(request: web.Request) -> Any:
        data = await _body(request)
        return actions.send_location(
            state,
            bot_of(data),
            user_of(data),
            chat_of(request, data),
            float(data.get("latitude", 37.7749)),
            float(data.get("longitude", -122.4194)),
        )

    async def upload(request: web.Request) -> Any:
        kind = "photo" if request.path.endswith("/photo") else "document"
        name: str | None
        mime: str | None
        if request.content_type == "multipart/form-data":
            form = await request.post()
            data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
            field = form.get("file")
            if not isinstance(field, web.FileField):
                raise ValueError("multipart field 'file' is required")
            raw, name, mime = field.file.read(), field.filename, field.content_type
        else:
            data = await _body(request)
            raw = base64.b64decode(data["data_base64"])
            name, mime = data.get("file_name"), data.get("mime_type")
        return actions.send_file(
            state,
            bot_of(data),
            user_of(data),
            chat_of(request, data),
            kind,
            raw,
            file_name=name,
            mime_type=mime,
            caption=data.get("caption"),
            width=int(data.get("width", 0)),
            height=int(data.get("height", 0)),
            thread_id=data.get("thread_id"),
            typed=data.get("plain") not in (True, "true", "1"),
        )

    async def create_topic(request: web.Request) -> Any:
        data = await _body(request)
        bot, user, chat = bot_of(data), user_of(data), chat_of(request, data)
        topic = state.create_topic(bot.id, chat, user, str(data["name"]))
        for target in state.bots_in_chat(chat, bot.id):
            state.enqueue_update(
                target, "message", state.get_message(bot.id, chat, topic.message_thread_id) or {}
            )
        return topic.to_api()

    async def block(request: web.Request) -> Any:
        data = await _body(request)
        data["user_id"] = request.match_info["user_id"]
        actions.set_blocked(state, bot_of(data), user_of(data), request.path.endswith("/block"))
        return True

    async def pay(request: web.Request) -> Any:
        data = await _body(request)
        bot, user = bot_of(data), user_of(data)
        if data.get("link"):
            details = find_invoice(state, str(data["link"]))
            bot = state.bots[details["bot_id"]]
        else:
            chat = chat_of(request, data)
            msgs = [m for m in actions.bot_messages(state, bot, chat) if "_invoice" in m]
            if data.get("message_id"):
                msgs = [m for m in msgs if m["message_id"] == int(data["message_id"])]
            if not msgs:
                raise actions.ActionError("no invoice to pay")
            details = msgs[-1]["_invoice"]
        return await pay_invoice(
            state,
            bot,
            user,
            details,
            tip=int(data.get("tip", 0)),
            shipping_option_id=data.get("shipping_option_id"),
        )

    async def get_log(request: web.Request) -> Any:
        method = request.query.get("method")
        return [e.to_dict() for e in state.log if not method or e.method.lower() == method.lower()]

    async def clear_log(request: web.Request) -> Any:
        state.log.clear()
        return True

    async def limits(request: web.Request) -> Any:
        if request.method == "POST":
            state.flood.configure(**await _body(request))
        return state.flood.limits.to_dict()

    async def config(request: web.Request) -> Any:
        if request.method == "POST":
            for key, value in (await _body(request)).items():
                if not hasattr(SandboxConfig, key):
                    raise ValueError(f"unknown config key {key}")
                setattr(state.config, key, type(getattr(state.config, key))(value))
        return vars(state.config)

    async def faults(request: web.Request) -> Any:
        if request.method == "POST":
            data = await _body(request)
            return state.faults.add(
                str(data["kind"]),
                int(data.get("count", 1)),
                data.get("method"),
                data.get("chat_id"),
                float(data.get("delay", 0)),
                int(data.get("retry_after", 1)),
            ).to_dict()
        if request.method == "DELETE":
            state.faults.clear()
            return True
        return [r.to_dict() for r in state.faults.rules]

    async def webhook_faults(request: web.Request) -> Any:
        data = await _body(request)
        fault = {
            "kind": data.get("kind", "wrong_secret"),
            "count": int(data.get("count", 1)),
            "bot_id": data.get("bot_id"),
        }
        state.webhook_faults.append(fault)
        return fault

    async def file(request: web.Request) -> web.StreamResponse:
        rec = state.files.get(request.match_info["file_id"])
        if rec is None:
            return _fail("file not found", 404)
        return web.Response(body=rec.data, content_type=rec.mime_type or "application/octet-stream")

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        async for event in state.subscribe():
            line = json.dumps(public(event), ensure_ascii=False, default=str)
            await resp.write(f"event: {event.get('type', 'message')}\ndata: {line}\n\n".encode())
        return resp

    r = app.router
    routes: list[tuple[str, str, Route]] = [
        ("GET", "/sandbox/info", info),
        ("POST", "/sandbox/bots", register_bot),
        ("POST", "/sandbox/bots/{bot_id}/privacy", privacy),
        ("POST", "/sandbox/users", create_user),
        ("GET", "/sandbox/users", list_users),
        ("POST", "/sandbox/chats", create_chat),
        ("GET", "/sandbox/chats", list_chats),
        ("GET", "/sandbox/chats/{chat_id}/messages", messages),
        ("POST", "/sandbox/chats/{chat_id}/messages", send),
        ("GET", "/sandbox/chats/{chat_id}/keyboard", keyboard),
        ("POST", "/sandbox/chats/{chat_id}/click", click),
        ("GET", "/sandbox/chats/{chat_id}/forced_reply", forced_reply),
        ("POST", "/sandbox/chats/{chat_id}/contact", contact),
        ("POST", "/sandbox/chats/{chat_id}/location", location),
        ("POST", "/sandbox/chats/{chat_id}/photo", upload),
        ("POST", "/sandbox/chats/{chat_id}/document", upload),
        ("POST", "/sandbox/chats/{chat_id}/topics", create_topic),
        ("POST", "/sandbox/users/{user_id}/block", block),
        ("POST", "/sandbox/users/{user_id}/unblock", block),
        ("POST", "/sandbox/pay", pay),
        ("GET", "/sandbox/log", get_log),
        ("DELETE", "/sandbox/log", clear_log),
        ("GET", "/sandbox/limits", limits),
        ("POST", "/sandbox/limits", limits),
        ("GET", "/sandbox/config", config),
        ("POST", "/sandbox/config", config),
        ("GET", "/sandbox/faults", faults),
        ("POST", "/sandbox/faults", faults),
        ("DELETE", "/sandbox/faults", faults),
        ("POST", "/sandbox/webhook_faults", webhook_faults),
    ]
    for verb, path, fn in routes:
        r.add_route(verb, path, _wrap(fn))
    r.add_get("/sandbox/files/{file_id}", file)
    r.add_get("/sandbox/events", events)
