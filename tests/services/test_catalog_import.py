"""CSV catalog import: good files create and update, any bad row applies nothing (both backends)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Category, Product, Stock, Warehouse
from services.catalog_import import COLUMNS, RowProblem
from services.container import Services
from tests.shop import ShopData, buyer, place

HEADER = ",".join(COLUMNS)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.csv"


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    """A file with the header and rows."""
    return ("\n".join((header, *rows)) + "\n").encode()


async def snapshot(svc: Services) -> tuple[object, ...]:
    """Everything an import could change."""
    async with svc.ctx.db.read() as s:
        cats = (await s.execute(select(Category.slug, Category.name_en, Category.name_zh)
                                .order_by(Category.slug))).all()
        prods = (await s.execute(select(Product.sku, Product.name_en, Product.price, Product.active,
                                        Product.low_stock_threshold, Product.category_id)
                                 .order_by(Product.sku))).all()
        stock = (await s.execute(select(Stock.product_id, Stock.warehouse_id, Stock.on_hand,
                                        Stock.reserved).order_by(Stock.product_id,
                                                                 Stock.warehouse_id))).all()
    return tuple(cats), tuple(prods), tuple(stock)


async def product(svc: Services, sku: str) -> Product:
    async with svc.ctx.db.read() as s:
        found = await s.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found


async def on_hand(svc: Services, product_id: int, warehouse_id: int) -> int | None:
    async with svc.ctx.db.read() as s:
        row = await s.get(Stock, (product_id, warehouse_id))
        return row.on_hand if row else None


async def test_creates_and_updates_products_categories_and_stock(svc: Services, shop: ShopData) -> None:
    data = csv_of(
        "TEA-1,home,,,Green tea,绿茶,,,55.00,SH,40,5,true",
        "TEA-1,home,,,Green tea,绿茶,,,55.00,GD,7,5,true",
        "PEN-1,office,Office,办公,Pen,钢笔,A pen,一支笔,12.5,SH,100,,",
        "PEN-2,office,Office,办公,Ink,墨水,,,8,,,,no",
    )
    report = await svc.catalog_import.import_csv(data)
    assert report.applied and report.problems == ()
    assert (report.rows, report.categories_created, report.products_created,
            report.products_updated, report.stock_rows) == (4, 1, 2, 1, 3)
    tea, pen, ink = [await product(svc, s) for s in ("TEA-1", "PEN-1", "PEN-2")]
    assert (tea.price, tea.low_stock_threshold) == (5500, 5)
    assert (pen.price, pen.active, pen.low_stock_threshold, pen.description_zh) == (1250, True, 3, "一支笔")
    assert (ink.price, ink.active) == (800, False)
    assert await on_hand(svc, tea.id, shop.sh) == 40
    assert await on_hand(svc, tea.id, shop.gd) == 7
    assert await on_hand(svc, pen.id, shop.sh) == 100
    assert await on_hand(svc, ink.id, shop.sh) is None
    # The same file again changes nothing more.
    again = await svc.catalog_import.import_csv(data)
    assert (again.categories_created, again.products_created, again.products_updated) == (0, 0, 0)


async def test_a_bad_row_applies_nothing_and_names_line_and_column(svc: Services, shop: ShopData) -> None:
    before = await snapshot(svc)
    data = csv_of(
        "TEA-1,home,,,Green tea,绿茶,,,99.00,SH,50,,",
        "NEW-1,home,,,New,新,,,1.00,SH,5,,",
        "NEW-2,home,,,New 2,新2,,,12.345,SH,5,,",  # line 4: three decimals
    )
    report = await svc.catalog_import.import_csv(data)
    assert not report.applied
    assert report.problems == (RowProblem(4, "price", "bad_price"),)
    assert await snapshot(svc) == before


@pytest.mark.parametrize(("row", "problem"), [
    ("X-1,home,,,N,名,,,-1,,,,", RowProblem(2, "price", "bad_price")),
    ("X-1,home,,,N,名,,,abc,,,,", RowProblem(2, "price", "bad_price")),
    ("X-1,home,,,N,名,,,1e3,,,,", RowProblem(2, "price", "bad_price")),
    ("X-1,home,,,N,名,,,99999999999,,,,", RowProblem(2, "price", "too_large")),
    ("X-1,home,,,N,名,,,,,,,", RowProblem(2, "price", "required")),
    (",home,,,N,名,,,1,,,,", RowProblem(2, "sku", "required")),
    ("X 1,home,,,N,名,,,1,,,,", RowProblem(2, "sku", "bad_code")),
    ("X-1,Home!,H,家,N,名,,,1,,,,", RowProblem(2, "category_slug", "bad_code")),
    ("X-1,home,,,,名,,,1,,,,", RowProblem(2, "name_en", "required")),
    ("X-1,home,,," + "n" * 129 + ",名,,,1,,,,", RowProblem(2, "name_en", "too_long")),
    ("X-1,home,,,N,名,,,1,XX,5,,", RowProblem(2, "warehouse", "unknown_warehouse")),
    ("X-1,home,,,N,名,,,1,SH,-1,,", RowProblem(2, "on_hand", "bad_number")),
    ("X-1,home,,,N,名,,,1,SH,1000001,,", RowProblem(2, "on_hand", "too_large")),
    ("X-1,home,,,N,名,,,1,SH,,,", RowProblem(2, "on_hand", "required")),
    ("X-1,home,,,N,名,,,1,,5,,", RowProblem(2, "warehouse", "required")),
    ("X-1,home,,,N,名,,,1,,,x,", RowProblem(2, "low_stock_threshold", "bad_number")),
    ("X-1,home,,,N,名,,,1,,,,maybe", RowProblem(2, "active", "bad_flag")),
    ("X-1,newcat,,,N,名,,,1,,,,", RowProblem(2, "category_name_en", "required_for_new_category")),
    ("X-1,home,,,N,名,,,1,,,,,extra", RowProblem(2, "", "extra_values")),
])
async def test_each_bad_cell_is_reported(svc: Services, shop: ShopData, row: str,
                                         problem: RowProblem) -> None:
    before = await snapshot(svc)
    report = await svc.catalog_import.import_csv(csv_of(row))
    assert not report.applied and report.problems[0] == problem
    assert await snapshot(svc) == before


async def test_rows_of_one_product_must_agree_and_not_repeat_a_warehouse(svc: Services, shop: ShopData) -> None:
    report = await svc.catalog_import.import_csv(csv_of(
        "X-1,home,,,N,名,,,1,SH,1,,",
        "X-1,home,,,N,名,,,2,GD,1,,",
        "X-1,home,,,N,名,,,1,SH,3,,",
    ))
    assert report.problems == (RowProblem(3, "price", "differs_from_line", 2),
                               RowProblem(4, "warehouse", "duplicate_stock"))


async def test_stock_never_below_what_orders_hold(svc: Services, shop: ShopData) -> None:
    await place(svc, await buyer(svc), {shop.tea: 3})
    before = await snapshot(svc)
    report = await svc.catalog_import.import_csv(csv_of("TEA-1,home,,,Green tea,绿茶,,,50,SH,2,,"))
    assert report.problems == (RowProblem(2, "on_hand", "below_reserved", 3),)
    assert await snapshot(svc) == before
    ok = await svc.catalog_import.import_csv(csv_of("TEA-1,home,,,Green tea,绿茶,,,50,sh,3,,"))
    assert ok.applied and await on_hand(svc, shop.tea, shop.sh) == 3


@pytest.mark.parametrize(("data", "problem"), [
    (b"", RowProblem(1, "", "empty")),
    (b"   \n\n", RowProblem(1, "", "empty")),
    (b"%PDF-1.4\x00\x01binary", RowProblem(1, "", "not_csv")),
    ("sku,name_en\nA,é\n".encode("latin-1"), RowProblem(2, "", "not_utf8")),
    (HEADER.encode() + b"\n", RowProblem(2, "", "no_rows")),
    (b"sku;price\n", RowProblem(1, "category_slug", "missing_column")),
    (b"sku,category_slug,name_en,name_zh,price,colour\n", RowProblem(1, "colour", "unknown_column")),
    (b"sku,sku,category_slug,name_en,name_zh,price\n", RowProblem(1, "sku", "duplicate_column")),
    (csv_of('X-1,home,,,"unterminated,名,,,1,,,,'), RowProblem(2, "", "not_csv")),
])
async def test_not_a_catalog_file(svc: Services, shop: ShopData, data: bytes, problem: RowProblem) -> None:
    before = await snapshot(svc)
    report = await svc.catalog_import.import_csv(data)
    assert not report.applied and report.problems[0] == problem
    assert await snapshot(svc) == before


async def test_bom_semicolons_quotes_and_line_numbers_after_multiline_cells(svc: Services,
                                                                           shop: ShopData) -> None:
    text = ("\ufeffsku;category_slug;name_en;name_zh;price;description_en\r\n"
            'A-1;home;"Tea; strong";浓茶;1;"two\r\nlines"\r\n'
            "\r\n"
            "A-2;home;B;乙;x;\r\n")
    report = await svc.catalog_import.import_csv(text.encode())
    assert report.problems == (RowProblem(5, "price", "bad_price"),)
    ok = await svc.catalog_import.import_csv(text.replace(";x;", ";2;").encode())
    assert ok.applied and (await product(svc, "A-1")).name_en == "Tea; strong"
    assert (await product(svc, "A-1")).description_en == "two\r\nlines"


async def test_only_the_first_twenty_problems_are_listed(svc: Services, shop: ShopData) -> None:
    report = await svc.catalog_import.import_csv(csv_of(*["X,home,,,N,名,,,bad,,,,"] * 25))
    assert len(report.problems) == 20 and report.more_problems == 5
    assert [p.line for p in report.problems] == list(range(2, 22))


async def test_five_thousand_rows(svc: Services, shop: ShopData) -> None:
    rows = [f"BULK-{i},bulk,Bulk,批量,Item {i},商品{i},,,{i}.99,{'SH' if i % 2 else 'GD'},{i % 50},,"
            for i in range(5000)]
    report = await svc.catalog_import.import_csv(csv_of(*rows))
    assert report.applied and report.products_created == 5000 and report.stock_rows == 5000
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Product.id)).where(Product.sku.like("BULK-%"))) == 5000
    again = await svc.catalog_import.import_csv(csv_of(*rows[:4999], rows[4999].replace(".99", ".9x")))
    assert again.problems == (RowProblem(5001, "price", "bad_price"),)


async def test_the_example_file_imports(svc: Services, shop: ShopData) -> None:
    async with svc.ctx.db.write() as s:  # the demo's warehouses, which the example uses
        s.add_all([Warehouse(code="SH01", name="Pudong", region="shanghai"),
                   Warehouse(code="GZ01", name="Baiyun", region="guangdong")])
    report = await svc.catalog_import.import_csv(EXAMPLE.read_bytes())
    assert report.applied and report.problems == () and report.rows >= 5
