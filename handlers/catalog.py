"""The catalog feature of the customer's conversation (being written)."""
from __future__ import annotations

from handlers.registry import Registry


def register(r: Registry) -> None:
    """Routes of this feature."""
