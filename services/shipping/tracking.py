"""The tracking sweep: ask carriers about shipped parcels, record new events, tell the customer.

Carriers are asked outside any transaction (network I/O must not hold database locks); the
answers of a batch are then written in one transaction. Each event is inserted with
ON CONFLICT DO NOTHING on its unique key (shipment, code, time), so only the run that really
inserted it tells the customer: two sweeps at once record and announce every event once.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import CarrierEvent, Customer, Order, Shipment
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidTransition
from services.orders.service import deliver
from services.shipping.carriers import TrackingEvent

log = logging.getLogger(__name__)

BATCH = 200
PARALLEL_REQUESTS = 10


@dataclass(frozen=True)
class _Due:
    """A parcel to ask its carrier about."""

    shipment_id: int
    order_id: int
    carrier: str
    tracking_number: str
    shipped_at: datetime


class TrackingService:
    """Pulls carrier events for shipped orders and pushes them to customers."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def poll(self, batch: int = BATCH) -> int:
        """Poll every parcel in transit once; returns how many new events were recorded."""
        recorded, after = 0, 0
        while True:
            due = await self._due(after, batch)
            if not due:
                return recorded
            answers = await self._track_all(due)
            async with self.ctx.db.write() as session:
                for parcel, events in answers:
                    recorded += await self._record(session, parcel, events)
                await session.execute(
                    update(Shipment)
                    .where(Shipment.id.in_([parcel.shipment_id for parcel, _ in answers]))
                    .values(last_polled_at=self.ctx.clock.now())
                    .execution_options(synchronize_session=False))
            if len(due) < batch:
                return recorded
            after = due[-1].shipment_id

    async def _due(self, after: int, batch: int) -> list[_Due]:
        """Shipped, undelivered parcels of shipped orders with a tracking carrier, by id."""
        codes = [c.code for c in self.ctx.carriers if c.has_tracking]
        if not codes:
            return []
        async with self.ctx.db.read() as session:
            rows = await session.execute(
                select(Shipment.id, Shipment.order_id, Shipment.carrier, Shipment.tracking_number,
                       Shipment.shipped_at)
                .join(Order, Order.id == Shipment.order_id)
                .where(Shipment.id > after, Shipment.shipped_at.is_not(None),
                       Shipment.delivered_at.is_(None), Shipment.tracking_number.is_not(None),
                       Shipment.carrier.in_(codes), Order.status == S.SHIPPED)
                .order_by(Shipment.id).limit(batch))
            # The WHERE leaves no NULL carrier, tracking number or shipping time.
            return [_Due(*cast("tuple[int, int, str, str, datetime]", row)) for row in rows]

    async def _track_all(self, due: list[_Due]) -> list[tuple[_Due, list[TrackingEvent]]]:
        """Ask the carriers, a few requests at a time; a parcel whose carrier fails waits."""
        gate = asyncio.Semaphore(PARALLEL_REQUESTS)

        async def ask(parcel: _Due) -> tuple[_Due, list[TrackingEvent]] | None:
            async with gate:
                carrier = self.ctx.carriers.get(parcel.carrier)
                try:
                    return parcel, await carrier.track(parcel.tracking_number, parcel.shipped_at)
                except OSError as exc:  # network trouble (timeouts included): try next sweep
                    log.warning("tracking %s %s failed: %s", parcel.carrier,
                                parcel.tracking_number, exc)
                    return None

        answers = await asyncio.gather(*(ask(parcel) for parcel in due))
        return [answer for answer in answers if answer is not None]

    async def _record(self, session: AsyncSession, parcel: _Due,
                      events: list[TrackingEvent]) -> int:
        """Insert the new events, tell the customer of each, deliver when the last parcel
        arrived."""
        new = [e for e in sorted(events, key=lambda e: e.occurred_at)
               if await self._insert(session, parcel.shipment_id, e)]
        if not new:
            return 0
        order = await session.get(Order, parcel.order_id)
        customer = await session.get(Customer, order.customer_id) if order else None
        if order is None or customer is None:
            return len(new)
        now = self.ctx.clock.now()
        for event in new:
            notifications.tell_customer(
                session, customer, "tracking_update", now, order.id, order_number=order.number,
                code=event.code, description=event.description, location=event.location,
                at=event.occurred_at.isoformat())
        arrived = next((e for e in new if e.code == "delivered"), None)
        if arrived is not None:
            await self._arrived(session, parcel, order, arrived.occurred_at)
        return len(new)

    async def _insert(self, session: AsyncSession, shipment_id: int, event: TrackingEvent) -> bool:
        """Insert one event; False when it was already recorded."""
        insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
        stmt = (
            insert(CarrierEvent)
            .values(shipment_id=shipment_id, code=event.code, description=event.description,
                    location=event.location, occurred_at=event.occurred_at,
                    recorded_at=self.ctx.clock.now())
            .on_conflict_do_nothing(index_elements=["shipment_id", "code", "occurred_at"])
            .returning(CarrierEvent.id)
        )
        return await session.scalar(stmt) is not None

    async def _arrived(self, session: AsyncSession, parcel: _Due, order: Order,
                       at: datetime) -> None:
        """Stamp the parcel; when every parcel of the order is in, the order is delivered."""
        await session.execute(
            update(Shipment)
            .where(Shipment.id == parcel.shipment_id, Shipment.delivered_at.is_(None))
            .values(delivered_at=at).execution_options(synchronize_session=False))
        waiting = await session.scalar(
            select(Shipment.id).where(Shipment.order_id == order.id,
                                      Shipment.return_request_id.is_(None),
                                      Shipment.delivered_at.is_(None)).limit(1))
        if waiting is not None:
            return
        try:
            await deliver(session, self.ctx, order, actor=f"carrier:{parcel.carrier}")
        except InvalidTransition:
            pass  # the merchant marked it delivered first
