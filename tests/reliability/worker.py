"""A bot process for the crash tests: the production ShopBot sending the outbox, nothing else.

    python -m tests.reliability.worker --db URL [--schema S] --api-url URL --token T
        [--redis URL] [--lease SECONDS] [--poll [--telegram-payments]]

It builds everything (the slow part: importing aiogram), prints "ready", then waits for a line
on stdin before it starts sending, so a test can have a replacement process ready while the
first one is still running, and kill either of them at any moment. With --poll it also polls
for updates, as `shopbot run` does, and SIGTERM stops it as it stops `shopbot run`: no new
updates, those in flight finished and confirmed.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.app import ShopBot, make_limiter
from bot.db import create_database
from handlers.turn import Settings
from services.clock import SystemClock
from services.container import build_services
from services.payments.providers import ProviderRegistry
from services.payments.telegram import TelegramPayments
from tests.conftest import TEST_RULES, make_context


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--schema")
    p.add_argument("--api-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--redis")
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--poll", action="store_true")
    p.add_argument("--telegram-payments", action="store_true")
    p.add_argument("--statement-delay", type=float, default=0.0,
                   help="seconds every SQL statement takes longer (a slow disk): widens the "
                        "moments a kill can fall into")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    """Build the bot, say ready, wait for the go, send until killed."""
    options: dict[str, Any] = {}
    if args.schema:
        options["connect_args"] = {"server_settings": {"search_path": args.schema}}
    db, engines = create_database(args.db, **options)
    if args.statement_delay:
        for engine in engines:
            event.listen(engine.sync_engine, "before_cursor_execute",
                         lambda *_: time.sleep(args.statement_delay))
    rules, settings = TEST_RULES, Settings(shop_name="Test Shop", public_url="http://pay.test")
    ctx = make_context(db, rules, SystemClock())  # type: ignore[arg-type]
    if args.telegram_payments:
        rules = replace(rules, payment_methods=("sandbox", "telegram", "cod"))
        ctx = replace(ctx, rules=rules,
                      payments=ProviderRegistry([*ctx.payments, TelegramPayments()]))
        settings = replace(settings, telegram_provider_token="TEST:provider")
    services = build_services(ctx)
    services.outbox.lease = timedelta(seconds=args.lease)
    limiter = make_limiter(args.redis, args.token)
    shop = ShopBot.build(services, settings, args.token, args.api_url, limiter,
                         outbox_interval=0.05)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await shop.start(polling=args.poll)
    try:
        await stop.wait()
    finally:
        await shop.stop()
        await limiter.close()
        for engine in engines:
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
