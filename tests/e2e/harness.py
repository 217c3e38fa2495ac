"""The whole bot, for real, against the sandbox Bot API server: customers act as people do.

    async with running_shop(tmp_path) as shop:
        li = shop.customer("Li")
        await li.command("/start")
        menu = await li.wait_for_message()

The bot is the production wiring (bot.app.ShopBot: aiogram or python-telegram-bot polling,
the conversation core, the rate limiter, the outbox sender) around test services (a FakeClock,
the test shop).
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.app import ShopBot
from bot.ratelimit import Limits, RateLimiter
from bot.runtimes import Framework
from handlers.turn import Settings
from sandbox.client import SandboxUser
from sandbox.server.models import LogEntry
from sandbox.testing import Sandbox, SandboxGroup, running_sandbox
from services.clock import FakeClock
from services.container import Services, build_services
from services.context import ServiceContext
from services.payments.providers import ProviderRegistry
from services.payments.telegram import TelegramPayments
from services.rules import CannedReply, ShopRules
from tests.conftest import TEST_RULES, make_context
from tests.databases import open_test_database
from tests.shop import ShopData, seed_shop

# The support desk's prepared answers (`canned` of running_shop).
DELIVERY_TIME = (CannedReply("delivery_time", "Delivery takes 1-3 days.", "发货后 1-3 天送达。"),)
# The framework of every test that does not run on both: aiogram (the product's default is
# ptb, which the tests on both frameworks and the `shopbot run` tests cover), unless
# SHOPBOT_TEST_FRAMEWORK=ptb runs the whole suite on python-telegram-bot.
DEFAULT_FRAMEWORK: Framework = ("ptb" if os.environ.get("SHOPBOT_TEST_FRAMEWORK") == "ptb"
                                else "aiogram")
# With the sandbox's flood limits off, our own limiter need not pace the tests either.
UNLIMITED = Limits(10_000, 10_000, 10_000, 10_000, 600_000, 10_000)


@dataclass
class ShopUnderTest:
    """A running bot with its sandbox, services and seeded shop."""

    sandbox: Sandbox
    services: Services
    data: ShopData
    clock: FakeClock
    settings: Settings
    bot: ShopBot
    merchant: SandboxUser
    admin_chat: SandboxGroup
    # With `support=True`: the support forum and its two agents (Mei, Kai).
    support_chat: SandboxGroup | None = None
    agents: tuple[SandboxUser, ...] = ()
    framework: Framework = DEFAULT_FRAMEWORK
    _restarts: int = field(default=0)

    def customer(self, first_name: str = "Li", language_code: str = "en", **kw: Any) -> SandboxUser:
        """A new Telegram user with a private chat with the bot."""
        return self.sandbox.user(first_name, language_code=language_code, **kw)

    async def restart(self) -> None:
        """Stop the bot process's runtime and start a fresh one over the same database."""
        await self.bot.stop()
        self.bot = self.build(self.bot.limiter)
        await self.bot.start()
        self._restarts += 1

    def build(self, limiter: RateLimiter) -> ShopBot:
        """A new bot process's wiring on this shop's framework (not started)."""
        return ShopBot.build(self.services, self.settings, self.sandbox.token,
                             self.sandbox.api_url, limiter, outbox_interval=0.05,
                             framework=self.framework)

    async def send_outbox(self) -> int:
        """Send every due outbox row now (instead of waiting for the sender's next tick)."""
        return await self.bot.sender.send_due()

    async def outbox_settled(self) -> None:
        """Wait until the sender has sent (or given up on) every queued message: before the
        fake clock jumps, else a row still being sent outlives its lease and goes again."""
        from sqlalchemy import func, select

        from models import OutboxMessage, OutboxStatus

        for _ in range(400):
            async with self.services.ctx.db.read() as session:
                if not await session.scalar(select(func.count(OutboxMessage.id)).where(
                        OutboxMessage.status == OutboxStatus.PENDING)):
                    return
            await asyncio.sleep(0.025)
        raise AssertionError("the outbox did not settle")

    def refused_requests(self) -> list[LogEntry]:
        """Bot API calls the sandbox refused (invalid against the spec or its limits)."""
        return [e for e in self.sandbox.requests() if not e.ok]


@asynccontextmanager
async def running_shop(
    tmp_path: Path,
    backend: str = "sqlite",
    *,
    rules: ShopRules = TEST_RULES,
    settings: Settings | None = None,
    context: ServiceContext | None = None,
    payment_methods: tuple[str, ...] | None = None,
    flood_limits: bool = False,
    support: bool = False,
    canned: tuple[CannedReply, ...] = DELIVERY_TIME,
    framework: Framework = DEFAULT_FRAMEWORK,
    **sandbox_options: Any,
) -> AsyncIterator[ShopUnderTest]:
    """Sandbox + database + seeded shop + the real bot (aiogram or python-telegram-bot,
    polling), torn down after.

    The sandbox has a merchant and the admin group they share with the bot (a plain member in
    privacy mode, so every typed answer must be a reply); the shop's rules and settings point
    at that group.
    """
    async with (running_sandbox(flood_limits=flood_limits, **sandbox_options) as sandbox,
                open_test_database(backend, tmp_path) as db):
        merchant = sandbox.user("Merchant")
        # The bot a plain member with privacy mode on, as a merchant adds it: it gets commands,
        # button presses and replies to its questions, never plain talk.
        admin_chat = sandbox.group("Shop admins", members=[merchant], supergroup=True)
        rules = replace(rules, admin_chat_id=admin_chat.id)
        support_chat, agents = None, ()
        if support:  # a forum where the bot is an admin that manages topics, two agents
            agents = (sandbox.user("Mei", username="mei_support"), sandbox.user("Kai"))
            support_chat = sandbox.forum("Shop support", members=[*agents])
            rules = replace(rules, support=replace(
                rules.support, chat_id=support_chat.id,
                agents=frozenset(a.user.id for a in agents),
                canned=canned))
        settings = settings or Settings(
            shop_name="Test Shop", admin_user_ids=frozenset({merchant.user.id}),
            admin_chat_id=admin_chat.id, telegram_provider_token="TEST:provider",
            public_url="http://pay.test")
        clock = FakeClock()
        if payment_methods is not None:  # e.g. with Telegram Payments, off in the default rules
            rules = replace(rules, payment_methods=payment_methods)
        ctx = (replace(context, rules=replace(context.rules, admin_chat_id=admin_chat.id))
               if context else make_context(db, rules, clock))
        if "telegram" in rules.payment_methods and "telegram" not in ctx.payments:
            ctx = replace(ctx, payments=ProviderRegistry([*ctx.payments, TelegramPayments()]))
        services = build_services(ctx)
        data = await seed_shop(db)
        limiter = RateLimiter() if flood_limits else RateLimiter(UNLIMITED)
        bot = ShopBot.build(services, settings, sandbox.token, sandbox.api_url, limiter,
                            outbox_interval=0.05, framework=framework)
        await bot.start()
        shop = ShopUnderTest(sandbox, services, data, clock, settings, bot, merchant, admin_chat,
                             support_chat, agents, framework)
        try:
            yield shop
        finally:
            await shop.bot.stop()
