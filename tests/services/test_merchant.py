"""MerchantService on SQLite and PostgreSQL: card actions per state, the warehouse change, partial
refunds, slips, where cards sit, and the low-stock alert (once per crossing)."""
from __future__ import annotations

import asyncio
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from models import OutboxMessage, Product, Refund, Stock, StockReservation
from services import merchant as m
from services.container import Services
from services.errors import InvalidInput, InvalidTransition, NotFound, OutOfStock
from services.orders.dto import PlacedOrder
from tests.shop import ShopData, buyer, pay, place

ADMIN = "admin:9001"


async def paid(svc: Services, items: dict[int, int], telegram_id: int = 1001) -> PlacedOrder:
    placed = await place(svc, await buyer(svc, telegram_id), items)
    await pay(svc, placed)
    return placed


async def held(svc: Services, order_id: int) -> list[tuple[int, int, int]]:
    """(product, warehouse, quantity) of the order's active reservations."""
    async with svc.ctx.db.read() as s:
        rows = (await s.scalars(select(StockReservation).where(
            StockReservation.order_id == order_id, StockReservation.status == "active")
            .order_by(StockReservation.product_id))).all()
        return [(r.product_id, r.warehouse_id, r.quantity) for r in rows]


async def stock_row(svc: Services, product: int, warehouse: int) -> tuple[int, int]:
    async with svc.ctx.db.read() as s:
        row = await s.get(Stock, (product, warehouse))
        return (row.on_hand, row.reserved) if row else (0, 0)


async def admin_alerts(svc: Services, template: str) -> list[dict[str, object]]:
    async with svc.ctx.db.read() as s:
        rows = await s.scalars(select(OutboxMessage).where(
            OutboxMessage.audience == "admin", OutboxMessage.template == template)
            .order_by(OutboxMessage.id))
        return [dict(r.params) for r in rows]


def test_allowed_actions_follow_the_lifecycle() -> None:
    assert m.allowed_actions("pending_payment", False, 0) == ()
    assert m.allowed_actions("awaiting_review", False, 100) == (
        "confirm", "reject", "warehouse", "cancel", "refund")
    assert m.allowed_actions("awaiting_shipment", False, 100) == (
        "warehouse", "pack", "ship", "cancel", "refund")
    assert m.allowed_actions("awaiting_shipment", True, 100) == (
        "slip", "ship", "cancel", "refund")
    assert m.allowed_actions("out_of_stock", False, 100) == ("cancel",)
    assert m.allowed_actions("shipped", True, 100) == ("deliver", "refund")
    assert m.allowed_actions("shipped", True, 0) == ("deliver",)  # never cancelled once shipped
    assert m.allowed_actions("delivered", True, 100) == ("refund",)
    assert m.allowed_actions("cancelled", False, 0) == ()


async def test_card_reads_the_order_customer_and_actions(svc: Services, shop: ShopData) -> None:
    order = await paid(svc, {shop.tea: 2})
    card = await svc.merchant.card(order.id)
    assert card.order.number == order.number and card.customer_name == "Buyer 1001"
    assert card.warehouse == "Shanghai (SH)" and card.refundable == order.total
    assert card.actions == ("confirm", "reject", "warehouse", "cancel", "refund")
    assert card.last_actor == "provider:sandbox" and not card.packed
    with pytest.raises(NotFound):
        await svc.merchant.card(999_999)
    with pytest.raises(InvalidInput):
        await svc.merchant.card(-1)


async def test_delivered_by_hand_whatever_the_carrier(svc: Services, shop: ShopData) -> None:
    tracked, manual = await paid(svc, {shop.tea: 1}), await paid(svc, {shop.mug: 1}, 1002)
    for order, carrier in ((tracked, "sandbox"), (manual, "manual")):
        await svc.orders.confirm(order.id, ADMIN)
        await svc.orders.ship(order.id, ADMIN, carrier, "X1")
    # Tracking may lag or stall: the merchant who hears the parcel arrived can say so.
    assert (await svc.merchant.card(tracked.id)).actions == ("deliver", "refund")
    assert (await svc.merchant.card(manual.id)).actions == ("deliver", "refund")


async def test_warehouse_options_suggest_by_stock_then_distance(svc: Services, shop: ShopData) -> None:
    mugs = await paid(svc, {shop.mug: 2})
    options = await svc.merchant.warehouse_options(mugs.id)
    assert [(o.code, o.can_serve, o.current, o.suggested) for o in options] == [
        ("SH", True, True, True), ("GD", True, False, False)]
    assert options[0].distance_km == 0 and options[1].distance_km > 1000
    tea = await paid(svc, {shop.tea: 10}, 1002)  # every tea there is: still "can serve"
    assert [(o.code, o.can_serve) for o in await svc.merchant.warehouse_options(tea.id)] == [
        ("SH", True), ("GD", False)]


async def test_choose_warehouse_moves_the_reservation(svc: Services, shop: ShopData) -> None:
    order = await paid(svc, {shop.mug: 3})
    card = await svc.merchant.choose_warehouse(order.id, shop.gd, ADMIN)
    assert card.warehouse == "Guangzhou (GD)" and card.order.warehouse_id == shop.gd
    assert await held(svc, order.id) == [(shop.mug, shop.gd, 3)]
    assert await stock_row(svc, shop.mug, shop.sh) == (5, 0)
    assert await stock_row(svc, shop.mug, shop.gd) == (5, 3)
    await svc.merchant.choose_warehouse(order.id, shop.gd, ADMIN)  # the same again: no change
    assert await stock_row(svc, shop.mug, shop.gd) == (5, 3)
    await svc.orders.confirm(order.id, ADMIN)
    await svc.orders.ship(order.id, ADMIN, "sandbox", "SF1")
    assert await stock_row(svc, shop.mug, shop.gd) == (2, 0)


async def test_choose_warehouse_refuses_without_stock_and_keeps_the_old_one(
        svc: Services, shop: ShopData) -> None:
    order = await paid(svc, {shop.tea: 1, shop.mug: 1})
    with pytest.raises(OutOfStock) as refused:
        await svc.merchant.choose_warehouse(order.id, shop.gd, ADMIN)  # GD has no tea
    assert refused.value.params["sku"] == "TEA-1"
    assert await held(svc, order.id) == [(shop.tea, shop.sh, 1), (shop.mug, shop.sh, 1)]
    assert await stock_row(svc, shop.mug, shop.gd) == (5, 0)
    assert (await svc.merchant.card(order.id)).order.warehouse_id == shop.sh
    with pytest.raises(NotFound):
        await svc.merchant.choose_warehouse(order.id, 999, ADMIN)
    with pytest.raises(InvalidInput):
        await svc.merchant.choose_warehouse(order.id, 0, ADMIN)


async def test_choose_warehouse_only_before_packing_and_shipping(svc: Services, shop: ShopData) -> None:
    unpaid = await place(svc, await buyer(svc), {shop.mug: 1})
    with pytest.raises(InvalidTransition):
        await svc.merchant.choose_warehouse(unpaid.id, shop.gd, ADMIN)
    order = await paid(svc, {shop.mug: 1}, 1002)
    await svc.orders.confirm(order.id, ADMIN)
    await svc.orders.pack(order.id, ADMIN)
    with pytest.raises(InvalidTransition) as refused:
        await svc.merchant.choose_warehouse(order.id, shop.gd, ADMIN)
    assert refused.value.params["status"] == "packed"


async def test_two_warehouse_changes_at_once_leave_one_reservation(svc: Services, shop: ShopData) -> None:
    order = await paid(svc, {shop.mug: 2})
    results = await asyncio.gather(
        svc.merchant.choose_warehouse(order.id, shop.gd, ADMIN),
        svc.merchant.choose_warehouse(order.id, shop.gd, "admin:9002"), return_exceptions=True)
    assert all(not isinstance(r, Exception) or isinstance(r, InvalidTransition) for r in results)
    assert await held(svc, order.id) == [(shop.mug, shop.gd, 2)]
    assert await stock_row(svc, shop.mug, shop.gd) == (5, 2)
    assert await stock_row(svc, shop.mug, shop.sh) == (5, 0)


async def test_partial_refund_is_bounded_and_alerted(svc: Services, shop: ShopData) -> None:
    order = await paid(svc, {shop.tea: 1})  # 60.00
    for bad in (0, -1, True, "5", 10**20):
        with pytest.raises(InvalidInput):
            await svc.merchant.refund_part(order.id, bad, ADMIN)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as over:
        await svc.merchant.refund_part(order.id, 6001, ADMIN)
    assert over.value.params == {"field": "amount", "reason": "over_refundable", "refundable": 6000}
    done = await svc.merchant.refund_part(order.id, 1050, ADMIN)
    assert (done.refunded, done.refundable) == (1050, 4950)
    await svc.merchant.refund_part(order.id, 4950, ADMIN)
    with pytest.raises(InvalidInput):
        await svc.merchant.refund_part(order.id, 1, ADMIN)
    async with svc.ctx.db.read() as s:
        assert [r.amount for r in (await s.scalars(select(Refund).order_by(Refund.id))).all()] == [
            1050, 4950]
    assert [a["amount"] for a in await admin_alerts(svc, "alert_refunded")] == [1050, 4950]
    assert (await svc.merchant.card(order.id)).actions == ("confirm", "reject", "warehouse", "cancel")
    unpaid = await place(svc, await buyer(svc, 1002), {shop.mug: 1})
    with pytest.raises(InvalidTransition):
        await svc.merchant.refund_part(unpaid.id, 100, ADMIN)


async def test_slips_one_pdf_per_parcel(svc: Services, shop: ShopData) -> None:
    order = await paid(svc, {shop.lamp: 1, shop.tea: 1})  # lamp only in GD, tea only in SH
    with pytest.raises(NotFound):
        await svc.merchant.slips(order.id)
    await svc.orders.confirm(order.id, ADMIN)
    await svc.orders.pack(order.id, ADMIN)
    slips = await svc.merchant.slips(order.id)
    assert [(s.filename, s.parcel_index, s.parcel_count) for s in slips] == [
        (f"slip-{order.number}-1.pdf", 1, 2), (f"slip-{order.number}-2.pdf", 2, 2)]
    for slip in slips:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(slip.content)).pages)
        assert order.number in text


async def test_card_refs_are_remembered_and_replaced(svc: Services, shop: ShopData) -> None:
    assert await svc.merchant.card_ref(1) is None
    await svc.merchant.remember_card(1, -100500, 10)
    await svc.merchant.remember_card(1, -100500, 11)
    await svc.merchant.remember_card(m.return_key(1), -100500, 12)
    assert (await svc.merchant.card_ref(1)).message_id == 11  # type: ignore[union-attr]
    assert (await svc.merchant.card_ref(-1)).message_id == 12  # type: ignore[union-attr]


async def test_low_stock_alert_once_per_crossing(svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc)
    await place(svc, customer, {shop.tea: 5})  # 10 -> 5 free: above the threshold of 3
    assert await admin_alerts(svc, "alert_low_stock") == []
    await place(svc, customer, {shop.tea: 3})  # 5 -> 2: crossed
    await place(svc, customer, {shop.tea: 1})  # 2 -> 1: still under, no second alert
    alerts = await admin_alerts(svc, "alert_low_stock")
    assert alerts == [{"sku": "TEA-1", "name_en": "Green tea", "name_zh": "绿茶", "available": 2,
                       "threshold": 3}]
    await svc.inventory.restock("TEA-1", "SH", 10, ADMIN)  # back above the line
    await place(svc, customer, {shop.tea: 9})
    assert len(await admin_alerts(svc, "alert_low_stock")) == 2


async def test_low_stock_threshold_is_per_product(svc: Services, shop: ShopData) -> None:
    async with svc.ctx.db.write() as s:
        product = await s.get(Product, shop.mug)
        assert product is not None
        product.low_stock_threshold = 10
    await place(svc, await buyer(svc), {shop.mug: 1})  # 10 -> 9 free over both warehouses
    assert [a["sku"] for a in await admin_alerts(svc, "alert_low_stock")] == ["MUG-1"]


def test_return_actions_follow_the_flow() -> None:
    from datetime import datetime

    from services.returns import ReturnView

    def view(kind: str, status: str, refundable: int = 100) -> ReturnView:
        now = datetime(2026, 1, 1)
        return ReturnView(1, 1, "N1", 1, kind, status, "r", (), None, None, 0, None, now, now, (),
                          refundable)

    assert m.return_actions(view("return", "requested")) == ("approve", "reject")
    assert m.return_actions(view("return", "approved")) == ("receive",)
    assert m.return_actions(view("refund", "approved")) == ("refund",)
    assert m.return_actions(view("exchange", "received")) == ("refund", "replace")
    assert m.return_actions(view("return", "refunded")) == ("refund", "close")
    assert m.return_actions(view("return", "closed")) == ()
    # Everything paid went back: no Refund button, whatever the step.
    assert m.return_actions(view("return", "refunded", 0)) == ("close",)
    assert m.return_actions(view("refund", "approved", 0)) == ()
