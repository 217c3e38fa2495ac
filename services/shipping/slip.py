"""The printable shipping slip: a 100 x 150 mm label PDF with a Code 128 barcode of the order."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Order, OrderLine, Shipment, ShipmentLine, Warehouse
from services.context import ServiceContext
from services.errors import NotFound
from services.postal import format_address, format_phone

PAGE_SIZE = (100 * mm, 150 * mm)
MARGIN = 5 * mm
# A CID font ships with every PDF reader, so CJK text renders without embedding a font file;
# it has Latin glyphs too, so one font serves the whole label.
FONT = "STSong-Light"
BARCODE_HEIGHT = 14 * mm
_MAX_BAR_WIDTH = 1.2  # points per module; narrower when the order number is long


@dataclass(frozen=True)
class SlipLine:
    """A product in the parcel."""

    sku: str
    name_en: str
    name_zh: str
    quantity: int


@dataclass(frozen=True)
class SlipData:
    """Everything printed on a slip, read in one transaction."""

    shop_name: str
    order_number: str
    created_at: datetime
    recipient_name: str
    phone: str
    region: str
    city: str
    address_line: str
    postcode: str
    lines: tuple[SlipLine, ...]
    shipment_id: int | None = None
    parcel_index: int = 1
    parcel_count: int = 1
    warehouse: str = ""
    carrier: str | None = None  # its name, as people read it
    tracking_number: str | None = None
    timezone: str = "UTC"  # the shop's: the time printed


@dataclass(frozen=True)
class SlipLabels:
    """Printed captions; bilingual by default so one slip serves any packer and courier."""

    order: str = "订单 Order"
    parcel: str = "包裹 Parcel {index} / {count}"
    shipment: str = "发货单 Shipment #{id}"
    warehouse: str = "仓库 Warehouse"
    recipient: str = "收件人 To"
    phone: str = "电话 Tel"
    postcode: str = "邮编 Postcode"
    items: str = "商品 Items"
    carrier: str = "承运商 Carrier"
    tracking: str = "运单号 Tracking"
    created: str = "下单时间 Created"


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def wrap_text(text: str, size: float, width: float, font: str = FONT) -> list[str]:
    """Lines of `text` no wider than `width`, breaking inside words when there is no space."""
    _register_font()
    lines: list[str] = []
    # simpleSplit breaks only at spaces, so Chinese (and long Latin runs) are cut per character.
    for line in simpleSplit(text, font, size, width) or [""]:
        while pdfmetrics.stringWidth(line, font, size) > width:
            cut = 1
            while pdfmetrics.stringWidth(line[: cut + 1], font, size) <= width:
                cut += 1
            lines.append(line[:cut])
            line = line[cut:].lstrip(" ")
        lines.append(line)
    return lines


class _Page:
    """A top-down writer that wraps text and starts a new page when the label is full."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.left = MARGIN
        self.width = PAGE_SIZE[0] - 2 * MARGIN
        self.y = PAGE_SIZE[1] - MARGIN

    def room(self, height: float) -> None:
        """Start a new page unless `height` points still fit on this one."""
        if self.y - height < MARGIN:
            self.canvas.showPage()
            self.y = PAGE_SIZE[1] - MARGIN

    def text(self, text: str, size: float, indent: float = 0.0) -> None:
        """Write wrapped text below the previous block."""
        for line in wrap_text(text, size, self.width - indent):
            self.room(size * 1.25)
            self.y -= size * 1.25
            self.canvas.setFont(FONT, size)
            self.canvas.drawString(self.left + indent, self.y + size * 0.25, line)

    def gap(self, height: float = 1.5 * mm) -> None:
        """Vertical space (and a thin rule) between blocks."""
        self.room(height)
        self.y -= height / 2
        self.canvas.setLineWidth(0.3)
        self.canvas.line(self.left, self.y, self.left + self.width, self.y)
        self.y -= height / 2

    def barcode(self, value: str) -> None:
        """The value as a Code 128 barcode, scaled to the label's width."""
        code = Code128(value, barWidth=_MAX_BAR_WIDTH, barHeight=BARCODE_HEIGHT)
        if code.width > self.width:
            # The quiet zones keep a fixed minimum width: shrink only the bars to fit.
            quiet = code.lquiet + code.rquiet
            bar_width = _MAX_BAR_WIDTH * (self.width - quiet) / (code.width - quiet)
            code = Code128(value, barWidth=bar_width, barHeight=BARCODE_HEIGHT)
        self.room(BARCODE_HEIGHT)
        self.y -= BARCODE_HEIGHT
        code.drawOn(self.canvas, self.left + (self.width - code.width) / 2, self.y)


def _draw_lines(page: _Page, slip: SlipData) -> None:
    qty_width, sku_width, size = 9 * mm, 24 * mm, 8.0
    name_width = page.width - qty_width - sku_width
    for line in slip.lines:
        name = " ".join(dict.fromkeys(n for n in (line.name_zh, line.name_en) if n))
        skus = wrap_text(line.sku, size, sku_width - 1 * mm)
        names = wrap_text(name, size, name_width)
        page.room(size * 1.25 * max(len(skus), len(names)))
        top = page.y
        page.canvas.setFont(FONT, size)
        page.canvas.drawRightString(page.left + qty_width - 2 * mm, top - size, f"{line.quantity}×")
        for i, text in enumerate(skus):
            page.canvas.drawString(page.left + qty_width, top - size * (1 + 1.25 * i), text)
        for i, text in enumerate(names):
            x = page.left + qty_width + sku_width
            page.canvas.drawString(x, top - size * (1 + 1.25 * i), text)
        page.y = top - size * 1.25 * max(len(skus), len(names))


def render_slip(slip: SlipData, labels: SlipLabels = SlipLabels()) -> bytes:
    """The slip as PDF bytes, ready to print on a 100 x 150 mm label."""
    _register_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=PAGE_SIZE, pageCompression=1)
    canvas.setTitle(f"{slip.shop_name} {slip.order_number}")
    page = _Page(canvas)
    page.text(slip.shop_name, 11)
    page.text(f"{labels.order}: {slip.order_number}", 10)
    page.barcode(slip.order_number)
    parcel = [labels.parcel.format(index=slip.parcel_index, count=slip.parcel_count)]
    if slip.shipment_id is not None:
        parcel.insert(0, labels.shipment.format(id=slip.shipment_id))
    page.text("  ".join(parcel), 8)
    if slip.warehouse:
        page.text(f"{labels.warehouse}: {slip.warehouse}", 8)
    page.gap()
    page.text(labels.recipient, 8)
    page.text(slip.recipient_name, 13)
    page.text(f"{labels.phone}: {slip.phone}", 10)
    # Written as on a Chinese parcel (biggest part first, nothing between) when it is Chinese.
    page.text(format_address("zh_CN", slip.region, slip.city, slip.address_line), 10)
    if slip.postcode:
        page.text(f"{labels.postcode}: {slip.postcode}", 10)
    page.gap()
    page.text(labels.items, 8)
    _draw_lines(page, slip)
    page.gap()
    if slip.carrier:
        page.text(f"{labels.carrier}: {slip.carrier}", 8)
    if slip.tracking_number:
        page.text(f"{labels.tracking}: {slip.tracking_number}", 8)
    local = slip.created_at.astimezone(ZoneInfo(slip.timezone))
    page.text(f"{labels.created}: {local:%Y-%m-%d %H:%M} ({slip.timezone})", 8)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


async def _lines(
    session: AsyncSession, order_id: int, shipment: Shipment | None
) -> tuple[SlipLine, ...]:
    """The order's lines, or only what travels in the shipment, with its quantities."""
    if shipment is None:
        query = select(OrderLine, OrderLine.quantity).where(OrderLine.order_id == order_id)
    else:
        query = (
            select(OrderLine, ShipmentLine.quantity)
            .join(ShipmentLine, ShipmentLine.order_line_id == OrderLine.id)
            .where(ShipmentLine.shipment_id == shipment.id)
        )
    rows = (await session.execute(query.order_by(OrderLine.id))).all()
    return tuple(SlipLine(line.sku, line.name_en, line.name_zh, qty) for line, qty in rows)


async def _parcel_position(session: AsyncSession, shipment: Shipment) -> tuple[int, int]:
    """(index, count) of the shipment among the order's parcels, for "Parcel 1 / 2"."""
    # Replacement parcels of a return are numbered apart from the order's first delivery.
    siblings = list((await session.scalars(
        select(Shipment.id).where(
            Shipment.order_id == shipment.order_id,
            Shipment.return_request_id.is_not_distinct_from(shipment.return_request_id),
        ).order_by(Shipment.id)
    )).all())
    return siblings.index(shipment.id) + 1, len(siblings)


async def build_slip_data(ctx: ServiceContext, order_id: int, shipment_id: int | None) -> SlipData:
    """Read the order, its lines (or the shipment's) and the warehouse for a slip."""
    rules = ctx.rules
    async with ctx.db.read() as session:
        order = await session.get(Order, order_id)
        if order is None:
            raise NotFound("order not found", order_id=order_id)
        shipment = await session.get(Shipment, shipment_id) if shipment_id is not None else None
        if shipment_id is not None and (shipment is None or shipment.order_id != order_id):
            raise NotFound("shipment not found", shipment_id=shipment_id)
        index, count = await _parcel_position(session, shipment) if shipment else (1, 1)
        warehouse_id = shipment.warehouse_id if shipment else order.warehouse_id
        warehouse = await session.get(Warehouse, warehouse_id) if warehouse_id else None
        carrier = shipment.carrier if shipment else None
        names = (ctx.carriers.name(carrier, "zh_CN"), ctx.carriers.name(carrier, "en"))
        return SlipData(
            shop_name=rules.shop_name, order_number=order.number, created_at=order.created_at,
            recipient_name=order.recipient_name,
            phone=format_phone(order.phone, rules.default_phone_region), region=order.region,
            city=order.city, address_line=order.address_line, postcode=order.postcode,
            lines=await _lines(session, order_id, shipment),
            shipment_id=shipment_id, parcel_index=index, parcel_count=count,
            warehouse=f"{warehouse.name} ({warehouse.code})" if warehouse else "",
            carrier=" ".join(dict.fromkeys(names)) if carrier else None,
            tracking_number=shipment.tracking_number if shipment else None,
            timezone=rules.timezone,
        )
