"""Kill the process (SIGKILL) between Stripe's refund and its record: the intent stays pending,
the money sweep calls Stripe again with the same idempotency key, and Stripe answers the first
refund: the customer gets the money back once and is told once."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from models import Refund
from services.clock import FakeClock
from services.container import build_services
from services.payments.providers import ProviderRegistry
from services.payments.stripe import StripeProvider
from tests.conftest import TEST_RULES, make_context
from tests.fakes.stripe_api import running_fake_stripe
from tests.reliability.processes import ROOT
from tests.reliability.test_crash import file_database
from tests.services.test_payment_inbox import money_sweep, told
from tests.services.test_stripe import paid_by_stripe
from tests.shop import seed_shop


async def test_a_kill_between_the_refund_and_its_record_is_retried_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    async with AsyncExitStack() as stack:
        clock = FakeClock(datetime.now(UTC))  # the worker writes with the system clock
        fake = await stack.enter_async_context(running_fake_stripe(now=clock.now))
        db = await file_database(stack, url)
        provider = StripeProvider(fake.api_key, fake.webhook_secret, "https://shop.example.com",
                                  api_base=fake.url, network_retries=0)
        stack.push_async_callback(provider.close)
        rules = replace(TEST_RULES, payment_methods=("stripe", "sandbox", "cod"))
        ctx = make_context(db, rules, clock)
        svc = build_services(replace(ctx, payments=ProviderRegistry([provider, *ctx.payments])))
        shop = await seed_shop(db)
        order_id, intent = await paid_by_stripe(svc, fake, shop)

        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.reliability.stripe_refund_worker", "--db", url,
            "--api-base", fake.url, "--order-id", str(order_id), "--amount", "2500", cwd=ROOT,
            env={**os.environ, "SHOPBOT_STRIPE_API_KEY": fake.api_key,
                 "SHOPBOT_STRIPE_WEBHOOK_SECRET": fake.webhook_secret})
        assert await asyncio.wait_for(worker.wait(), 60) == -signal.SIGKILL
        async with db.read() as session:
            (refund,) = (await session.scalars(select(Refund))).all()
        assert refund.status == "pending" and refund.amount == 2500  # the decision stood
        assert [(r["payment_intent"], r["amount"]) for r in fake.refunds] == [(intent, 2500)]
        assert await told(svc, "order_refunded") == []

        clock.advance(timedelta(minutes=1))
        assert await money_sweep(svc)() == 1
        async with db.read() as session:
            (refund,) = (await session.scalars(select(Refund))).all()
        assert (refund.status, refund.provider_refund_id) == ("succeeded", fake.refunds[0]["id"])
        assert len(fake.refunds) == 1  # Stripe answered the retry with the first refund
        keys = [key for _, path, key in fake.requests if path == "/v1/refunds"]
        assert keys == [refund.idempotency_key] * 2
        assert [n["amount"] for n in await told(svc, "order_refunded")] == [2500]
