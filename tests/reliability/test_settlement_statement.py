"""Archiving sends the merchant the settlement statement of the archived orders, once."""
from __future__ import annotations

from pathlib import Path

from bot.config_sections import SchedulerConfig
from scheduler import jobs
from services.container import Services
from tests.e2e.harness import running_shop
from tests.shop import buyer, pay, place, seed_shop


async def complete_an_order(svc: Services, shop_data: object, telegram_id: int) -> str:
    placed = await place(svc, await buyer(svc, telegram_id), {shop_data.tea: 1})  # type: ignore[attr-defined]
    await pay(svc, placed)
    for step in (svc.orders.confirm(placed.id, "admin:1"),
                 svc.orders.ship(placed.id, "admin:1", "manual", "VAN1"),
                 svc.orders.mark_delivered(placed.id, "admin:1")):
        await step
    await svc.orders.confirm_receipt((await buyer(svc, telegram_id)).id, placed.id)
    return placed.number


async def test_statement_queued_once_after_archiving(svc: Services, clock) -> None:
    data = await seed_shop(svc.ctx.db)
    await complete_an_order(svc, data, 1)
    archive = jobs(svc, SchedulerConfig())["archive_completed"][0]
    assert await archive() == 0 and not await svc.settlements.announce_due()  # not due yet
    clock.advance(days=16)
    assert await archive() == 1
    assert not await svc.settlements.announce_due()  # the same period is not sent twice
    from sqlalchemy import select

    from models import OutboxMessage

    async with svc.ctx.db.read() as s:
        rows = (await s.scalars(select(OutboxMessage).where(
            OutboxMessage.template == "settlement_statement"))).all()
    assert len(rows) == 1 and rows[0].params["orders"] == 1 and rows[0].audience == "admin"


async def test_statement_arrives_in_the_admin_chat_as_csv(tmp_path: Path) -> None:
    async with running_shop(tmp_path) as shop:
        number = await complete_an_order(shop.services, shop.data, shop.customer("Li").id)
        shop.clock.advance(days=16)
        await jobs(shop.services, SchedulerConfig())["archive_completed"][0]()
        chat = shop.admin_chat.as_user(shop.merchant)
        doc = await chat.wait_for_message(10, lambda m: m.document is not None
                                          and "settlement" in m.document["file_name"])
        csv_text = next(d for d in chat.documents if d["file_id"] == doc.document["file_id"])[
            "content"].decode("utf-8-sig")
        assert number in csv_text and csv_text.splitlines()[0].startswith("order_number")
        assert shop.refused_requests() == []
