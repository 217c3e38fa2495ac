"""Kill the bot while it handles a customer's press, start it again: the press is applied once.

The sandbox runs in this test process; the bot is the production ShopBot polling in a process
of its own (tests/reliability/worker.py --poll) over a SQLite file. A customer presses Confirm
(or pays) and the bot process is killed a few milliseconds later, at a different moment each
time; a replacement process, already started, takes over and gets Telegram's redelivery of
whatever the killed one had not confirmed. Every press must end in exactly one order, one
answered button and the placed-order message; every payment in exactly one payment.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import Customer, Order, Payment
from sandbox.client import SandboxUser
from sandbox.testing import Sandbox, running_sandbox
from services.clock import SystemClock
from services.container import build_services
from services.database import Database
from tests.conftest import TEST_RULES, make_context
from tests.e2e.steps import WAIT, edited, new_message
from tests.reliability.processes import BotProcess
from tests.reliability.test_crash import bot_args, file_database
from tests.shop import ShopData, seed_shop

pytestmark = pytest.mark.slow
PHONE = "+8613800138000"
# Moments after the press (seconds) at which the bot is killed: before the update is fetched,
# while the turn runs, around its commit, while the replies go out, after they went out.
KILL_AFTER = (0.0, 0.03, 0.06, 0.1, 0.2)
PAY_KILL_AFTER = (0.0, 0.04, 0.1)
TERM_AFTER = (0.1, 0.25)  # SIGTERM while Confirm runs (its invoice is sent last)
# Each SQL statement of the bot takes this much longer, as on a slow disk: a turn then lasts long
# enough (Confirm ~20 statements) for the moments above to fall inside it.
SLOW = ("--statement-delay", "0.005")


@dataclass
class Bots:
    """The running bot process and the next one, started and waiting for the go."""

    sandbox: Sandbox
    args: list[str]
    running: BotProcess
    spare: BotProcess

    @classmethod
    async def start(cls, sandbox: Sandbox, args: list[str]) -> Bots:
        first, spare = BotProcess(*args), BotProcess(*args)
        await first.ready()
        first.go()
        await spare.ready()
        return cls(sandbox, args, first, spare)

    async def replace(self, kill: bool = True) -> None:
        """Kill (or SIGTERM) the running process; the spare takes over; a new spare starts."""
        if kill:
            self.running.kill()
        else:
            assert await self.running.terminate() == 0
        self.running, self.spare = self.spare, BotProcess(*self.args)
        self.running.go()
        await self.spare.ready()

    def stop(self) -> None:
        self.running.stop()
        self.spare.stop()


@asynccontextmanager
async def crash_shop(tmp_path: Path, *extra: str) -> AsyncIterator[tuple[Sandbox, Database,
                                                                          ShopData, Bots]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox())
        db = await file_database(stack, url)
        data = await seed_shop(db)
        bots = await Bots.start(sandbox, bot_args(sandbox, url, "--poll", *SLOW, *extra))
        try:
            yield sandbox, db, data, bots
        finally:
            bots.stop()


async def to_review(db: Database, data: ShopData, person: SandboxUser, payment: str) -> int:
    """A cart of one tea, then checkout up to the review; its message id."""
    services = build_services(make_context(db, TEST_RULES, SystemClock()))  # type: ignore[arg-type]
    customer = await services.customers.ensure(person.id, person.first_name, None, "en")
    await services.cart.add(customer.id, data.tea, 1)
    await person.command("/checkout")
    await new_message(person, "Who will receive")
    await person.send("Li Lei")
    await new_message(person, "phone number")
    await person.send(PHONE)
    for ask, value in (("province", "Shanghai"), ("city", "Shanghai"),
                       ("street", "88 Nanjing Road")):
        await new_message(person, ask)
        await person.send(value)
    prompt = await new_message(person, "postcode")
    await person.click("Skip", timeout=WAIT)
    await edited(person, prompt.message_id, "How should we deliver")
    await person.click("Standard delivery", timeout=WAIT)
    await edited(person, prompt.message_id, "How would you like to pay")
    await person.click(payment, timeout=WAIT)
    await edited(person, prompt.message_id, "Please check your order")
    return prompt.message_id


def customer_of(person: SandboxUser) -> Any:
    return select(Customer.id).where(Customer.telegram_id == person.id).scalar_subquery()


async def orders_of(db: Database, person: SandboxUser) -> int:
    async with db.read() as session:
        return int(await session.scalar(
            select(func.count(Order.id)).where(Order.customer_id == customer_of(person))) or 0)


def answered(sandbox: Sandbox) -> int:
    """Button presses the bot answered (a second answer to one press is refused)."""
    return sum(1 for e in sandbox.requests("answerCallbackQuery") if e.ok)


async def test_kill_at_any_moment_of_confirm_places_one_order(tmp_path: Path) -> None:
    async with crash_shop(tmp_path) as (sandbox, db, data, bots):
        for index, delay in enumerate(KILL_AFTER):
            person = sandbox.user(f"Buyer{index}", language_code="en")
            review = await to_review(db, data, person, "Cash on delivery")
            before = answered(sandbox)
            pressed = asyncio.create_task(person.click("Confirm order", timeout=60))
            await asyncio.sleep(delay)
            await bots.replace()
            answer = await pressed
            assert answer is not None, f"killed {delay}s after the press: the button spins"
            await edited(person, review, "is placed")
            assert await orders_of(db, person) == 1, f"killed {delay}s after the press"
            assert answered(sandbox) == before + 1


async def test_sigterm_during_confirm_finishes_the_press(tmp_path: Path) -> None:
    async with crash_shop(tmp_path, "--telegram-payments") as (sandbox, db, data, bots):
        for index, delay in enumerate(TERM_AFTER):
            person = sandbox.user(f"Buyer{index}", language_code="en")
            review = await to_review(db, data, person, "Telegram Payments")
            pressed = asyncio.create_task(person.click("Confirm order", timeout=60))
            await asyncio.sleep(delay)
            await bots.replace(kill=False)  # the stopping process finishes the press, exits 0
            assert await pressed is not None, f"stopped {delay}s after the press"
            placed = await edited(person, review, "is placed")
            await person.wait_for_message(WAIT, lambda m: m.invoice is not None)
            assert await orders_of(db, person) == 1
            await person.command("/orders")
            await new_message(person, "Your orders")
            assert [m.message_id for m in person.bot_messages
                    if "is placed" in (m.text or "")] == [placed.message_id]
            assert len([m for m in person.bot_messages if m.invoice is not None]) == 1


async def test_kill_at_any_moment_of_a_payment_pays_once(tmp_path: Path) -> None:
    async with crash_shop(tmp_path, "--telegram-payments") as (sandbox, db, data, bots):
        for index, delay in enumerate(PAY_KILL_AFTER):
            person = sandbox.user(f"Payer{index}", language_code="en")
            await to_review(db, data, person, "Telegram Payments")
            await person.click("Confirm order", timeout=WAIT)
            invoice = await person.wait_for_message(WAIT, lambda m: m.invoice is not None)
            await person.pay(invoice.message_id)
            await asyncio.sleep(delay)
            await bots.replace()
            await new_message(person, "received for order")
            async with db.read() as session:
                paid = (await session.scalars(select(Payment).join(
                    Order, Order.id == Payment.order_id).where(
                        Order.customer_id == customer_of(person)))).all()
                statuses = (await session.scalars(select(Order.status).where(
                    Order.customer_id == customer_of(person)))).all()
            assert len(paid) == 1, f"killed {delay}s after paying"
            assert statuses == ["awaiting_review"]
