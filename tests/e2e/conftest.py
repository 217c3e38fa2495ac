"""Fixtures for end-to-end tests: the bot running against the sandbox."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import ShopUnderTest, running_shop


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[ShopUnderTest]:
    """The running shop on SQLite (e2e tests on PostgreSQL ask for running_shop themselves)."""
    async with running_shop(tmp_path) as running:
        yield running
