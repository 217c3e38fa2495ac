"""Each runtime's reply markup for a core keyboard, built once per keyboard."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from handlers.events import Keyboard

M = TypeVar("M")


def cached_markup(build: Callable[[Keyboard], M]) -> Callable[[Keyboard], M | None]:
    """`build` for keyboards, the same keyboard twice giving the same markup.

    A menu, a shelf or a card shows the same buttons to everyone: building a framework's
    validated models for them was a tenth of a browsing update. Both frameworks only read
    them (to serialise the request), so one instance can serve every send. Keyboards whose
    rows are lists are unhashable: built each time.
    """
    cached = lru_cache(maxsize=4_096)(build)

    def markup(keyboard: Keyboard) -> M | None:
        if keyboard is None:
            return None
        try:
            return cached(keyboard)
        except TypeError:  # rows given as lists
            return build(keyboard)

    return markup
