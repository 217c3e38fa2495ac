"""Orders in a given state for the sweep tests, and what the outbox holds for them."""
from __future__ import annotations

from sqlalchemy import func, select

from models import OrderEvent, OutboxMessage, Stock
from services.container import Services
from services.inventory import stock
from services.orders.dto import PlacedOrder
from tests.shop import ShopData, buyer, pay, place

ADMIN = "admin:1"


async def placed(svc: Services, shop: ShopData, n: int = 1, first: int = 3000) -> list[PlacedOrder]:
    """n unpaid orders of one tea each, from n customers."""
    return [await place(svc, await buyer(svc, first + i), {shop.tea: 1}) for i in range(n)]


async def shipped(svc: Services, shop: ShopData, n: int = 1, tracking: str = "SF") -> list[PlacedOrder]:
    """n paid, confirmed orders handed to the sandbox carrier."""
    orders = await placed(svc, shop, n)
    for i, order in enumerate(orders):
        await pay(svc, order)
        await svc.orders.confirm(order.id, ADMIN)
        await svc.orders.ship(order.id, ADMIN, "sandbox", f"{tracking}{i + 1}")
    return orders


async def delivered(svc: Services, shop: ShopData, n: int = 1) -> list[PlacedOrder]:
    """n orders the merchant marked delivered now (the receipt window starts)."""
    orders = await shipped(svc, shop, n)
    for order in orders:
        await svc.orders.mark_delivered(order.id, ADMIN)
    return orders


async def completed(svc: Services, shop: ShopData, n: int = 1) -> list[PlacedOrder]:
    """n orders whose customers confirmed receipt now."""
    orders = await delivered(svc, shop, n)
    for order in orders:
        detail = await svc.orders.detail(order.id)
        await svc.orders.confirm_receipt(detail.customer_id, order.id)
    return orders


async def out_of_stock(svc: Services, shop: ShopData, n: int = 1) -> list[PlacedOrder]:
    """n orders paid after their mugs were found damaged: out_of_stock, waiting for stock."""
    orders = [await place(svc, await buyer(svc, 4000 + i), {shop.mug: 1}) for i in range(n)]
    async with svc.ctx.db.write() as s:
        for order in orders:
            await stock.release(s, order.id, svc.ctx.clock.now())
        for warehouse in (shop.sh, shop.gd):
            row = await s.get(Stock, (shop.mug, warehouse))
            row.on_hand = 0
    for order in orders:
        assert (await pay(svc, order)).status == "out_of_stock"
    return orders


async def set_stock(svc: Services, product_id: int, warehouse_id: int, on_hand: int) -> None:
    """Stock changed behind the services' back, as a CSV import or a stock count does."""
    async with svc.ctx.db.write() as s:
        row = await s.get(Stock, (product_id, warehouse_id))
        if row is None:
            s.add(Stock(product_id=product_id, warehouse_id=warehouse_id, on_hand=on_hand))
        else:
            row.on_hand = on_hand


async def told(svc: Services, template: str) -> list[tuple[int, int | None]]:
    """(chat, order) of every queued message with this template, in queue order."""
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(OutboxMessage.chat_id, OutboxMessage.order_id)
                               .where(OutboxMessage.template == template).order_by(OutboxMessage.id))
        return [(int(c), o) for c, o in rows]


async def moves(svc: Services, to_status: str) -> int:
    """How many times any order entered `to_status`."""
    async with svc.ctx.db.read() as s:
        return int(await s.scalar(select(func.count(OrderEvent.id))
                                  .where(OrderEvent.to_status == to_status)) or 0)


async def status(svc: Services, order: PlacedOrder) -> str:
    """The order's status now."""
    return (await svc.orders.detail(order.id)).status
