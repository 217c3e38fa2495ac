"""Shipping slip: the data read for it and the PDF a packer prints."""
from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

import models
from bot.db import create_database
from models import Category, Customer, Order, OrderLine, Product, Shipment, ShipmentLine, Warehouse
from services.clock import FakeClock
from services.context import ServiceContext
from services.database import Database
from services.errors import NotFound
from services.shipping.slip import (
    FONT,
    PAGE_SIZE,
    SlipData,
    SlipLine,
    build_slip_data,
    render_slip,
    wrap_text,
)
from tests.conftest import TEST_RULES, make_context

CREATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
LONG_ADDRESS = ("南山区科技园高新南一道" * 30)[:256]


SLIP = SlipData(
    shop_name="小店 Little Shop", order_number="SO20260105-0042", created_at=CREATED,
    recipient_name="张三", phone="+86 138 0013 8000", region="广东省", city="深圳市",
    address_line="南山区科技园 1 号", postcode="518000",
    lines=(SlipLine("TEA-001", "Green tea", "绿茶", 2), SlipLine("CUP-9", "Cup", "杯子", 1)),
    shipment_id=7, parcel_index=1, parcel_count=2, warehouse="Shenzhen (SZ)",
    carrier="sandbox", tracking_number="SF12345678",
)


def slip_for(**changes: Any) -> SlipData:
    """A typical slip, with the fields a test cares about changed."""
    return replace(SLIP, **changes)


def pdf_text(pdf: bytes) -> str:
    """All text of the PDF, without the line breaks that wrapping put in."""
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


def test_slip_is_a_valid_label_pdf_with_everything_a_courier_needs() -> None:
    pdf = render_slip(slip_for())
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == tuple(
        round(v) for v in PAGE_SIZE
    )
    text = pdf_text(pdf)
    for expected in (
        "SO20260105-0042", "张三", "广东省深圳市南山区科技园 1 号", "518000",
        "+86 138 0013 8000", "TEA-001", "绿茶", "Green tea", "2×", "CUP-9",
        "Shenzhen (SZ)", "1 / 2", "#7", "sandbox", "SF12345678", "2026-01-05 09:30",
        "小店 Little Shop",
    ):
        assert expected in text


@pytest.mark.parametrize("number", ["SO20260105-0042", "W" * 20])
def test_slip_carries_a_code128_barcode_that_fits_the_label(number: str) -> None:
    page = PdfReader(io.BytesIO(render_slip(slip_for(order_number=number)))).pages[0]
    content = page.get_contents()
    assert content is not None
    data = content.get_data().decode("latin-1")
    # Code 128 is drawn as filled rectangles (one per bar) after a translation to its corner.
    origin = re.search(r"1 0 0 1 ([\d.]+) [\d.]+ cm\s+n ", data)
    bars = [(float(x), float(w)) for x, w in re.findall(r"n ([\d.]+) 0 ([\d.]+) [\d.]+ re f", data)]
    assert origin is not None and len(bars) > 30
    left = float(origin.group(1))
    assert left >= 0 and left + max(x + w for x, w in bars) <= PAGE_SIZE[0]


def test_long_address_wraps_inside_the_page() -> None:
    width = PAGE_SIZE[0] - 20
    lines = wrap_text(LONG_ADDRESS, 10, width)
    assert len(lines) > 3
    assert "".join(lines) == LONG_ADDRESS
    assert all(stringWidth(line, FONT, 10) <= width for line in lines)
    latin = wrap_text("x" * 256, 10, width)
    assert "".join(latin) == "x" * 256 and len(latin) > 1

    pdf = render_slip(slip_for(address_line=LONG_ADDRESS))
    assert LONG_ADDRESS in pdf_text(pdf)


def test_many_lines_continue_on_a_second_page() -> None:
    lines = tuple(SlipLine(f"SKU-{i}", f"Item {i}", f"商品{i}", i) for i in range(1, 60))
    pdf = render_slip(slip_for(lines=lines))
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    assert "SKU-59" in pdf_text(pdf)


def test_slip_without_shipment_or_tracking() -> None:
    text = pdf_text(render_slip(slip_for(shipment_id=None, parcel_count=1, carrier=None,
                                         tracking_number=None, warehouse="")))
    assert "1 / 1" in text and "Tracking" not in text and "#" not in text


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database, engines = create_database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with engines[0].begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
    yield database
    for engine in engines:
        await engine.dispose()


async def seed_split_order(db: Database) -> tuple[int, list[int]]:
    """An order of two products shipped in two parcels from one warehouse."""
    async with db.write() as s:
        customer = Customer(telegram_id=1, name="张三")
        category = Category(slug="tea", name_en="Tea", name_zh="茶")
        warehouse = Warehouse(code="SZ", name="Shenzhen", region="广东省")
        s.add_all([customer, category, warehouse])
        await s.flush()
        products = [
            Product(sku=sku, category_id=category.id, name_en=en, name_zh=zh, price=1000)
            for sku, en, zh in (("TEA-001", "Green tea", "绿茶"), ("CUP-9", "Cup", "杯子"))
        ]
        s.add_all(products)
        await s.flush()
        order = Order(
            number="SO-77", customer_id=customer.id, status="awaiting_shipment",
            recipient_name="张三", phone="13800138000", region="广东省", city="深圳市",
            address_line=LONG_ADDRESS, postcode="518000", delivery_option="standard",
            subtotal=3000, total=4000, currency="CNY", payment_method="sandbox",
            warehouse_id=warehouse.id, created_at=CREATED,
        )
        s.add(order)
        await s.flush()
        lines = [
            OrderLine(order_id=order.id, product_id=p.id, sku=p.sku, name_en=p.name_en,
                      name_zh=p.name_zh, unit_price=1000, quantity=q)
            for p, q in zip(products, (2, 1), strict=True)
        ]
        shipments = [Shipment(order_id=order.id, warehouse_id=warehouse.id) for _ in range(2)]
        shipments[1].carrier, shipments[1].tracking_number = "sandbox", "SF999"
        s.add_all(lines + shipments)
        await s.flush()
        s.add_all([
            ShipmentLine(shipment_id=shipments[0].id, order_line_id=lines[0].id, quantity=2),
            ShipmentLine(shipment_id=shipments[1].id, order_line_id=lines[1].id, quantity=1),
        ])
        return order.id, [sh.id for sh in shipments]


def context(db: Database) -> ServiceContext:
    """The shop "小店" in Asia/Shanghai, with the test carriers."""
    return make_context(db, replace(TEST_RULES, shop_name="小店"), FakeClock())


async def test_slip_data_of_the_second_parcel(db: Database) -> None:
    order_id, shipment_ids = await seed_split_order(db)
    slip = await build_slip_data(context(db), order_id, shipment_ids[1])
    assert slip.order_number == "SO-77" and slip.shop_name == "小店"
    assert (slip.parcel_index, slip.parcel_count, slip.shipment_id) == (2, 2, shipment_ids[1])
    assert slip.lines == (SlipLine("CUP-9", "Cup", "杯子", 1),)
    # The carrier by its names (never its code), the phone for people.
    assert (slip.carrier, slip.tracking_number) == ("沙盒快递 Sandbox Express", "SF999")
    assert slip.phone == "138 0013 8000"
    assert slip.warehouse == "Shenzhen (SZ)" and slip.created_at == CREATED
    text = pdf_text(render_slip(slip))
    assert "SO-77" in text and "张三" in text and "广东省深圳市" + LONG_ADDRESS in text
    # Placed at 09:30 UTC: the shop's clock in Shanghai said 17:30.
    assert "2026-01-05 17:30 (Asia/Shanghai)" in text and "sandbox" not in text


async def test_slip_data_of_the_whole_order(db: Database) -> None:
    order_id, _ = await seed_split_order(db)
    slip = await build_slip_data(context(db), order_id, None)
    assert [(line.sku, line.quantity) for line in slip.lines] == [("TEA-001", 2), ("CUP-9", 1)]
    assert (slip.parcel_index, slip.parcel_count, slip.carrier) == (1, 1, None)


async def test_unknown_order_or_foreign_shipment_is_not_found(db: Database) -> None:
    order_id, shipment_ids = await seed_split_order(db)
    with pytest.raises(NotFound):
        await build_slip_data(context(db), order_id + 1, None)
    with pytest.raises(NotFound):
        await build_slip_data(context(db), order_id, shipment_ids[1] + 100)
