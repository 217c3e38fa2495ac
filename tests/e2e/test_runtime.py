"""Each runtime (aiogram, python-telegram-bot) end to end: commands registered, /start
answered, repeats ignored, restarts."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.harness import ShopUnderTest

pytestmark = pytest.mark.usefixtures("framework")


async def test_start_over_real_http(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/start")
    welcome = await li.wait_for_message(timeout=10)
    assert "Welcome to Test Shop" in welcome.text
    assert welcome.reply_keyboard is not None
    assert shop.refused_requests() == []


async def test_commands_registered_in_both_languages(shop: ShopUnderTest) -> None:
    calls = shop.sandbox.requests("setMyCommands")
    languages = {c.params.get("language_code") for c in calls}
    assert languages == {None, "zh"}
    zh = next(c for c in calls if c.params.get("language_code") == "zh")
    assert "帮助" in str(zh.params["commands"])


async def test_chinese_user_is_answered_in_chinese(shop: ShopUnderTest) -> None:
    wang = shop.customer("王", language_code="zh-hans")
    await wang.command("/start")
    assert "欢迎光临" in (await wang.wait_for_message(timeout=10)).text


async def test_restart_keeps_serving(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(timeout=10)
    await shop.restart()
    await li.command("/help")
    assert "I can help you shop" in (await li.wait_for_message(timeout=10)).text


async def test_outbox_messages_reach_the_customer(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(timeout=10)
    from sqlalchemy import select

    from models import Customer
    from services import notifications

    async with shop.services.ctx.db.write() as s:
        customer = await s.scalar(select(Customer).where(Customer.telegram_id == li.user.id))
        deadline = shop.clock.now() + timedelta(minutes=10)
        notifications.tell_customer(s, customer, "payment_reminder", shop.clock.now(), None,
                                    order_number="260105000001", deadline=deadline.isoformat())
    message = await li.wait_for_message(timeout=10)
    assert "260105000001" in message.text and "unpaid" in message.text
    assert "cancelled in 10 minutes" in message.text
