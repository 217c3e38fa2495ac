"""The demo shop: categories, products with pictures, warehouses and stock for an empty database."""
from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Category, Product, Stock, Warehouse
from services.database import Database


class WarehouseSpec(Protocol):
    """What the demo needs to know of a warehouse (config.yaml's warehouses entries fit)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def priority(self) -> int: ...


@dataclass(frozen=True)
class DemoWarehouse:
    """A warehouse definition, for callers without a config."""

    code: str
    name: str
    region: str
    latitude: float
    longitude: float
    priority: int = 100


@dataclass(frozen=True)
class DemoSummary:
    """What fill_demo_shop did; all zero with created=False when the catalog was not empty."""

    created: bool
    categories: int = 0
    products: int = 0
    warehouses: int = 0
    stock_rows: int = 0
    images: int = 0


DEFAULT_WAREHOUSES = (
    DemoWarehouse("SH01", "Shanghai Pudong", "shanghai", 31.22, 121.54, 10),
    DemoWarehouse("GZ01", "Guangzhou Baiyun", "guangdong", 23.16, 113.27, 20),
)

# slug, English, Chinese, card colour
CATEGORIES = (
    ("tea", "Tea", "茶叶", "#5b8c5a"),
    ("snacks", "Snacks", "零食", "#c8553d"),
    ("kitchen", "Kitchen", "厨房用品", "#3d5a80"),
    ("gifts", "Gifts", "礼品", "#9b5de5"),
)

# sku, category, English name, Chinese name, price in fen, units per warehouse (the first,
# the second; None = not stocked there), English and Chinese description.
# Some rows are nearly or fully sold out on purpose, so the out-of-stock paths can be shown.
PRODUCTS = (
    ("TEA-LJ-250", "tea", "West Lake Longjing 250g", "西湖龙井 250克", 16800, (40, 10),
     "Spring-picked green tea from Hangzhou.", "杭州明前春茶，豆香清雅。"),
    ("TEA-PE-357", "tea", "Pu'er Tea Cake 357g", "普洱茶饼 357克", 12800, (15, 25),
     "Aged ripe Pu'er from Yunnan.", "云南陈年熟普。"),
    ("TEA-TGY-200", "tea", "Tieguanyin Oolong 200g", "铁观音 200克", 9800, (None, 30),
     "Floral oolong from Anxi, Fujian.", "福建安溪乌龙，兰花香。"),
    ("TEA-JSM-100", "tea", "Jasmine Pearls 100g", "茉莉龙珠 100克", 6800, (20, None),
     "Hand-rolled green tea scented with jasmine.", "手工揉捻，茉莉窨制。"),
    ("TEA-DHP-150", "tea", "Da Hong Pao 150g", "大红袍 150克", 25800, (1, None),
     "Rock oolong from the Wuyi mountains; the last tin.", "武夷岩茶，仅剩一罐。"),
    ("SNK-MOON-6", "snacks", "Lotus Paste Mooncakes (6)", "莲蓉月饼（6个）", 8800, (50, 50),
     "Cantonese mooncakes with salted egg yolk.", "广式莲蓉蛋黄月饼。"),
    ("SNK-SEED-500", "snacks", "Roasted Sunflower Seeds 500g", "香瓜子 500克", 1990, (120, 80),
     "Lightly salted, roasted in the shell.", "带壳烘焙，微咸。"),
    ("SNK-BEEF-200", "snacks", "Spicy Beef Jerky 200g", "麻辣牛肉干 200克", 4580, (None, 35),
     "Sichuan-style jerky with chilli and pepper.", "川味麻辣牛肉干。"),
    ("SNK-HAWS-300", "snacks", "Haw Flakes 300g", "山楂片 300克", 1280, (60, None),
     "Sweet and tart hawthorn discs.", "酸甜山楂片。"),
    ("SNK-EGGR-12", "snacks", "Crispy Egg Rolls (12)", "蛋卷（12支）", 3600, (0, 0),
     "Buttery rolled wafers; sold out for now.", "香酥蛋卷，暂时售罄。"),
    ("KIT-WOK-32", "kitchen", "Carbon Steel Wok 32cm", "碳钢炒锅 32厘米", 15900, (8, 12),
     "Hand-hammered wok, seasoned and ready.", "手工锻打，已开锅。"),
    ("KIT-CHOP-10", "kitchen", "Bamboo Chopsticks (10 pairs)", "竹筷（10双）", 2500, (200, 150),
     "Natural bamboo, no lacquer.", "天然竹筷，无漆。"),
    ("KIT-STEAM-26", "kitchen", "Bamboo Steamer 26cm", "竹蒸笼 26厘米", 6900, (10, 2),
     "Two tiers and a lid, for dumplings and buns.", "两层带盖，蒸饺子包子。"),
    ("KIT-CLEAVER", "kitchen", "Chinese Chef's Cleaver", "中式菜刀", 12900, (None, 6),
     "Stainless steel, for slicing and chopping.", "不锈钢，切片剁骨两用。"),
    ("KIT-TEAPOT", "kitchen", "Yixing Clay Teapot", "宜兴紫砂壶", 39800, (3, None),
     "Handmade purple clay teapot, 200 ml.", "手工紫砂壶，200毫升。"),
    ("GFT-FAN", "gifts", "Silk Folding Fan", "真丝折扇", 5800, (25, 25),
     "Painted silk on bamboo ribs.", "竹骨真丝手绘折扇。"),
    ("GFT-KNOT", "gifts", "Chinese Knot Wall Hanging", "中国结挂饰", 2900, (40, 40),
     "Red knot for luck, 60 cm.", "红色吉祥结，60厘米。"),
    ("GFT-PANDA", "gifts", "Panda Plush 30cm", "熊猫公仔 30厘米", 7900, (30, 20),
     "Soft panda from Chengdu.", "成都大熊猫毛绒公仔。"),
    ("GFT-BRUSH", "gifts", "Calligraphy Brush Set", "书法毛笔套装", 11800, (5, 5),
     "Four brushes, ink stick and inkstone.", "毛笔四支，墨条砚台。"),
    ("GFT-LANTERN", "gifts", "Red Lanterns (pair)", "红灯笼（一对）", 4500, (None, 1),
     "Silk lanterns for the New Year; one pair left.", "新年丝绸灯笼，仅剩一对。"),
)
LOW_STOCK_THRESHOLD = 5


async def fill_demo_shop(
    db: Database, image_dir: Path, warehouses: Sequence[WarehouseSpec] = DEFAULT_WAREHOUSES
) -> DemoSummary:
    """Fill an empty catalog with the demo shop; do nothing if it has any category or product."""
    if not await _catalog_is_empty(db):
        return DemoSummary(created=False)
    images = await asyncio.to_thread(draw_product_cards, image_dir)
    async with db.write() as session:
        # Checked again inside the write transaction: another process may have filled it.
        if not await _catalog_is_empty_in(session):
            return DemoSummary(created=False)
        stores = await _warehouses(session, warehouses)
        categories = {slug: Category(slug=slug, name_en=en, name_zh=zh, position=index)
                      for index, (slug, en, zh, _colour) in enumerate(CATEGORIES)}
        session.add_all(categories.values())
        await session.flush()
        stock_rows = 0
        for sku, slug, name_en, name_zh, price, units, about_en, about_zh in PRODUCTS:
            product = Product(
                sku=sku, category_id=categories[slug].id, name_en=name_en, name_zh=name_zh,
                description_en=about_en, description_zh=about_zh, price=price,
                photos=[str(images[sku])], low_stock_threshold=LOW_STOCK_THRESHOLD,
            )
            session.add(product)
            await session.flush()
            for store, on_hand in zip(stores, units, strict=False):  # stock in the first two
                if on_hand is not None:
                    session.add(Stock(product_id=product.id, warehouse_id=store.id,
                                      on_hand=on_hand, reserved=0))
                    stock_rows += 1
    return DemoSummary(True, len(CATEGORIES), len(PRODUCTS), len(stores), stock_rows, len(images))


async def _catalog_is_empty(db: Database) -> bool:
    async with db.read() as session:
        return await _catalog_is_empty_in(session)


async def _catalog_is_empty_in(session: AsyncSession) -> bool:
    categories = await session.scalar(select(func.count()).select_from(Category))
    products = await session.scalar(select(func.count()).select_from(Product))
    return not categories and not products


async def _warehouses(session: AsyncSession, specs: Sequence[WarehouseSpec]) -> list[Warehouse]:
    """The warehouse rows for `specs`, reusing rows that already have the same code."""
    existing = {w.code: w for w in (await session.scalars(select(Warehouse))).all()}
    rows = []
    for spec in specs:
        row = existing.get(spec.code) or Warehouse(
            code=spec.code, name=spec.name, region=spec.region, latitude=spec.latitude,
            longitude=spec.longitude, priority=spec.priority,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


def draw_product_cards(image_dir: Path) -> dict[str, Path]:
    """Write one PNG card per demo product into `image_dir`; return the absolute paths by sku."""
    image_dir.mkdir(parents=True, exist_ok=True)
    colours = {slug: colour for slug, _en, _zh, colour in CATEGORIES}
    paths = {}
    for sku, slug, name_en, *_rest in PRODUCTS:
        path = (image_dir / f"{sku}.png").resolve()
        draw_card(path, name_en, sku, colours[slug])
        paths[sku] = path
    return paths


def draw_card(path: Path, title: str, caption: str, colour: str) -> None:
    """A 640x640 coloured card with the title (English: the bundled font has no CJK glyphs)."""
    image = Image.new("RGB", (640, 640), colour)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((24, 24, 616, 616), radius=32, outline="white", width=6)
    title_font = ImageFont.load_default(size=52)
    lines = textwrap.wrap(title, width=16)
    y = 300 - 32 * len(lines)
    for line in lines:
        draw.text((320, y), line, fill="white", font=title_font, anchor="mm")
        y += 64
    draw.text((320, 540), caption, fill="white", font=ImageFont.load_default(size=40), anchor="mm")
    image.save(path, format="PNG")
