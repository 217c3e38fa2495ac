"""The settlement statement the merchant gets when completed orders are archived."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text

from models import Order, OutboxMessage
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext

TEMPLATE = "settlement_statement"
LOCK = 730_1  # one statement writer at a time on PostgreSQL


class SettlementService:
    """Queues a statement for the orders archived since the last one."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def announce_due(self) -> bool:
        """Queue the statement of orders completed since the last statement's end; True if
        queued."""
        end = self.ctx.clock.now() - self.ctx.rules.settlement_period
        async with self.ctx.db.write() as session:
            if self.ctx.db.is_postgres:
                await session.execute(text(f"SELECT pg_advisory_xact_lock({LOCK})"))
            last = await session.scalar(select(OutboxMessage.params).where(
                OutboxMessage.template == TEMPLATE).order_by(OutboxMessage.id.desc()).limit(1))
            archived = select(func.min(Order.completed_at)).where(Order.status == S.ARCHIVED)
            start = (datetime.fromisoformat(last["end"]) if last
                     else await session.scalar(archived))
            if start is None or start >= end:
                return False
            count = await session.scalar(select(func.count(Order.id)).where(
                Order.status == S.ARCHIVED, Order.completed_at >= start, Order.completed_at < end))
            if not count:
                return False
            notifications.tell_admins(session, self.ctx.rules, TEMPLATE, self.ctx.clock.now(),
                                      start=start.isoformat(), end=end.isoformat(), orders=count)
            return True
