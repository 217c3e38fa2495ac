"""The aiohttp application: Bot API routes, file downloads, fault injection, server lifecycle."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

from aiohttp import web

from sandbox.server.control import add_control_routes
from sandbox.server.dispatch import execute
from sandbox.server.errors import TelegramError, bad_request, not_found, too_many_requests
from sandbox.server.limits import FloodLimits
from sandbox.server.models import SandboxConfig
from sandbox.server.state import SandboxState
from sandbox.server.validation import UploadedFile
from sandbox.server.webhook import stop_webhook_worker
from sandbox.web import add_page_routes, forward

log = logging.getLogger("sandbox")
STATE_KEY: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)
_BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Merge query-string, form, multipart and JSON parameters the way Telegram accepts them."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return raw, uploads
    ctype = request.content_type
    if ctype == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON body") from None
        if isinstance(data, dict):
            raw.update(data)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                uploads[key] = UploadedFile(
                    value.filename or key, value.content_type or "", value.file.read()
                )
            else:
                raw[key] = value
    return raw, uploads


async def _apply_fault(
    request: web.Request, state: SandboxState, method: str, raw: dict[str, Any]
) -> web.StreamResponse | None:
    fault = state.faults.take(method, raw.get("chat_id"))
    if fault is None:
        return None
    state.publish({"type": "fault", "fault": fault.to_dict(), "method": method})
    if fault.kind == "delay":
        await asyncio.sleep(fault.delay)
        return None
    if fault.kind == "429":
        return _json(too_many_requests(fault.retry_after).payload(), 429)
    if fault.kind == "500":
        return _json(TelegramError(500, "Internal Server Error").payload(), 500)
    if fault.kind == "502":
        return web.Response(text=_BAD_GATEWAY, status=502, content_type="text/html")
    # "drop": the connection dies without any response, like a network failure.
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()


async def bot_api(request: web.Request) -> web.StreamResponse:
    """/bot<token>/<method>."""
    state = request.app[STATE_KEY]
    try:
        bot = state.bot_for_token(request.match_info["token"])
        raw, uploads = await read_params(request)
    except TelegramError as exc:
        return _json(exc.payload(), exc.code)
    method = request.match_info["method"]
    faulted = await _apply_fault(request, state, method, raw)
    if faulted is not None:
        return faulted
    status, body = await execute(state, bot, method, raw, uploads)
    return _json(body, status)


async def download_file(request: web.Request) -> web.StreamResponse:
    """/file/bot<token>/<file_path>."""
    state = request.app[STATE_KEY]
    try:
        state.bot_for_token(request.match_info["token"])
    except TelegramError as exc:
        return _json(exc.payload(), exc.code)
    rec = state.files_by_path.get(request.match_info["path"])
    if rec is None:
        return _json(not_found().payload(), 404)
    return web.Response(body=rec.data, content_type=rec.mime_type or "application/octet-stream")


async def not_found_route(request: web.Request) -> web.StreamResponse:
    """Anything else: the page's upstream app if there is one, else Telegram's 404."""
    forwarded = await forward(request)
    return forwarded if forwarded is not None else _json(not_found().payload(), 404)


def build_app(state: SandboxState) -> web.Application:
    """The aiohttp application serving the Bot API and the /sandbox control API."""
    app = web.Application(client_max_size=60 * 1024 * 1024)
    app[STATE_KEY] = state
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", download_file)
    add_control_routes(app, state)
    add_page_routes(app)
    app.router.add_route("*", "/{tail:.*}", not_found_route)

    async def _shutdown(_: web.Application) -> None:
        for bot in state.bots.values():
            await stop_webhook_worker(bot)
            if bot.poll_waiter and not bot.poll_waiter.done():
                bot.poll_waiter.cancel()

    app.on_shutdown.append(_shutdown)
    return app


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a free TCP port."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SandboxServer:
    """A Bot API sandbox listening on host:port (port 0 = any free port)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        config: SandboxConfig | None = None,
        limits: FloodLimits | None = None,
        state: SandboxState | None = None,
    ):
        self.host = host
        self.port = port
        self.state = state or SandboxState(config, limits)
        self.app = build_app(self.state)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8081 (append /bot<token>/<method>)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start listening."""
        # handler_cancellation: a bot that disconnects mid long-poll must not keep a poll alive.
        self._runner = web.AppRunner(
            self.app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and cancel background tasks."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
