"""The composition root: builds the database, services, conversation, Bot and web app once.

`run(config)` is what `shopbot run` calls; tests build a `ShopBot` directly around their own
services and a sandbox.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import AppConfig
from bot.db import create_database
from bot.offline import OfflineWorld, listen_error, start_offline
from bot.ratelimit import RateLimiter
from bot.startup import LibraryImport, StartupClock
from handlers.admin.alerts import AdminAlerts
from handlers.notifications import Notifications
from handlers.router import Conversation
from handlers.support.relay import SupportRelay
from handlers.turn import Settings
from services.clock import Clock, SystemClock
from services.container import Services, build_services
from services.context import ServiceContext
from services.database import Database
from services.payments.cod import CashOnDelivery
from services.payments.providers import PaymentProvider, ProviderRegistry
from services.payments.sandbox import SandboxProvider
from services.shipping import build_carriers
from services.shipping.sandbox_carrier import DEMO_PACE

if TYPE_CHECKING:  # the framework is imported when the bot is built: the offline page first
    from bot.outbox_sender import OutboxSender
    from bot.runtimes import Framework, Runtime

log = logging.getLogger(__name__)


def public_url(config: AppConfig) -> str:
    """Where people reach the bot's web app (payment pages)."""
    return str(config.web.public_url or f"http://{config.web.host}:{config.web.port}").rstrip("/")


def payment_providers(config: AppConfig) -> ProviderRegistry:
    """The providers config.yaml enables."""
    providers: list[PaymentProvider] = [CashOnDelivery()]
    if "sandbox" in config.payments.methods:
        providers.append(SandboxProvider(config.payments.sandbox_secret, public_url(config)))
    if "telegram" in config.payments.methods:
        from services.payments.telegram import TelegramPayments

        providers.append(TelegramPayments())
    if "stripe" in config.payments.methods:
        from services.payments.stripe import StripeProvider

        stripe = config.payments.stripe
        assert stripe.api_key and stripe.webhook_secret  # PaymentsConfig requires both
        providers.append(StripeProvider(stripe.api_key, stripe.webhook_secret, public_url(config),
                                        stripe.payment_method_types, stripe.api_base))
    return ProviderRegistry(providers)


def conversation_settings(config: AppConfig) -> Settings:
    """What the conversation needs to know of the configuration."""
    return Settings(
        shop_name=config.shop.name,
        admin_user_ids=frozenset(config.admin.user_ids),
        admin_chat_id=config.admin.chat_id,
        support_chat_id=config.support.chat_id,
        telegram_provider_token=config.payments.telegram_provider_token or "",
        public_url=public_url(config),
        timezone=config.shop.timezone,
    )


def make_limiter(redis_url: str | None, token: str) -> RateLimiter:
    """The rate limiter: in Redis, shared by every process, when configured; else in memory."""
    if redis_url:
        from bot.ratelimit_redis import RedisRateLimiter

        return RedisRateLimiter.from_url(redis_url, token)
    return RateLimiter()


def build_services_from(config: AppConfig, db: Database, clock: Clock | None = None,
                        demo: bool = False) -> Services:
    """Every service, wired to the database and the configured providers and carriers.

    In the offline demo (`demo`) the sandbox carrier delivers in minutes instead of days.
    """
    clock = clock or SystemClock()
    carriers = build_carriers(config.carrier_profiles(), clock, DEMO_PACE if demo else 1)
    ctx = ServiceContext(db=db, rules=config.to_rules(), payments=payment_providers(config),
                         carriers=carriers, clock=clock)
    return build_services(ctx)


@dataclass
class ShopBot:
    """A running bot: the runtime (aiogram or python-telegram-bot) feeding the core, and the
    outbox sender."""

    services: Services
    settings: Settings
    runtime: Runtime
    sender: OutboxSender
    limiter: RateLimiter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, services: Services, settings: Settings, token: str, api_url: str | None,
              limiter: RateLimiter | None = None, outbox_interval: float = 1.0,
              framework: Framework = "aiogram") -> ShopBot:
        """Wire a bot around ready services, on aiogram or python-telegram-bot."""
        from bot.outbox_sender import OutboxSender
        from bot.runtimes import Steps, make_runtime

        limiter = limiter or RateLimiter()
        runtime = make_runtime(framework, token, api_url, limiter,
                               Conversation(services, settings))
        alerts = Notifications(services.ctx, {"admin": AdminAlerts(services, settings),
                                              "support": SupportRelay(services, settings)})
        sender = OutboxSender(services.outbox, Steps(runtime), alerts, outbox_interval)
        return cls(services, settings, runtime, sender, limiter)

    async def start(self, polling: bool = True) -> None:
        """Register commands, say what will not work in the configured chats, then poll (or
        wait for webhooks) and send the outbox."""
        await self.runtime.start()
        if polling:
            self.tasks.append(asyncio.create_task(self.runtime.poll(), name="polling"))
        self.tasks.append(asyncio.create_task(self.sender.run(), name="outbox"))

    async def stop(self) -> None:
        """Stop taking updates, finish those in flight (their replies sent), stop sending the
        outbox; close the HTTP session."""
        from bot.outbox_sender import STOP_GRACE
        from bot.polling import DRAIN_TIMEOUT

        await self.runtime.stop()
        polling = [task for task in self.tasks if task.get_name() == "polling"]
        if polling:  # it ends once the updates in flight are handled and confirmed
            await asyncio.wait(polling, timeout=DRAIN_TIMEOUT + 5)
        # The sender ends by itself after its claim under way (nothing left leased to nobody).
        self.sender.request_stop()
        sending = [task for task in self.tasks if task.get_name() == "outbox"]
        if sending:
            await asyncio.wait(sending, timeout=STOP_GRACE + 1)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        await self.runtime.close()


async def serve(config: AppConfig, clock: StartupClock | None = None) -> None:
    """Run the bot until SIGINT/SIGTERM; with no token, against a local sandbox Bot API server.

    Start-up, in order: the offline page (no token), then the Telegram library's import in a
    thread while a child process upgrades the database schema and, offline, fills the demo
    shop (bot/prepare.py: on the other core; the page keeps answering); then the bot.
    `clock` times it.
    """
    from bot.prepare import prepare_in_child

    # From the first moment: a Ctrl-C during start-up stops the bot once it is up, cleanly.
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    clock = clock or StartupClock()
    async with contextlib.AsyncExitStack() as stack:
        token, api_url = config.telegram.token, config.telegram.api_url
        world = None
        if token is None:
            world = await _offline_page(config, stack)
            token, api_url, config = world.sandbox.token, world.sandbox.api_url, world.config
            clock.mark("page")
        library = LibraryImport(config.telegram.framework)
        # On the other core meanwhile: the schema upgrade, and offline the demo shop.
        await prepare_in_child(config, demo=world is not None)
        clock.mark("database schema" + (" and demo shop" if world else ""))
        # Logging starts after the migration, so a start-up failure is one line, not chatter.
        from bot.logs import configure

        configure(config.logging.level, config.logging.format)
        db, engines = create_database(config.database.url, config.database.pool_size)
        for engine in engines:
            stack.push_async_callback(engine.dispose)
        services = build_services_from(config, db, demo=world is not None)
        await library.wait()  # the page keeps answering meanwhile
        clock.mark(f"waiting for {config.telegram.framework}")
        clock.add(f"{config.telegram.framework} import (in its thread)", library.seconds)
        await _serve(config, services, token, str(api_url) if api_url else None, world, stop,
                     clock)


async def _offline_page(config: AppConfig, stack: contextlib.AsyncExitStack) -> OfflineWorld:
    """No BOT_TOKEN: the sandbox and its chat page on web.port, the demo chats."""
    world = await start_offline(config, stack)  # listen first: a taken port fails at once
    # Printed as the page starts answering (nothing has yielded to the event loop since it
    # listens, so no request is answered before this line). The page says "starting…" until
    # the bot polls; messages sent meanwhile wait in the sandbox.
    print(f"No BOT_TOKEN: the shop runs on the local Telegram sandbox at {world.address} "
          "(open it in a browser to chat with the bot)", flush=True)
    return world


def settle_memory() -> None:
    """Take what start-up left alive (modules, and the thousands of classes of aiogram, pydantic
    and SQLAlchemy) out of the garbage collector's full passes: each pass walked them all and
    stopped the event loop ~200 ms, every few seconds under load (bench/README.md). Objects made
    later are collected as before; what is frozen was going to live as long as the process."""
    gc.collect()
    gc.freeze()


async def _serve(config: AppConfig, services: Services, token: str, api_url: str | None,
                 world: OfflineWorld | None = None, stop: asyncio.Event | None = None,
                 clock: StartupClock | None = None) -> None:
    from bot.web import start_web
    from scheduler import start_scheduler

    limiter = make_limiter(config.redis.url, token)
    shop = ShopBot.build(services, conversation_settings(config), token, api_url, limiter,
                         outbox_interval=config.scheduler.outbox,
                         framework=config.telegram.framework)
    web_config = world.web_config() if world else config  # offline: behind the sandbox's page
    try:
        web = await start_web(web_config, shop)
    except OSError as error:
        await shop.runtime.close()
        raise listen_error(web_config.web.host, web_config.web.port, error) from None
    scheduler = start_scheduler(services, config.scheduler)
    settle_memory()  # before the first poll: its full collection must not hold an update back
    await shop.start(polling=config.telegram.mode == "polling")
    if clock is not None:
        clock.mark("bot started")
    log.info("shop bot running (%s, %s) %s", config.telegram.framework, config.telegram.mode,
             clock.summary() if clock else "")
    stop = stop or asyncio.Event()
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        await _stop_scheduler(scheduler)
        await shop.stop()
        await web.cleanup()
        await limiter.close()


async def _stop_scheduler(scheduler: Any) -> None:
    """No new jobs; the running ones (short sweeps) finish, then shut down: a Ctrl-C right as a
    sweep runs must not cancel it half-way (apscheduler logs that as a failed job)."""
    scheduler.pause()
    # apscheduler 3 has no public way to wait for running coroutine jobs on asyncio.
    running = [f for executor in getattr(scheduler, "_executors", {}).values()
               for f in getattr(executor, "_pending_futures", ()) if not f.done()]
    if running:
        await asyncio.wait(running, timeout=5)
    scheduler.shutdown(wait=False)


def run(config: AppConfig, clock: StartupClock | None = None) -> None:
    """`shopbot run`: serve until Ctrl-C."""
    Path(config.shop.media_dir).mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, clock))
