"""Replies as JSON and back: a turn's replies are stored with its claim (processed_updates), so
that a redelivered update whose turn committed gets the same answer again."""
from __future__ import annotations

import base64
import dataclasses
from typing import Any

from handlers import events
from handlers.events import Reply

# Every dataclass a reply can hold, by name (replies, keyboards, buttons).
_TYPES: dict[str, type[Any]] = {
    name: value for name, value in vars(events).items()
    if isinstance(value, type) and dataclasses.is_dataclass(value)
}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"@": type(value).__name__, **fields}
    if isinstance(value, tuple):
        return {"@tuple": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, bytes):
        return {"@bytes": base64.b64encode(value).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "@tuple" in value:
        return tuple(_decode(item) for item in value["@tuple"])
    if "@bytes" in value:
        return base64.b64decode(value["@bytes"])
    kind = _TYPES[value["@"]]
    return kind(**{k: _decode(v) for k, v in value.items() if k != "@"})


def encode(replies: list[Reply]) -> list[Any]:
    """The replies as JSON values."""
    return [_encode(reply) for reply in replies]


def decode(stored: list[Any]) -> list[Reply]:
    """Replies stored by `encode`."""
    return [_decode(item) for item in stored]
