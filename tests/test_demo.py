"""The demo shop: filled once into an empty database, with pictures and some scarce stock."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.config import load_config
from bot.db import create_database
from bot.migrate import upgrade_database
from models import Category, Product, Stock, Warehouse
from services.database import Database
from services.demo import DemoWarehouse, fill_demo_shop


@pytest.fixture
async def shop_db(tmp_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated SQLite database file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    upgrade_database(url)
    database, engines = create_database(url)
    yield database
    for engine in engines:
        await engine.dispose()


async def count(db: Database, model: type) -> int:
    """Rows of one table."""
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_empty_shop_is_filled_once(shop_db: Database, tmp_path: Path) -> None:
    warehouses = load_config(tmp_path / "absent.yaml", env={}).warehouses
    first = await fill_demo_shop(shop_db, tmp_path / "media", warehouses)
    second = await fill_demo_shop(shop_db, tmp_path / "media", warehouses)
    assert first.created and (first.categories, first.products, first.warehouses) == (4, 20, 2)
    assert not second.created
    counts = [await count(shop_db, model) for model in (Category, Product, Warehouse)]
    assert counts == [4, 20, 2]


async def test_every_product_is_bilingual_priced_and_pictured(
    shop_db: Database, tmp_path: Path
) -> None:
    await fill_demo_shop(shop_db, tmp_path / "media")
    async with shop_db.read() as session:
        products = (await session.scalars(select(Product))).all()
        categories = (await session.scalars(select(Category))).all()
    assert all(c.name_en and c.name_zh and c.name_en != c.name_zh for c in categories)
    for product in products:
        assert product.name_zh and product.description_zh and product.price > 0
        (photo,) = product.photos
        with Image.open(photo) as image:
            assert (image.format, image.size) == ("PNG", (640, 640))


async def test_stock_includes_scarce_and_sold_out_products(
    shop_db: Database, tmp_path: Path
) -> None:
    await fill_demo_shop(shop_db, tmp_path / "media")
    async with shop_db.read() as session:
        totals = dict(
            (await session.execute(
                select(Product.sku, func.sum(Stock.on_hand))
                .join(Stock, Stock.product_id == Product.id).group_by(Product.sku)
            )).all()
        )
        stocked_in = (await session.execute(
            select(Stock.product_id).group_by(Stock.product_id)
            .having(func.count(Stock.warehouse_id) == 2)
        )).all()
    assert len(totals) == 20
    assert 0 in totals.values() and 1 in totals.values()
    assert 0 < len(stocked_in) < 20  # some products in both warehouses, some in one


async def test_the_warehouses_come_from_the_caller(shop_db: Database, tmp_path: Path) -> None:
    only = [DemoWarehouse("CD01", "Chengdu", "sichuan", 30.6, 104.1, 1)]
    summary = await fill_demo_shop(shop_db, tmp_path / "media", only)
    async with shop_db.read() as session:
        codes = (await session.scalars(select(Warehouse.code))).all()
    assert codes == ["CD01"] and summary.warehouses == 1


async def test_a_shop_with_a_catalog_is_left_alone(shop_db: Database, tmp_path: Path) -> None:
    async with shop_db.write() as session:
        session.add(Category(slug="own", name_en="Own", name_zh="自有"))
    summary = await fill_demo_shop(shop_db, tmp_path / "media")
    assert not summary.created
    assert await count(shop_db, Product) == 0
    assert not (tmp_path / "media").exists()
