"""Catalog import: a CSV file creates or updates categories, products and stock, all or nothing.

The file is UTF-8 (a byte-order mark, as Excel writes it, is fine), comma-separated (semicolon
or tab also work when the header uses them), with a header row naming the columns; their order
is free. One row per product and warehouse: a product stocked in two warehouses takes two rows
whose product columns agree.

Columns (* required in every row):

- ``sku`` * product code, 1-64 of ``A-Z a-z 0-9 . _ -``; an existing sku is updated.
- ``category_slug`` * category code, 1-64 of ``a-z 0-9 _ -``; a new slug creates the category.
- ``category_name_en``, ``category_name_zh``: the category's names (up to 64 characters);
  required for a new category, and when given for an existing one they rename it.
- ``name_en`` *, ``name_zh`` *: the product's names (up to 128 characters).
- ``description_en``, ``description_zh``: up to 2000 characters each; an empty cell clears the
  description, a file without the column keeps it.
- ``price`` * in the shop's currency, a decimal with at most two places: ``12.50``, ``8``.
- ``warehouse``: an existing warehouse code (``SH``); with ``on_hand`` it sets the units on the
  shelf there (not added: the number counted). Leave both empty to change no stock.
- ``on_hand``: whole units, 0 to 1,000,000; never below the units already promised to orders.
- ``low_stock_threshold``: whole units, 0 to 1,000,000 (new products: 3).
- ``active``: ``true``/``false`` (also ``yes``/``no``, ``1``/``0``); new products: true.

A file with any bad row changes nothing: every problem is reported with its line number (the
header is line 1), its column and the reason, and the merchant fixes the file and sends it again.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Category, Product, Stock, Warehouse
from services.context import ServiceContext

COLUMNS = ("sku", "category_slug", "category_name_en", "category_name_zh", "name_en", "name_zh",
           "description_en", "description_zh", "price", "warehouse", "on_hand",
           "low_stock_threshold", "active")
REQUIRED = ("sku", "category_slug", "name_en", "name_zh", "price")
MAX_ROWS = 20_000
MAX_PROBLEMS = 20  # enough to fix a file in one go without flooding the chat
MAX_UNITS = 1_000_000
MAX_PRICE = 10**9  # minor units: ten million in the shop's currency
_SKU = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SLUG = re.compile(r"^[a-z0-9_-]{1,64}$")
_PRICE = re.compile(r"^\d{1,15}(\.\d{1,2})?$")
_TRUE, _FALSE = {"true", "yes", "y", "1", "是"}, {"false", "no", "n", "0", "否"}
_CHUNK = 500  # ids per IN (...): far below SQLite's and asyncpg's parameter limits


@dataclass(frozen=True)
class RowProblem:
    """Why one cell (or the file) cannot be imported; `reason` names a localized message."""

    line: int
    column: str
    reason: str
    detail: int | None = None  # the other line of a conflict, the units already reserved


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or (applied False) the problems that stopped it."""

    applied: bool
    rows: int = 0
    categories_created: int = 0
    categories_updated: int = 0
    products_created: int = 0
    products_updated: int = 0
    stock_rows: int = 0
    problems: tuple[RowProblem, ...] = ()
    more_problems: int = 0


@dataclass
class _Row:
    """One data row, its cells checked."""

    line: int
    sku: str
    category_slug: str
    category_name_en: str
    category_name_zh: str
    name_en: str
    name_zh: str
    description_en: str | None  # None: the column is not in the file, keep what is there
    description_zh: str | None
    price: int
    warehouse: str
    on_hand: int | None
    low_stock_threshold: int | None
    active: bool | None


@dataclass
class _Problems:
    """Collects problems, keeping the first MAX_PROBLEMS and counting the rest."""

    items: list[RowProblem] = field(default_factory=list)
    more: int = 0

    def add(self, line: int, column: str, reason: str, detail: int | None = None) -> None:
        """Note a problem."""
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(RowProblem(line, column, reason, detail))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def report(self) -> ImportReport:
        """The refusal."""
        return ImportReport(False, problems=tuple(self.items), more_problems=self.more)


class CatalogImportService:
    """The merchant's bulk edit of the catalog and stock."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def import_csv(self, data: bytes) -> ImportReport:
        """Check the whole file, then apply it in one transaction; a bad row applies nothing."""
        problems = _Problems()
        rows = parse(data, problems)
        if problems:
            return problems.report()
        try:
            async with self.ctx.db.write() as session:
                plan = await _Plan.load(session, rows)
                plan.check(rows, problems)
                if problems:
                    return problems.report()  # nothing was written: the transaction ends empty
                return await plan.apply(session, rows)
        except _StockMoved as moved:
            problems.add(moved.line, "on_hand", "below_reserved")
            return problems.report()


def parse(data: bytes, problems: _Problems) -> list[_Row]:
    """The file's rows with every cell checked; problems are noted, not raised."""
    text = _decode(data, problems)
    if text is None:
        return []
    records = _Records(text)
    header = next(iter(records), [])
    columns = [c.strip().lower() for c in header]
    if not any(columns):
        problems.add(1, "", "empty")
        return []
    if not _check_header(columns, problems):
        return []
    rows: list[_Row] = []
    try:
        for values in records:
            if len(rows) >= MAX_ROWS:
                problems.add(records.line, "", "too_many_rows")
                break
            if len(values) > len(columns):
                problems.add(records.line, "", "extra_values")
                continue
            cells = dict(zip(columns, (v.strip() for v in values), strict=False))
            row = _row(records.line, cells, problems)
            if row is not None:
                rows.append(row)
    except csv.Error:  # an unterminated quote, a giant field: not a CSV we can trust
        problems.add(records.line, "", "not_csv")
    if not rows and not problems:
        problems.add(2, "", "no_rows")
    return rows


def _decode(data: bytes, problems: _Problems) -> str | None:
    if not data.strip():
        problems.add(1, "", "empty")
        return None
    if b"\x00" in data[:4096]:
        problems.add(1, "", "not_csv")  # a spreadsheet, an image, a PDF...
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.add(data[:error.start].count(b"\n") + 1, "", "not_utf8")
        return None


class _Records:
    """The non-blank records of the text, read once; `line` is where the current one starts."""

    def __init__(self, text: str) -> None:
        first = text.split("\n", 1)[0]
        delimiter = next((d for d in ",;\t" if d in first), ",")
        self._reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        self._rows = self._read()
        self.line = 1

    def __iter__(self) -> Iterator[list[str]]:
        return self._rows

    def _read(self) -> Iterator[list[str]]:
        end = 0
        for values in self._reader:  # quoted cells may span lines: count from the last end
            self.line, end = end + 1, self._reader.line_num
            if any(v.strip() for v in values):
                yield values
            self.line = end + 1


def _check_header(columns: list[str], problems: _Problems) -> bool:
    for column in columns:
        if column not in COLUMNS:
            problems.add(1, column, "unknown_column")
        elif columns.count(column) > 1:
            problems.add(1, column, "duplicate_column")
    for column in REQUIRED:
        if column not in columns:
            problems.add(1, column, "missing_column")
    return not problems


def _row(line: int, cells: dict[str, str], problems: _Problems) -> _Row | None:
    before = len(problems.items) + problems.more

    def text(column: str, max_len: int, pattern: re.Pattern[str] | None = None,
             required: bool = False) -> str:
        value = cells.get(column, "")
        if not value:
            if required:
                problems.add(line, column, "required")
        elif len(value) > max_len:
            problems.add(line, column, "too_long")
        elif pattern is not None and not pattern.match(value):
            problems.add(line, column, "bad_code")
        return value

    row = _Row(
        line=line, sku=text("sku", 64, _SKU, True),
        category_slug=text("category_slug", 64, _SLUG, True),
        category_name_en=text("category_name_en", 64),
        category_name_zh=text("category_name_zh", 64),
        name_en=text("name_en", 128, required=True), name_zh=text("name_zh", 128, required=True),
        description_en=text("description_en", 2000) if "description_en" in cells else None,
        description_zh=text("description_zh", 2000) if "description_zh" in cells else None,
        price=_price(line, cells.get("price", ""), problems),
        warehouse=text("warehouse", 32),
        on_hand=_units(line, "on_hand", cells.get("on_hand", ""), problems),
        low_stock_threshold=_units(line, "low_stock_threshold",
                                   cells.get("low_stock_threshold", ""), problems),
        active=_flag(line, cells.get("active", ""), problems),
    )
    if bool(row.warehouse) != (cells.get("on_hand", "") != ""):
        problems.add(line, "on_hand" if row.warehouse else "warehouse", "required")
    return row if len(problems.items) + problems.more == before else None


def _price(line: int, value: str, problems: _Problems) -> int:
    if not value:
        problems.add(line, "price", "required")
        return 0
    if not _PRICE.match(value):
        problems.add(line, "price", "bad_price")
        return 0
    try:
        minor = int(Decimal(value) * 100)
    except InvalidOperation:
        problems.add(line, "price", "bad_price")
        return 0
    if minor > MAX_PRICE:
        problems.add(line, "price", "too_large")
    return minor


def _units(line: int, column: str, value: str, problems: _Problems) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        problems.add(line, column, "bad_number")
        return None
    if int(value) > MAX_UNITS:
        problems.add(line, column, "too_large")
        return None
    return int(value)


def _flag(line: int, value: str, problems: _Problems) -> bool | None:
    word = value.lower()
    if not word:
        return None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    problems.add(line, "active", "bad_flag")
    return None


_PRODUCT_FIELDS = ("category_slug", "name_en", "name_zh", "description_en", "description_zh",
                   "price", "low_stock_threshold", "active")


@dataclass
class _Plan:
    """What the database holds for the file's codes, loaded once for checking and applying."""

    categories: dict[str, Category]
    products: dict[str, Product]
    warehouses: dict[str, Warehouse]
    stock: dict[tuple[int, int], Stock]

    @classmethod
    async def load(cls, session: AsyncSession, rows: list[_Row]) -> _Plan:
        """Existing categories, products, warehouses and stock rows the file touches."""
        slugs = sorted({r.category_slug for r in rows})
        skus = sorted({r.sku for r in rows})
        categories = {c.slug: c for chunk in _chunks(slugs) for c in
                      await session.scalars(select(Category).where(Category.slug.in_(chunk)))}
        products = {p.sku: p for chunk in _chunks(skus) for p in
                    await session.scalars(select(Product).where(Product.sku.in_(chunk)))}
        warehouses = {w.code: w for w in await session.scalars(select(Warehouse))}
        ids = sorted(p.id for p in products.values())
        stock = {(s.product_id, s.warehouse_id): s for chunk in _chunks(ids) for s in
                 await session.scalars(select(Stock).where(Stock.product_id.in_(chunk)))}
        return cls(categories, products, warehouses, stock)

    def warehouse(self, code: str) -> Warehouse | None:
        """The warehouse by code, case-insensitively (merchants type "sh" for "SH")."""
        found = self.warehouses.get(code)
        if found is None:
            found = next((w for c, w in self.warehouses.items() if c.lower() == code.lower()), None)
        return found

    def check(self, rows: list[_Row], problems: _Problems) -> None:
        """Rules across rows and against the database."""
        first_of: dict[str, _Row] = {}
        slug_names: dict[str, _Row] = {}
        placed: set[tuple[str, int]] = set()
        for row in rows:
            self._check_category(row, slug_names, problems)
            seen = first_of.setdefault(row.sku, row)
            differs = next((f for f in _PRODUCT_FIELDS if getattr(seen, f) != getattr(row, f)),
                           None)
            if differs:
                problems.add(row.line, differs, "differs_from_line", seen.line)
            if row.warehouse:
                self._check_stock(row, placed, problems)

    def _check_category(self, row: _Row, named: dict[str, _Row], problems: _Problems) -> None:
        if row.category_slug not in self.categories:
            for column in ("category_name_en", "category_name_zh"):
                if not getattr(row, column):
                    problems.add(row.line, column, "required_for_new_category")
        if row.category_name_en or row.category_name_zh:
            seen = named.setdefault(row.category_slug, row)
            if (seen.category_name_en, seen.category_name_zh) != (row.category_name_en,
                                                                  row.category_name_zh):
                problems.add(row.line, "category_name_en", "differs_from_line", seen.line)

    def _check_stock(self, row: _Row, placed: set[tuple[str, int]], problems: _Problems) -> None:
        warehouse = self.warehouse(row.warehouse)
        if warehouse is None:
            return problems.add(row.line, "warehouse", "unknown_warehouse")
        if (row.sku, warehouse.id) in placed:
            return problems.add(row.line, "warehouse", "duplicate_stock")
        placed.add((row.sku, warehouse.id))
        product = self.products.get(row.sku)
        held = self.stock.get((product.id, warehouse.id)) if product else None
        if held is not None and row.on_hand is not None and row.on_hand < held.reserved:
            problems.add(row.line, "on_hand", "below_reserved", held.reserved)

    async def apply(self, session: AsyncSession, rows: list[_Row]) -> ImportReport:
        """Write the checked rows (the caller's transaction commits them together)."""
        counts = dict.fromkeys(("cat_new", "cat_upd", "prod_new", "prod_upd", "stock"), 0)
        await self._apply_categories(session, rows, counts)
        done: set[str] = set()
        for row in rows:
            if row.sku not in done:
                done.add(row.sku)
                self._apply_product(session, row, counts)
        await session.flush()  # new products get their ids for the stock rows
        for row in rows:
            if row.warehouse and row.on_hand is not None:
                await self._apply_stock(session, row)
                counts["stock"] += 1
        return ImportReport(True, len(rows), counts["cat_new"], counts["cat_upd"],
                            counts["prod_new"], counts["prod_upd"], counts["stock"])

    async def _apply_categories(self, session: AsyncSession, rows: list[_Row],
                                counts: dict[str, int]) -> None:
        position = int(await session.scalar(select(func.max(Category.position))) or 0)
        touched: set[str] = set()
        for row in rows:
            slug = row.category_slug
            if slug in touched or not (row.category_name_en or row.category_name_zh):
                continue
            touched.add(slug)
            category = self.categories.get(slug)
            if category is None:
                position += 1
                category = Category(slug=slug, name_en=row.category_name_en,
                                    name_zh=row.category_name_zh, position=position)
                session.add(category)
                self.categories[slug] = category
                counts["cat_new"] += 1
            else:
                # One name given renames only that one.
                names = (row.category_name_en or category.name_en,
                         row.category_name_zh or category.name_zh)
                if names != (category.name_en, category.name_zh):
                    category.name_en, category.name_zh = names
                    counts["cat_upd"] += 1
        await session.flush()

    def _apply_product(self, session: AsyncSession, row: _Row, counts: dict[str, int]) -> None:
        values: dict[str, object] = {"category_id": self.categories[row.category_slug].id,
                                     "name_en": row.name_en, "name_zh": row.name_zh,
                                     "price": row.price}
        for column in ("description_en", "description_zh", "low_stock_threshold", "active"):
            if getattr(row, column) is not None:  # not in the file (or empty): keep
                values[column] = getattr(row, column)
        product = self.products.get(row.sku)
        if product is None:
            product = Product(sku=row.sku, photos=[], **values)
            session.add(product)
            self.products[row.sku] = product
            counts["prod_new"] += 1
        elif any(getattr(product, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(product, key, value)
            counts["prod_upd"] += 1

    async def _apply_stock(self, session: AsyncSession, row: _Row) -> None:
        warehouse, product = self.warehouse(row.warehouse), self.products[row.sku]
        assert warehouse is not None and row.on_hand is not None
        if (product.id, warehouse.id) not in self.stock:
            session.add(Stock(product_id=product.id, warehouse_id=warehouse.id,
                              on_hand=row.on_hand, reserved=0))
            return
        # Guarded: an order may have reserved units since the file was checked.
        result = await session.execute(
            update(Stock).where(Stock.product_id == product.id, Stock.warehouse_id == warehouse.id,
                                Stock.reserved <= row.on_hand)
            .values(on_hand=row.on_hand).execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise _StockMoved(row.line)


class _StockMoved(Exception):
    """Units were reserved between the check and the write: roll the whole file back."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _chunks(values: list[str] | list[int]) -> Iterator[list[str] | list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


__all__ = ["COLUMNS", "CatalogImportService", "ImportReport", "RowProblem"]
