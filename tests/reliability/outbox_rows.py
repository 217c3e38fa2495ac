"""Queue outbox rows straight into a database and read back how they were delivered."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select

from models import OutboxMessage, OutboxStatus
from sandbox.testing import Sandbox
from services.database import Database


async def queue(db: Database, chat_ids: list[int], now: datetime, audience: str = "customer",
                template: str = "payment_reminder", **params: str) -> None:
    """One message per chat id, all due at `now`, in one transaction (a burst)."""
    async with db.write() as s:
        s.add_all(OutboxMessage(audience=audience, chat_id=chat_id, template=template,
                                language="en", params={"order_number": f"N{i:05d}", **params},
                                available_at=now, created_at=now)
                  for i, chat_id in enumerate(chat_ids))


def delivered(sandbox: Sandbox) -> Counter[int]:
    """How many messages each chat got (successful sendMessage calls)."""
    return Counter(int(e.params["chat_id"]) for e in sandbox.requests("sendMessage") if e.ok)


def refusals(sandbox: Sandbox, code: int) -> int:
    """How many sendMessage calls the sandbox answered with this error code."""
    return sum(1 for e in sandbox.requests("sendMessage") if e.error_code == code)


async def until_delivered(sandbox: Sandbox, chats: set[int], timeout: float) -> float:
    """Wait until every chat got its message; the seconds it took."""
    start = time.monotonic()
    while not chats <= set(delivered(sandbox)):
        if time.monotonic() - start > timeout:
            missing = len(chats - set(delivered(sandbox)))
            raise AssertionError(f"{missing} of {len(chats)} messages not delivered in {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def settled(db: Database, timeout: float = 10) -> dict[str, int]:
    """Wait until no row is pending any more; then the rows by status."""
    start = time.monotonic()
    while "pending" in (now := await statuses(db)) and time.monotonic() - start < timeout:
        await asyncio.sleep(0.05)
    return now


async def statuses(db: Database) -> dict[str, int]:
    """Outbox rows by status."""
    async with db.read() as s:
        rows = await s.execute(select(OutboxMessage.status, func.count(OutboxMessage.id))
                               .group_by(OutboxMessage.status))
        return {status: int(n) for status, n in rows}


async def leased(db: Database, now: datetime) -> int:
    """Pending rows whose lease has not run out: in flight in some sender."""
    async with db.read() as s:
        return int(await s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.claimed_until > now)) or 0)
