"""Run one Bot API call: validate against the spec, call the handler, log the outcome."""

from __future__ import annotations

import logging
import time
from typing import Any

from sandbox.server.errors import TelegramError, bad_request, not_found
from sandbox.server.methods import METHODS
from sandbox.server.methods.common import Call, public
from sandbox.server.methods.generic import generic_handler
from sandbox.server.models import BotRecord, LogEntry
from sandbox.server.state import SandboxState
from sandbox.server.validation import UploadedFile, Validator
from sandbox.spec import load_spec

log = logging.getLogger("sandbox")


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "_uploads":
            continue
        if isinstance(value, UploadedFile):
            out[key] = {
                "upload": value.filename,
                "size": len(value.data),
                "content_type": value.content_type,
            }
        else:
            out[key] = value
    return out


async def execute(
    state: SandboxState,
    bot: BotRecord,
    method_name: str,
    raw: dict[str, Any],
    uploads: dict[str, UploadedFile] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Execute a call and return (HTTP status, Telegram JSON body)."""
    spec = load_spec()
    started = time.monotonic()
    method = spec.canonical_method(method_name)
    params: dict[str, Any] = dict(raw)
    try:
        if method is None:
            raise not_found()
        params = Validator(spec).method_params(method, raw, uploads or {})
        handler = METHODS.get(method, generic_handler)
        result = public(await handler(Call(state, bot, method, params, spec)))
        entry = LogEntry(time.time(), bot.id, method, _loggable(params), True, result)
        status, body = 200, {"ok": True, "result": result}
    except TelegramError as exc:
        entry = LogEntry(
            time.time(),
            bot.id,
            method or method_name,
            _loggable(params),
            False,
            error_code=exc.code,
            description=exc.description,
        )
        status, body = exc.code, exc.payload()
    except Exception:  # a sandbox bug must look like Telegram's 500, not a dropped request
        log.exception("sandbox handler crashed on %s", method_name)
        crash = TelegramError(500, "Internal Server Error")
        entry = LogEntry(
            time.time(),
            bot.id,
            method or method_name,
            _loggable(params),
            False,
            error_code=500,
            description=crash.description,
        )
        status, body = 500, crash.payload()
    entry.duration = time.monotonic() - started
    state.record(entry)
    state.publish({"type": "request", "entry": entry.to_dict()})
    return status, body


__all__ = ["bad_request", "execute"]
