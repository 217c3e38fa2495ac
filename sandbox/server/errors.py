"""Telegram-shaped API errors raised by method handlers and turned into responses by the app."""

from __future__ import annotations

from typing import Any


class TelegramError(Exception):
    """An error answered as {"ok": false, "error_code": code, "description": ...}."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram would send for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> TelegramError:
    """400 "Bad Request: <text>"."""
    return TelegramError(400, f"Bad Request: {text}")


def forbidden(text: str) -> TelegramError:
    """403 "Forbidden: <text>"."""
    return TelegramError(403, f"Forbidden: {text}")


def too_many_requests(retry_after: int) -> TelegramError:
    """429 with parameters.retry_after, exactly as Telegram's flood control answers."""
    return TelegramError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def conflict(text: str) -> TelegramError:
    """409 "Conflict: <text>"."""
    return TelegramError(409, f"Conflict: {text}")


def not_found() -> TelegramError:
    """404 "Not Found" (unknown method or file)."""
    return TelegramError(404, "Not Found")


def unauthorized() -> TelegramError:
    """401 "Unauthorized" (malformed bot token)."""
    return TelegramError(401, "Unauthorized")


QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
