"""Every outgoing call passes the rate limiter; 429s are honoured and no reply is dropped."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.harness import ShopUnderTest, running_shop


async def test_burst_of_commands_under_telegram_limits(tmp_path: Path) -> None:
    async with running_shop(tmp_path, flood_limits=True) as shop:
        li = shop.customer("Li")
        for _ in range(8):
            await li.command("/help")
        await asyncio.sleep(0)
        got = [await li.wait_for_message(timeout=15) for _ in range(8)]
        assert all("I can help you shop" in m.text for m in got)
        assert [e for e in shop.sandbox.requests() if e.error_code == 429] == []


@pytest.mark.allow_refused
async def test_injected_429_and_500_are_retried(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    shop.sandbox.inject_fault("429", 1, method="sendMessage", retry_after=1)
    await li.command("/start")
    assert "Welcome" in (await li.wait_for_message(timeout=10)).text
    shop.sandbox.inject_fault("500", 2, method="sendMessage")
    await li.command("/help")
    assert "I can help you shop" in (await li.wait_for_message(timeout=10)).text
    assert len([m for m in li.bot_messages if "I can help" in m.text]) == 1
