"""What a sandbox keeps across restarts of the same demo: its bot's token and update numbering.

Real Telegram never numbers a bot's updates from 1 again: a bot that remembers the ids it has
handled would take a fresh update for a repeat and drop it. So a sandbox started on the same
state file keeps the same bot and goes on counting. The file holds a *reserved* ceiling, written
(and synced) before any id under it is handed out: after a crash, even a `kill -9`, the next run
starts at that ceiling, skipping at most one block of ids and never reusing one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

BLOCK = 1_000  # ids reserved per write: one small file write per thousand updates


class SandboxMemory:
    """The state file of one demo world: {"token": ..., "next_update_id": ...}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        saved = self._read()
        self.token: str | None = saved.get("token") if isinstance(saved.get("token"), str) else None
        first = saved.get("next_update_id")
        self.first_update_id = first if isinstance(first, int) and first > 0 else 1
        self.reserved = self.first_update_id

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # no file yet (a new demo), or unreadable: start afresh
        return data if isinstance(data, dict) else {}

    def keep_token(self, token: str) -> None:
        """Remember the bot's token (the same bot answers after a restart)."""
        self.token = token
        self._write()

    def reserve(self, update_id: int) -> None:
        """Make sure `update_id` lies under the saved ceiling before it is handed out."""
        if update_id >= self.reserved:
            self.reserved = update_id + BLOCK
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"token": self.token, "next_update_id": self.reserved})
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)  # whole old file or whole new one, never half
