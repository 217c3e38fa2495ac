"""The prune sweep: sent messages after their keeping time, handled update ids after a day;
unsent and failed messages stay. Time moves by the injected clock. SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

from bot.config_sections import SchedulerConfig
from models import CheckoutForm, OutboxMessage, ProcessedUpdate
from scheduler import jobs
from services import notifications
from services.clock import FakeClock
from services.container import Services
from services.conversation import State
from tests.shop import ShopData, buyer


async def queue(svc: Services, label: str) -> int:
    """One outbox message, queued now; its id."""
    async with svc.ctx.db.write() as session:
        notifications.queue(session, audience="customer", chat_id=1, template=label,
                            now=svc.ctx.clock.now())
    async with svc.ctx.db.read() as session:
        return int(await session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.template == label)) or 0)


async def left(svc: Services) -> tuple[list[str], list[int]]:
    """Templates still in the outbox, and update ids still remembered."""
    async with svc.ctx.db.read() as session:
        kept = (await session.scalars(select(OutboxMessage.template)
                                      .order_by(OutboxMessage.id))).all()
        ids = (await session.scalars(select(ProcessedUpdate.update_id)
                                     .order_by(ProcessedUpdate.update_id))).all()
    return list(kept), list(ids)


async def handled(svc: Services, update_id: int) -> None:
    """An update whose turn wrote something, handled now (its record written with it)."""
    async with svc.ctx.db.turn():
        await svc.conversation.save(update_id, State("catalog"))
        await svc.conversation.finish(update_id, [])


async def test_the_prune_sweep_keeps_what_it_must(svc: Services, clock: FakeClock) -> None:
    prune = jobs(svc, SchedulerConfig(keep_sent_messages_days=7))["prune"][0]
    await svc.outbox.mark_sent(await queue(svc, "sent_8_days_ago"))
    await svc.outbox.mark_failed(await queue(svc, "failed_8_days_ago"), "blocked")
    await queue(svc, "unsent_8_days_ago")
    await handled(svc, 100)  # 8 days before the sweep
    clock.advance(days=3)
    await svc.outbox.mark_sent(await queue(svc, "sent_5_days_ago"))
    await handled(svc, 101)  # 5 days before
    clock.advance(days=4, minutes=1)
    await handled(svc, 102)  # 23 h 59 min before
    clock.advance(hours=23, minutes=59)
    await handled(svc, 103)  # just now
    assert await prune() == 1 + 2  # sent_8_days_ago; updates 100 and 101
    kept, ids = await left(svc)
    assert kept == ["failed_8_days_ago", "unsent_8_days_ago", "sent_5_days_ago"]
    assert ids == [102, 103] and await prune() == 0
    clock.advance(days=2)  # a shorter keeping time is honoured too
    assert await jobs(svc, SchedulerConfig(keep_sent_messages_days=1))["prune"][0]() == 1 + 2
    assert await left(svc) == (["failed_8_days_ago", "unsent_8_days_ago"], [])


async def test_old_invoices_of_telegrams_form_are_forgotten(svc: Services, clock: FakeClock,
                                                            shop: ShopData) -> None:
    prune = jobs(svc, SchedulerConfig(keep_sent_messages_days=7))["prune"][0]
    customer = await buyer(svc)
    old = await svc.checkout_form.open(customer.id, "old-invoice-key", ((shop.tea, 1),))
    clock.advance(days=6)
    recent = await svc.checkout_form.open(customer.id, "recent-invoice-key", ((shop.mug, 1),))
    clock.advance(days=1, minutes=1)
    assert await prune() == 1
    async with svc.ctx.db.read() as session:
        numbers = (await session.scalars(select(CheckoutForm.number))).all()
    assert numbers == [recent.number] and old.number != recent.number
