"""Logging set-up: plain lines, or one JSON object per line (`logging.format: json`) for a log
collector, carrying the update and the user a line was written for."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The update being handled in this task (its turn and what it calls inherit it).
_update: ContextVar[tuple[int, int] | None] = ContextVar("shopbot_log_update", default=None)


@contextmanager
def about_update(update_id: int, user_id: int) -> Iterator[None]:
    """Lines logged in the block carry this update's id and its user's id (JSON format)."""
    token = _update.set((update_id, user_id))
    try:
        yield
    finally:
        _update.reset(token)


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, update_id and user_id (while an update is handled), and
    the traceback as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        about = _update.get()
        if about is not None:
            line["update_id"], line["user_id"] = about
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, format: str = "text") -> None:
    """Log to stderr at `level`, as text lines or JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    # APScheduler says "Job ... executed successfully" at INFO for every run of every sweep (one
    # every few seconds); the sweeps log what they moved themselves, and failures stay visible.
    if level == "INFO":
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
