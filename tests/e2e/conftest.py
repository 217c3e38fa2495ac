"""Fixtures for end-to-end tests: the bot running against the sandbox."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtimes import FRAMEWORKS, Framework
from tests.e2e.harness import DEFAULT_FRAMEWORK, ShopUnderTest, running_shop


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> Framework:
    """The runtime under test: a module that asks for this fixture runs on both frameworks."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def shop(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[ShopUnderTest]:
    """The running shop on SQLite; afterwards, every Bot API call it made must have been valid.

    A test that provokes refusals on purpose (fault injection) marks itself `allow_refused`.
    On aiogram, or on the framework of the test's `framework` fixture when it asks for one
    (the representative journeys run on both).
    """
    framework = (request.getfixturevalue("framework") if "framework" in request.fixturenames
                 else DEFAULT_FRAMEWORK)
    async with running_shop(tmp_path, framework=framework) as running:
        yield running
        if request.node.get_closest_marker("allow_refused") is None:
            refused = [(e.method, e.error_code, e.description) for e in running.refused_requests()]
            assert refused == [], f"the sandbox refused Bot API calls: {refused}"
