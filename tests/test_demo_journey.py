"""The offline demo never stalls: a parcel sent with the sandbox carrier arrives within minutes.

The wiring of `shopbot run` without a token (bot.offline's demo config, bot.app's services) with
a FakeClock: the demo shop, an order paid and shipped, then minutes pass and the tracking sweep
runs as often as the demo's scheduler runs it. Tests elsewhere keep the carrier's two-day journey.
"""
from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import build_services_from
from bot.config import load_config
from bot.offline import start_offline
from models import Product
from services.clock import FakeClock
from services.demo import fill_demo_shop
from tests.databases import open_test_database
from tests.offline import free_port
from tests.shop import buyer, pay, place


async def test_a_demo_parcel_is_delivered_within_four_minutes(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yaml", env={})
    config = config.model_copy(update={"web": config.web.model_copy(update={"port": free_port()})})
    async with contextlib.AsyncExitStack() as stack:
        world = await start_offline(config, stack)
        db = await stack.enter_async_context(open_test_database("sqlite", tmp_path))
        poll = timedelta(seconds=world.config.scheduler.poll_tracking)
        assert poll <= timedelta(minutes=1)
        clock = FakeClock()
        svc = build_services_from(world.config, db, clock, demo=True)
        await fill_demo_shop(db, tmp_path / "media", world.config.warehouses)
        async with db.read() as s:
            tea = await s.scalar(select(Product.id).where(Product.sku == "TEA-LJ-250"))
        order = await place(svc, await buyer(svc), {tea: 1})
        await pay(svc, order)
        await svc.orders.confirm(order.id, "admin:1")
        await svc.orders.ship(order.id, "admin:1", "sandbox", "SB1")
        notice = await svc.orders.detail(order.id)
        expected = notice.shipments[0].expected_delivery
        assert expected is not None and expected - clock.now() <= timedelta(minutes=4)

        waited = timedelta()
        while (await svc.orders.detail(order.id)).status == "shipped":
            assert waited < timedelta(minutes=4), "the demo parcel is still on its way"
            clock.advance(poll)
            waited += poll
            await svc.tracking.poll()
        done = await svc.orders.detail(order.id)
        assert done.status == "delivered"
        steps = [e.code for e in done.shipments[0].events]
        assert steps == ["accepted", "in_transit", "out_for_delivery", "delivered"]
