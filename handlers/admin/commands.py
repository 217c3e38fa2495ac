"""Admin chat: commands (being written)."""
from __future__ import annotations

from handlers.registry import Registry


def register(r: Registry) -> None:
    """Routes of this feature."""
