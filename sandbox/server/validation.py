"""Check and coerce call parameters against the spec, the way the Bot API server reads them.

Form, multipart and query-string values all arrive as strings (aiogram sends "true"/"false"
and nested objects as JSON text; PTB sends numbers as text), JSON bodies arrive typed.
Both are normalised into plain Python values here, so method handlers see one shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sandbox.server.errors import TelegramError, bad_request
from sandbox.spec import FieldSpec, Spec

_INT_RE = re.compile(r"^\s*[-+]?\d+\s*$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


class _Mismatch(Exception):
    """A value does not fit a spec type (internal; turned into a Bad Request)."""


def _json_if_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _Mismatch("not JSON") from exc
    return value


class Validator:
    """Validates method parameters against a Spec."""

    def __init__(self, spec: Spec):
        self.spec = spec

    def method_params(
        self, method: str, raw: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        """Return the coerced parameters or raise TelegramError 400 like Telegram."""
        out: dict[str, Any] = {}
        for f in self.spec.methods[method]:
            value = raw.get(f.name)
            if f.name in uploads and "InputFile" in f.types:
                out[f.name] = uploads[f.name]
                continue
            if value is None or value == "":
                if f.required:
                    raise self._missing(method, f)
                continue
            try:
                out[f.name] = self.coerce(value, f.types, uploads)
            except _Mismatch:
                raise self._wrong_type(f) from None
        # InputMedia objects refer to uploads as attach://<name>; keep every upload reachable.
        out["_uploads"] = uploads
        return out

    @staticmethod
    def _missing(method: str, f: FieldSpec) -> TelegramError:
        if f.name == "chat_id":
            return bad_request("chat_id is empty")
        if f.name == "text" and method in ("sendMessage", "editMessageText"):
            return bad_request("message text is empty")
        if f.name == "message_id":
            return bad_request("message identifier is not specified")
        if f.name == "callback_query_id":
            return bad_request(f'parameter "{f.name}" is required')
        return bad_request(f'parameter "{f.name}" is required')

    @staticmethod
    def _wrong_type(f: FieldSpec) -> TelegramError:
        if f.name == "reply_markup":
            return bad_request("can't parse reply keyboard markup JSON object")
        if f.name in ("entities", "caption_entities"):
            return bad_request("can't parse entities JSON object")
        if f.name == "chat_id":
            return bad_request("chat not found")
        return bad_request(f'field "{f.name}" must be of type {" or ".join(f.types)}')

    def coerce(self, value: Any, types: tuple[str, ...], uploads: dict[str, UploadedFile]) -> Any:
        """Coerce one value to the first spec type in `types` it fits."""
        for t in types:
            try:
                return self._one(value, t, uploads)
            except _Mismatch:
                continue
        raise _Mismatch(f"expected {types}")

    def _one(self, value: Any, t: str, uploads: dict[str, UploadedFile]) -> Any:
        if t.startswith("Array of "):
            value = _json_if_text(value)
            if not isinstance(value, list):
                raise _Mismatch("not an array")
            inner = (t[len("Array of ") :],)
            return [self.coerce(v, inner, uploads) for v in value]
        if t == "Integer":
            if isinstance(value, bool):
                raise _Mismatch("bool")
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and _INT_RE.match(value):
                return int(value)
            raise _Mismatch("not an integer")
        if t == "Float":
            if isinstance(value, bool):
                raise _Mismatch("bool")
            if isinstance(value, (int, float)):
                return float(value)
            try:
                return float(value)
            except (TypeError, ValueError):
                raise _Mismatch("not a float") from None
        if t in ("Boolean", "True"):
            if isinstance(value, bool):
                return value
            if isinstance(value, int):
                return bool(value)
            if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise _Mismatch("not a boolean")
        if t == "String":
            if isinstance(value, str):
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
            raise _Mismatch("not a string")
        if t == "InputFile":
            if isinstance(value, UploadedFile):
                return value
            raise _Mismatch("not a file")
        if t == "KeyboardButton" and isinstance(value, str):
            return {"text": value}  # Telegram accepts bare strings as reply keyboard buttons
        return self._object(value, t, uploads)

    def _object(self, value: Any, t: str, uploads: dict[str, UploadedFile]) -> dict[str, Any]:
        value = _json_if_text(value)
        if not isinstance(value, dict):
            raise _Mismatch("not an object")
        subtypes = self.spec.subtypes.get(t) or []
        if subtypes:
            return self._union(value, subtypes, uploads)
        if t not in self.spec.types:
            return value
        out = dict(value)  # unknown keys pass through: Telegram ignores them
        for f in self.spec.types[t]:
            if f.name not in value or value[f.name] is None:
                if f.required:
                    raise _Mismatch(f"{t}.{f.name} missing")
                continue
            out[f.name] = self.coerce(value[f.name], f.types, uploads)
        return out

    def _union(
        self, value: dict[str, Any], subtypes: list[str], uploads: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        # Prefer the subtype whose discriminator ("type"/"source") matches, then any that fits.
        kind = value.get("type") or value.get("source")
        ordered = sorted(
            subtypes, key=lambda s: 0 if kind and self._discriminator(s) == kind else 1
        )
        for sub in ordered:
            disc = self._discriminator(sub)
            if kind and disc and disc != kind:
                continue
            try:
                return self._object(value, sub, uploads)
            except _Mismatch:
                continue
        raise _Mismatch("no subtype fits")

    def _discriminator(self, type_name: str) -> str | None:
        for f in self.spec.types.get(type_name, []):
            if f.name in ("type", "source", "status"):
                v = self.spec._minimal_field(type_name, f, 0)
                return v if isinstance(v, str) and v else None
        return None
