"""The client's actions over the /sandbox/ control API, for a sandbox in another process."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from typing import Any, Self

import aiohttp

Matcher = str | re.Pattern[str]


class SandboxHttpError(Exception):
    """The control API answered ok=false."""


class HttpSandboxClient:
    """Talks to a running sandbox: `async with HttpSandboxClient(url) as sb: ...`."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session:
            await self._session.close()
            self._session = None

    async def call(self, verb: str, path: str, data: dict[str, Any] | None = None) -> Any:
        """One control API request; returns `result` or raises SandboxHttpError."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        payload = dict(data or {})
        if self.token and "token" not in payload and "bot_id" not in payload:
            payload["token"] = self.token
        kwargs: dict[str, Any] = {"params": payload} if verb == "GET" else {"json": payload}
        async with self._session.request(verb, self.base_url + path, **kwargs) as resp:
            body = await resp.json()
        if not body.get("ok"):
            raise SandboxHttpError(body.get("description"))
        return body["result"]

    async def register_bot(self, token: str | None = None) -> dict[str, Any]:
        """Register a bot token (or get a new one) and make it the default."""
        result = await self.call("POST", "/sandbox/bots", {"token": token} if token else {})
        self.token = result["token"]
        return dict(result)

    async def user(self, first_name: str = "Alice", **fields: Any) -> HttpSandboxUser:
        """Create a simulated user."""
        result = await self.call("POST", "/sandbox/users", {"first_name": first_name, **fields})
        return HttpSandboxUser(self, int(result["id"]), int(result["id"]))

    async def group(
        self,
        title: str = "Group",
        members: list[HttpSandboxUser] | None = None,
        kind: str = "group",
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a group ("group"/"supergroup"/"forum") containing the users and the bot."""
        data = {
            "title": title,
            "type": kind,
            "members": [m.user_id for m in members or []],
            **fields,
        }
        return dict(await self.call("POST", "/sandbox/chats", data))

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """The request log."""
        return list(await self.call("GET", "/sandbox/log", {"method": method} if method else {}))

    async def inject_fault(self, kind: str, count: int = 1, **fields: Any) -> dict[str, Any]:
        """Make the next `count` matching Bot API calls fail."""
        return dict(
            await self.call("POST", "/sandbox/faults", {"kind": kind, "count": count, **fields})
        )

    async def set_limits(self, **limits: Any) -> dict[str, Any]:
        """Adjust flood limits."""
        return dict(await self.call("POST", "/sandbox/limits", limits))


class HttpSandboxUser:
    """A simulated user driven over HTTP; same verbs as the in-process SandboxUser."""

    def __init__(self, client: HttpSandboxClient, user_id: int, chat_id: int):
        self.client = client
        self.user_id = user_id
        self.chat_id = chat_id
        self._cursor = 0

    def in_chat(self, chat_id: int) -> HttpSandboxUser:
        """This user acting in another chat (group/forum)."""
        return HttpSandboxUser(self.client, self.user_id, chat_id)

    async def _post(self, action: str, data: dict[str, Any] | None = None) -> Any:
        result = await self.client.call(
            "POST",
            f"/sandbox/chats/{self.chat_id}/{action}",
            {"user_id": self.user_id, **(data or {})},
        )
        if isinstance(result, dict) and "message_id" in result:
            self._cursor = max(self._cursor, int(result["message_id"]))
        return result

    async def messages(self) -> list[dict[str, Any]]:
        """All messages of the chat."""
        return list(await self.client.call("GET", f"/sandbox/chats/{self.chat_id}/messages"))

    async def last_message(self) -> dict[str, Any] | None:
        """The bot's latest message."""
        bot_msgs = [m for m in await self.messages() if m.get("from", {}).get("is_bot")]
        return bot_msgs[-1] if bot_msgs else None

    async def send(
        self, text: str, *, thread_id: int | None = None, plain: bool = False
    ) -> dict[str, Any]:
        """Send text (a reply to a force_reply message meant for the user, unless `plain`)."""
        data: dict[str, Any] = {"text": text, "plain": plain}
        if thread_id:
            data["thread_id"] = thread_id
        return dict(await self._post("messages", data))

    async def command(self, command: str, args: str = "") -> dict[str, Any]:
        """Send a command."""
        text = command if command.startswith("/") else f"/{command}"
        return await self.send(f"{text} {args}".strip())

    async def click(self, button: Matcher) -> Any:
        """Press a button; returns the callback answer (or what the button did)."""
        data = {
            "button": button.pattern if isinstance(button, re.Pattern) else button,
            "regex": isinstance(button, re.Pattern),
        }
        msgs = await self.messages()
        self._cursor = max([self._cursor] + [m["message_id"] for m in msgs])
        return (await self._post("click", data))["answer"]

    async def share_contact(self) -> dict[str, Any]:
        """Share the user's contact."""
        return dict(await self._post("contact"))

    async def send_location(
        self, latitude: float = 37.7749, longitude: float = -122.4194
    ) -> dict[str, Any]:
        """Send a location."""
        return dict(await self._post("location", {"latitude": latitude, "longitude": longitude}))

    async def send_photo(self, data: bytes, caption: str | None = None) -> dict[str, Any]:
        """Send a photo."""
        return dict(
            await self._post(
                "photo",
                {
                    "data_base64": base64.b64encode(data).decode(),
                    "caption": caption,
                    "mime_type": "image/png",
                },
            )
        )

    async def send_document(self, data: bytes, file_name: str = "file.txt") -> dict[str, Any]:
        """Send a document."""
        return dict(
            await self._post(
                "document", {"data_base64": base64.b64encode(data).decode(), "file_name": file_name}
            )
        )

    async def reply_in_topic(self, thread_id: int, text: str) -> dict[str, Any]:
        """Post in a forum topic."""
        return await self.send(text, thread_id=thread_id)

    async def pay(self, link: str | None = None, **fields: Any) -> dict[str, Any]:
        """Pay the latest invoice in this chat, or an invoice link."""
        data = {"user_id": self.user_id, "chat_id": self.chat_id, **fields}
        if link:
            data["link"] = link
        return dict(await self.client.call("POST", "/sandbox/pay", data))

    async def block(self) -> None:
        """Block the bot."""
        await self.client.call("POST", f"/sandbox/users/{self.user_id}/block")

    async def unblock(self) -> None:
        """Unblock the bot."""
        await self.client.call("POST", f"/sandbox/users/{self.user_id}/unblock")

    async def wait_for_message(
        self, timeout: float = 5.0, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """Poll until the bot sends a new matching message."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in await self.messages():
                if (
                    m["message_id"] > self._cursor
                    and m.get("from", {}).get("is_bot")
                    and (predicate is None or predicate(m))
                ):
                    self._cursor = m["message_id"]
                    return m
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no new bot message in chat {self.chat_id} in {timeout}s")
