"""Fixtures for end-to-end tests: the bot running against the sandbox."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import ShopUnderTest, running_shop


@pytest.fixture
async def shop(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[ShopUnderTest]:
    """The running shop on SQLite; afterwards, every Bot API call it made must have been valid.

    A test that provokes refusals on purpose (fault injection) marks itself `allow_refused`.
    """
    async with running_shop(tmp_path) as running:
        yield running
        if request.node.get_closest_marker("allow_refused") is None:
            refused = [(e.method, e.error_code, e.description) for e in running.refused_requests()]
            assert refused == [], f"the sandbox refused Bot API calls: {refused}"
