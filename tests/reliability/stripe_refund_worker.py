"""A process that decides a partial refund of a Stripe order and dies (SIGKILL) the moment
Stripe has answered, before the answer is recorded: the crash of tests/reliability/
test_stripe_crash.py.

    python -m tests.reliability.stripe_refund_worker --db URL --api-base URL --order-id N
        --amount A   (the keys in SHOPBOT_STRIPE_API_KEY / SHOPBOT_STRIPE_WEBHOOK_SECRET)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
from dataclasses import replace

from bot.db import create_database
from services.clock import SystemClock
from services.container import build_services
from services.payments.providers import ProviderRegistry, RefundResult
from services.payments.stripe import StripeProvider
from tests.conftest import TEST_RULES, make_context


class DyingStripe(StripeProvider):
    """Stripe refunds; this process dies before it can write the answer down."""

    async def refund(self, charge_id: str, amount: int, currency: str,
                     idempotency_key: str) -> RefundResult:
        await super().refund(charge_id, amount, currency, idempotency_key)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


async def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("--db", "--api-base", "--order-id", "--amount"):
        p.add_argument(name, required=True)
    args = p.parse_args()
    db, engines = create_database(args.db)
    provider = DyingStripe(os.environ["SHOPBOT_STRIPE_API_KEY"],
                           os.environ["SHOPBOT_STRIPE_WEBHOOK_SECRET"], "https://shop.example.com",
                           api_base=args.api_base, network_retries=0)
    ctx = make_context(db, TEST_RULES, SystemClock())  # type: ignore[arg-type]
    svc = build_services(replace(ctx, payments=ProviderRegistry([provider, *ctx.payments])))
    await svc.merchant.refund_part(int(args.order_id), int(args.amount), "admin:1")
    for engine in engines:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
