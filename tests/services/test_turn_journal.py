"""The per-update bookkeeping (claim, turn read, state write) on both backends: the turn
journal's plain sqlite3 statements on a SQLite file, SQL text on a self-committing connection
on PostgreSQL. Rows written by the journal and by the ORM must read the same by the other, and a journal write must queue behind an open write unit instead
of blocking the event loop on SQLite's lock."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import select

from models import ConversationState, Customer, ProcessedUpdate
from services.container import Services
from services.conversation import State

DATA = {"step": 2, "name": "李雷 🧋", "lines": [{"sku": "TEA-1", "qty": 3}], "note": "x" * 5000,
        "nested": {"empty": {}, "none": None, "flag": True}}


async def test_a_state_saved_reads_the_same_through_the_orm(svc: Services) -> None:
    await svc.conversation.save(42, State("checkout.city", DATA))
    async with svc.ctx.db.read() as session:
        row = await session.scalar(select(ConversationState).where(ConversationState.user_id == 42))
    assert row is not None and (row.state, row.data) == ("checkout.city", DATA)
    assert row.updated_at.replace(tzinfo=UTC) == svc.ctx.clock.now().replace(tzinfo=UTC)
    assert await svc.conversation.load(42) == State("checkout.city", DATA)


async def test_an_orm_written_state_reads_the_same_in_a_turn(svc: Services) -> None:
    async with svc.ctx.db.write() as session:
        session.add(ConversationState(user_id=7, state="checkout.phone", data=DATA,
                                      updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    start = await svc.conversation.begin_turn(1, 7, "Li Lei", None, "zh-hans")
    assert start is not None
    assert start.state == State("checkout.phone", DATA)
    assert (start.customer.telegram_id, start.customer.name, start.customer.language) == (7, "Li Lei", "zh_CN")
    again = await svc.conversation.begin_turn(2, 7, "Li Lei", None, "zh-hans")
    assert again is not None and again.customer == start.customer  # the same row, read back


async def test_the_same_update_is_claimed_once_even_at_once(svc: Services) -> None:
    claims = await asyncio.gather(*(svc.conversation.claim_update(99) for _ in range(5)))
    assert sorted(claims) == [False, False, False, False, True]
    assert await svc.conversation.begin_turn(99, 5, "A", None, None) is None  # a repeat
    async with svc.ctx.db.read() as session:
        assert list(await session.scalars(select(ProcessedUpdate.update_id))) == [99]


async def test_a_claim_waits_for_an_open_write_unit_without_stalling_the_loop(svc: Services) -> None:
    """A write unit that yields mid-transaction holds SQLite's write lock; a journal write must
    wait for its turn in the event loop (busy_timeout would freeze the loop for up to 30 s)."""
    opened, ticks = asyncio.Event(), 0

    async def slow_unit() -> None:
        async with svc.ctx.db.write() as session:
            session.add(ProcessedUpdate(update_id=1, processed_at=svc.ctx.clock.now()))
            await session.flush()  # the write lock is taken
            opened.set()
            await asyncio.sleep(0.3)

    async def ticking() -> None:
        nonlocal ticks
        while ticks < 10:
            await asyncio.sleep(0.01)
            ticks += 1

    unit = asyncio.create_task(slow_unit())
    await opened.wait()
    started = time.monotonic()
    claimed, _ = await asyncio.wait_for(
        asyncio.gather(svc.conversation.claim_update(2), ticking()), timeout=5)
    assert claimed is True
    assert ticks == 10  # the loop kept running while the claim waited
    assert time.monotonic() - started < 2
    await unit
    async with svc.ctx.db.read() as session:
        assert sorted(await session.scalars(select(ProcessedUpdate.update_id))) == [1, 2]


async def test_a_turn_sees_writes_made_elsewhere_since_the_last_one(svc: Services) -> None:
    """The turn cache (SQLite files) never shows a customer or state older than the database:
    a language switched through the ORM and a state written through the ORM show at once."""
    first = await svc.conversation.begin_turn(10, 8, "Han Meimei", None, "en")
    assert first is not None and first.customer.language == "en"
    await svc.conversation.save(8, State("checkout.city", {"a": 1}))
    second = await svc.conversation.begin_turn(11, 8, "Han Meimei", None, "en")
    assert second is not None and second.state == State("checkout.city", {"a": 1})
    second.state.data["a"] = 2  # a handler changing its copy changes nothing stored
    await svc.customers.set_language(first.customer.id, "zh_CN")
    async with svc.ctx.db.write() as session:
        row = await session.get(ConversationState, 8)
        assert row is not None
        row.data = {"a": 3}
    third = await svc.conversation.begin_turn(12, 8, "Han Meimei", None, "en")
    assert third is not None
    assert third.customer.language == "zh_CN" and third.state == State("checkout.city", {"a": 3})
    await svc.conversation.clear(8)
    fourth = await svc.conversation.begin_turn(13, 8, "Han Meimei", None, "en")
    assert fourth is not None and fourth.state == State()


async def test_two_first_updates_of_a_new_user_at_once_make_one_customer(svc: Services) -> None:
    a, b = await asyncio.gather(svc.conversation.begin_turn(20, 30, "Wei", "wei", "en"),
                                svc.conversation.begin_turn(21, 30, "Wei", "wei", "en"))
    assert a is not None and b is not None and a.customer == b.customer
    async with svc.ctx.db.read() as session:
        assert len((await session.scalars(select(Customer).where(Customer.telegram_id == 30))).all()) == 1
