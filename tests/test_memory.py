"""`settle_memory`: what start-up left alive leaves the collector's full passes; what becomes
garbage later is still collected."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.app import settle_memory


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_start_up_objects_are_frozen_and_later_garbage_is_still_collected(thawed: None) -> None:
    settle_memory()
    assert gc.get_freeze_count() > 10_000  # modules, classes, the wiring: no longer walked

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]  # a cycle only the collector frees
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
