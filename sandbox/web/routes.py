"""Serve the chat page at "/" of the sandbox server, and forward unknown paths upstream.

The page is three static files (index.html, app.js, style.css) that talk to the /sandbox/
control API; nothing is fetched from the internet. An application running next to the sandbox
(the shop bot's web app with its payment page) can be reached through the same address: set
`PageSettings.upstream` and every path the sandbox does not know is forwarded there.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

STATIC = Path(__file__).resolve().parent
_FILES = {
    "app.js": "text/javascript",
    "style.css": "text/css",
}
# Headers that describe one hop of a connection, not the message (RFC 9110 section 7.6.1).
_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}


@dataclass
class PageSettings:
    """What the page shows: a title, chats to leave out of the list, where to forward."""

    title: str = "Telegram sandbox"
    hidden_chats: set[int] = field(default_factory=set)
    upstream: str | None = None
    _session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """One client session for every forwarded request."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=30), auto_decompress=False
            )
        return self._session

    async def close(self) -> None:
        """Close the client session (on server shutdown)."""
        if self._session is not None:
            await self._session.close()


PAGE_KEY: web.AppKey[PageSettings] = web.AppKey("page_settings", PageSettings)


async def index(request: web.Request) -> web.FileResponse:
    """The page itself."""
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def asset(request: web.Request) -> web.StreamResponse:
    """app.js and style.css (a fixed list: no path from the request reaches the file system)."""
    name = request.match_info["name"]
    if name not in _FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(
        STATIC / name, headers={"Cache-Control": "no-cache", "Content-Type": _FILES[name]}
    )


async def page_settings(request: web.Request) -> web.Response:
    """GET /sandbox/page: the title and the chats the page leaves out."""
    page = request.app[PAGE_KEY]
    return web.json_response(
        {"ok": True, "result": {"title": page.title, "hidden_chats": sorted(page.hidden_chats)}}
    )


async def forward(request: web.Request) -> web.StreamResponse | None:
    """Forward a request to the upstream app, or None when there is no upstream."""
    page = request.app.get(PAGE_KEY)
    if page is None or not page.upstream:
        return None
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
    headers["X-Forwarded-Host"] = request.host
    body = await request.read() if request.can_read_body else None
    try:
        async with page.session().request(
            request.method,
            page.upstream.rstrip("/") + request.rel_url.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
            return web.Response(status=upstream.status, body=payload, headers=out)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return web.Response(status=502, text=f"upstream unavailable: {exc}")


def add_page_routes(app: web.Application, settings: PageSettings | None = None) -> PageSettings:
    """Register "/", "/web/{name}" and GET /sandbox/page; returns the (mutable) settings."""
    page = settings or PageSettings()
    app[PAGE_KEY] = page
    app.router.add_get("/", index)
    app.router.add_get("/web/{name}", asset)
    app.router.add_get("/sandbox/page", page_settings)

    async def _close(_: web.Application) -> None:
        with contextlib.suppress(Exception):
            await page.close()

    app.on_cleanup.append(_close)
    return page
