"""JSON logs (logging.format: json): one object per line, with the update and its user."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.logs import JsonFormatter, about_update


def record(message: str, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys
            info = sys.exc_info()
    return logging.LogRecord("bot.test", logging.WARNING, __file__, 1, message, (), info)


def test_a_line_carries_the_update_and_the_user_while_it_is_handled() -> None:
    formatter = JsonFormatter()
    with about_update(41, 100000002):
        inside = json.loads(formatter.format(record("sent 3 replies — 好")))
    outside = json.loads(formatter.format(record("sweep done")))
    assert inside["message"] == "sent 3 replies — 好" and inside["level"] == "WARNING"
    assert (inside["update_id"], inside["user_id"]) == (41, 100000002)
    assert "update_id" not in outside and outside["logger"] == "bot.test"
    failed = json.loads(formatter.format(record("failed", exc=True)))
    assert "ValueError: boom" in failed["exception"]


def test_the_format_comes_from_config_or_the_environment(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.yaml", env={}).logging.format == "text"
    config = load_config(tmp_path / "none.yaml", env={"SHOPBOT_LOG_FORMAT": "json"})
    assert config.logging.format == "json"
    with pytest.raises(ConfigError, match=r"SHOPBOT_LOG_FORMAT: must be 'text' or 'json'"):
        load_config(tmp_path / "none.yaml", env={"SHOPBOT_LOG_FORMAT": "xml"})
