"""At start-up the bot says, one WARNING line each, what will not work in its admin and support
chats: checked against the sandbox's answers to getMe, getChat and getChatMember."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ratelimit import RateLimiter
from bot.runtimes import FRAMEWORKS, Framework, make_runtime
from bot.runtimes.base import FeedingRuntime
from bot.runtimes.chat_check import check_chats
from handlers.router import Conversation
from handlers.turn import Settings
from sandbox.testing import Sandbox, running_sandbox
from tests.e2e.harness import ShopUnderTest, running_shop


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with running_sandbox(flood_limits=False) as sandbox:
        yield sandbox


@pytest.fixture(params=FRAMEWORKS)
async def bot(sb: Sandbox, request: pytest.FixtureRequest) -> AsyncIterator[FeedingRuntime]:
    """A runtime of each framework (the check reads their answers the same way)."""
    framework: Framework = request.param
    runtime = make_runtime(framework, sb.token, sb.api_url, RateLimiter(),
                           Conversation(None, Settings()))  # type: ignore[arg-type]
    assert isinstance(runtime, FeedingRuntime)
    await runtime.open()
    yield runtime
    await runtime.close()


async def problems(bot: FeedingRuntime, admin: int | None = None,
                   support: int | None = None) -> list[str]:
    return await check_chats(bot, Settings(admin_chat_id=admin, support_chat_id=support))


async def test_a_good_set_up_says_nothing(sb: Sandbox, bot: FeedingRuntime) -> None:
    boss = sb.user("Boss")
    admins = sb.group("Admins", members=[boss], supergroup=True)  # a plain member: enough
    support = sb.forum("Support", members=[boss])  # an admin who manages topics
    assert await problems(bot, admins.id, support.id) == []


async def test_a_chat_the_bot_is_not_in(sb: Sandbox, bot: FeedingRuntime, caplog: pytest.LogCaptureFixture) -> None:
    boss = sb.user("Boss")
    elsewhere = sb.group("Not the bot's", members=[boss], supergroup=True)
    elsewhere.chat.members.pop(sb.bot_id)
    with caplog.at_level(logging.WARNING, "bot.runtimes.chat_check"):
        lines = await problems(bot, elsewhere.id, -100999)
    username = sb.bot.user.username
    assert lines == [
        (f"admin.chat_id {elsewhere.id}: the bot cannot see this chat (Bad Request: chat not found):"
        f" add @{username} to the group, then send /chatid there to see its id"),
        ("support.chat_id -100999: the bot cannot see this chat (Bad Request: chat not found): "
        f"add @{username} to the group, then send /chatid there to see its id")]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == lines


async def test_a_bot_removed_from_the_group(sb: Sandbox, bot: FeedingRuntime) -> None:
    boss = sb.user("Boss")
    admins = sb.group("Admins", members=[boss], supergroup=True)
    admins.chat.members[sb.bot_id] = "kicked"
    (line,) = await problems(bot, admins.id)
    assert line.startswith(f"admin.chat_id {admins.id}: the bot cannot see this chat (Forbidden: "
                           "bot was kicked from the supergroup chat)")


async def test_a_support_group_without_topics(sb: Sandbox, bot: FeedingRuntime) -> None:
    boss = sb.user("Boss")
    plain = sb.group("Support", members=[boss], supergroup=True,
                     bot_rights={"can_manage_topics": True})
    assert await problems(bot, None, plain.id) == [
        (f"support.chat_id {plain.id}: 'Support' is not a forum (a topic per customer needs one): "
        "in the group's settings turn on Topics")]


async def test_a_support_forum_where_the_bot_cannot_manage_topics(sb: Sandbox, bot: FeedingRuntime) -> None:
    boss = sb.user("Boss")
    username = sb.bot.user.username
    member = sb.forum("Support", members=[boss], bot_admin=False)
    weak = sb.forum("Support 2", members=[boss], bot_rights={"can_pin_messages": True})
    expected = ("the bot is not an admin with the right to manage topics in {title!r}: "
                f"make @{username} an admin with Manage topics")
    assert await problems(bot, None, member.id) == [
        f"support.chat_id {member.id}: " + expected.format(title="Support")]
    assert await problems(bot, None, weak.id) == [
        f"support.chat_id {weak.id}: " + expected.format(title="Support 2")]


async def test_the_bot_checks_when_it_starts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "bot.runtimes.chat_check"):
        async with running_shop(tmp_path) as shop:
            await _restart_with_support(shop, -100777)
    assert any(r.getMessage().startswith("support.chat_id -100777: the bot cannot see this chat")
               for r in caplog.records)


async def _restart_with_support(shop: ShopUnderTest, chat_id: int) -> None:
    from dataclasses import replace

    shop.settings = replace(shop.settings, support_chat_id=chat_id)
    await shop.restart()
