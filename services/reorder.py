""""Buy again": the goods of a delivered order, as they can be had today."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import Order, OrderLine, Product
from models import OrderStatus as S
from services.context import ServiceContext
from services.errors import InvalidTransition, NotFound
from services.inventory import stock
from services.validation import identifier

# Orders whose goods arrived: what "Buy again" is offered on.
REORDERABLE = (S.DELIVERED, S.COMPLETED, S.ARCHIVED)


@dataclass(frozen=True)
class Missing:
    """A line of an old order that cannot be bought again as it was: `available` units now
    (0: sold out), `gone` when the product is no longer for sale."""

    name_en: str
    name_zh: str
    wanted: int
    available: int
    gone: bool = False


@dataclass(frozen=True)
class Reorder:
    """"Buy again": what can be checked out now, and what of the old order cannot."""

    number: str
    items: tuple[tuple[int, int], ...]
    missing: tuple[Missing, ...]


class ReorderService:
    """What a customer can buy again of an order they received."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def buy_again(self, customer_id: int, order_id: int) -> Reorder:
        """The lines of one of the customer's delivered orders, at today's stock: as many units
        as are free (at most the old quantity), and the lines that cannot be had as they were."""
        identifier(order_id, "order_id")
        async with self.ctx.db.read() as session:
            order = await session.get(Order, order_id)
            if order is None or order.customer_id != customer_id:
                raise NotFound(what="order")
            if order.status not in REORDERABLE:
                raise InvalidTransition(action="buy_again", status=order.status)
            lines = (await session.scalars(select(OrderLine).where(
                OrderLine.order_id == order.id).order_by(OrderLine.id))).all()
            wanted: dict[int, int] = {}
            for line in lines:
                wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
            free = await stock.available_by_product(session, list(wanted))
            items, missing = [], []
            for line in {ln.product_id: ln for ln in lines}.values():
                product = await session.get(Product, line.product_id)
                want = min(wanted[line.product_id], self.ctx.rules.max_line_quantity)
                have = min(want, free[line.product_id]) if product and product.active else 0
                if have:
                    items.append((line.product_id, have))
                if have < want:
                    missing.append(Missing(line.name_en, line.name_zh, want, have,
                                           gone=not (product and product.active)))
            return Reorder(order.number, tuple(items), tuple(missing))
