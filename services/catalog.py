"""The catalog: categories, paged product lists, product details, search in both languages."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Category, Customer, Product, Review
from services.context import ServiceContext
from services.errors import NotFound
from services.inventory.stock import free_units_of
from services.validation import clean_text, identifier

PAGE_SIZE = 6
MAX_PAGE = 10_000


@dataclass(frozen=True)
class CategoryView:
    """A catalog shelf."""

    id: int
    slug: str
    name_en: str
    name_zh: str
    product_count: int


@dataclass(frozen=True)
class ProductSummary:
    """A product in a list."""

    id: int
    sku: str
    name_en: str
    name_zh: str
    price: int
    available: int


@dataclass(frozen=True)
class ReviewView:
    """A published review."""

    rating: int
    text: str
    customer_name: str


@dataclass(frozen=True)
class ProductDetail:
    """A product card."""

    id: int
    sku: str
    category_id: int
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    price: int
    currency: str
    photos: tuple[str, ...]
    available: int
    rating: float | None
    review_count: int
    reviews: tuple[ReviewView, ...]


@dataclass(frozen=True)
class Page:
    """One page of products."""

    items: tuple[ProductSummary, ...]
    page: int
    pages: int
    total: int
    shelf: tuple[str, str] | None = None  # a category's page: its name (en, zh)


def _page_number(page: object) -> int:
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        return 0
    return min(page, MAX_PAGE)


class CatalogService:
    """What is for sale."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def categories(self) -> list[CategoryView]:
        """Active categories in shelf order, with their count of active products."""
        async with self.ctx.db.read() as session:
            count = (
                select(func.count(Product.id))
                .where(Product.category_id == Category.id, Product.active.is_(True))
                .scalar_subquery()
            )
            rows = await session.execute(
                select(Category, count).where(Category.active.is_(True))
                .order_by(Category.position, Category.id)
            )
            return [CategoryView(c.id, c.slug, c.name_en, c.name_zh, int(n)) for c, n in rows]

    async def products(self, category_id: int, page: int = 0) -> Page:
        """A page of a category's active products."""
        identifier(category_id, "category_id")
        async with self.ctx.db.read() as session:
            shelf = (Product.category_id == category_id, Category.id == Product.category_id,
                     Category.active.is_(True))
            # The shelf's name comes in the same rows (the page shows it): no second read.
            found = await self._page(session, shelf, page, (Category.name_en, Category.name_zh))
            if not found.items:  # an empty page: is there such a shelf at all?
                category = await session.get(Category, category_id)
                if category is None or not category.active:
                    raise NotFound(what="category")
                return replace(found, shelf=(category.name_en, category.name_zh))
            return found

    async def search(self, text: str, page: int = 0) -> Page:
        """Products whose name, description or SKU contains the text, in either language."""
        query = clean_text(text, "query", max_len=100)
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        columns = (Product.name_en, Product.name_zh, Product.description_en,
                   Product.description_zh, Product.sku)
        match = or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))
        async with self.ctx.db.read() as session:
            return await self._page(session, match, page)

    async def _page(self, session: AsyncSession, where: object, page: object,
                    shelf: tuple[Any, ...] = ()) -> Page:
        # One query: the page's products with their free stock and the total count (a window
        # function), instead of count + products + stock (three round trips on every list).
        conditions = where if isinstance(where, tuple) else (where,)
        number = _page_number(page)
        rows = await self._rows(session, conditions, number, shelf)
        total = int(rows[0][6]) if rows else 0
        if not rows and number > 0:  # past the last page: show the last one
            base = select(Product.id).where(Product.active.is_(True), *conditions)
            total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
            number = min(number, max(1, -(-total // PAGE_SIZE)) - 1)
            rows = await self._rows(session, conditions, number, shelf) if total else []
        pages = max(1, -(-total // PAGE_SIZE))
        items = tuple(ProductSummary(i, sku, en, zh, price, int(free))
                      for i, sku, en, zh, price, free, *_ in rows)
        return Page(items, number, pages, total, tuple(rows[0][7:9]) if rows and shelf else None)

    @staticmethod
    async def _rows(session: AsyncSession, conditions: tuple[object, ...], number: int,
                    extra: tuple[Any, ...] = ()) -> list[Any]:
        query = (select(Product.id, Product.sku, Product.name_en, Product.name_zh, Product.price,
                        free_units_of(Product.id), func.count().over(), *extra)
                 .where(Product.active.is_(True), *conditions)  # type: ignore[arg-type]
                 .order_by(Product.id).offset(number * PAGE_SIZE).limit(PAGE_SIZE))
        return list(await session.execute(query))

    async def product(self, product_id: int) -> ProductDetail:
        """The product card: price, stock left, rating and the latest reviews."""
        identifier(product_id, "product_id")
        rating = select(func.avg(Review.rating)).where(Review.product_id == Product.id)
        count = select(func.count(Review.id)).where(Review.product_id == Product.id)
        async with self.ctx.db.read() as session:
            # The product, its free stock and its rating in one query; reviews only if any.
            found = (await session.execute(
                select(Product, free_units_of(Product.id), rating.scalar_subquery(),
                       count.scalar_subquery()).where(Product.id == product_id))).first()
            if found is None or not found[0].active:
                raise NotFound(what="product")
            p, free, avg, reviews = found
            latest = [] if not reviews else await session.execute(
                select(Review.rating, Review.text, Customer.name)
                .join(Customer, Customer.id == Review.customer_id)
                .where(Review.product_id == p.id)
                .order_by(Review.id.desc())
                .limit(3)
            )
            return ProductDetail(
                p.id, p.sku, p.category_id, p.name_en, p.name_zh, p.description_en,
                p.description_zh, p.price, self.ctx.rules.currency,
                tuple(str(x) for x in p.photos), int(free),
                round(float(avg), 1) if avg is not None else None, int(reviews),
                tuple(ReviewView(r, t, n) for r, t, n in latest),
            )
