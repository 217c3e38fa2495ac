"""The catalog: categories, paged product lists, product details, search in both languages."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, Select, String, bindparam, func, or_, select
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


# The catalog's statements, built once: building a select with its subqueries and hashing it
# for SQLAlchemy's compiled cache cost ~400 us of the ~700 us a product card took; values
# go in as bound parameters.
_CATEGORIES = (
    select(Category.id, Category.slug, Category.name_en, Category.name_zh,
           select(func.count(Product.id))
           .where(Product.category_id == Category.id, Product.active.is_(True))
           .scalar_subquery())
    .where(Category.active.is_(True))
    .order_by(Category.position, Category.id)
)


@dataclass(frozen=True)
class _Listing:
    """A paged list of products: a page of rows (with the total), and the bare count."""

    rows: Select[Any]
    count: Select[Any]

    @classmethod
    def where(cls, *conditions: Any, extra: tuple[Any, ...] = ()) -> _Listing:
        rows = (select(Product.id, Product.sku, Product.name_en, Product.name_zh, Product.price,
                       free_units_of(Product.id), func.count().over(), *extra)
                .where(Product.active.is_(True), *conditions)
                .order_by(Product.id).offset(bindparam("offset")).limit(PAGE_SIZE))
        base = select(Product.id).where(Product.active.is_(True), *conditions)
        return cls(rows, select(func.count()).select_from(base.subquery()))


_ON_SHELF = _Listing.where(
    Product.category_id == bindparam("category_id"), Category.id == Product.category_id,
    Category.active.is_(True), extra=(Category.name_en, Category.name_zh))
_MATCHING = _Listing.where(or_(*(
    func.lower(c).like(bindparam("pattern", type_=String), escape="\\")
    for c in (Product.name_en, Product.name_zh, Product.description_en,
              Product.description_zh, Product.sku))))
_CARD = (
    select(*Product.__table__.c, free_units_of(Product.id).label("free"),
           select(func.avg(Review.rating)).where(Review.product_id == Product.id)
           .scalar_subquery().label("rating"),
           select(func.count(Review.id)).where(Review.product_id == Product.id)
           .scalar_subquery().label("reviews"))
    .where(Product.id == bindparam("product_id"))
)
_LATEST_REVIEWS = (
    select(Review.rating, Review.text, Customer.name)
    .join(Customer, Customer.id == Review.customer_id)
    .where(Review.product_id == bindparam("product_id"))
    .order_by(Review.id.desc())
    .limit(3)
)


class CatalogService:
    """What is for sale."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def categories(self) -> list[CategoryView]:
        """Active categories in shelf order, with their count of active products."""
        async with self.ctx.db.read() as session:
            rows = await session.execute(_CATEGORIES)
            return [CategoryView(i, slug, en, zh, int(n)) for i, slug, en, zh, n in rows]

    async def products(self, category_id: int, page: int = 0) -> Page:
        """A page of a category's active products."""
        identifier(category_id, "category_id")
        async with self.ctx.db.read() as session:
            # The shelf's name comes in the same rows (the page shows it): no second read.
            found = await self._page(session, _ON_SHELF, page, {"category_id": category_id}, True)
            if not found.items:  # an empty page: is there such a shelf at all?
                category = await session.get(Category, category_id)
                if category is None or not category.active:
                    raise NotFound(what="category")
                return replace(found, shelf=(category.name_en, category.name_zh))
            return found

    async def search(self, text: str, page: int = 0) -> Page:
        """Products whose name, description or SKU contains the text, in either language."""
        query = clean_text(text, "query", max_len=100)
        pattern = ("%" + query.lower().replace("\\", "\\\\").replace("%", "\\%")
                   .replace("_", "\\_") + "%")
        async with self.ctx.db.read() as session:
            return await self._page(session, _MATCHING, page, {"pattern": pattern})

    @staticmethod
    async def _page(session: AsyncSession, kind: _Listing, page: object, params: dict[str, Any],
                    shelf: bool = False) -> Page:
        # One query: the page's products with their free stock and the total count (a window
        # function), instead of count + products + stock (three round trips on every list).
        number = _page_number(page)
        rows = list(await session.execute(kind.rows, {**params, "offset": number * PAGE_SIZE}))
        total = int(rows[0][6]) if rows else 0
        if not rows and number > 0:  # past the last page: show the last one
            total = int(await session.scalar(kind.count, params) or 0)
            number = min(number, max(1, -(-total // PAGE_SIZE)) - 1)
            rows = list(await session.execute(
                kind.rows, {**params, "offset": number * PAGE_SIZE})) if total else []
        pages = max(1, -(-total // PAGE_SIZE))
        items = tuple(ProductSummary(i, sku, en, zh, price, int(free))
                      for i, sku, en, zh, price, free, *_ in rows)
        return Page(items, number, pages, total, tuple(rows[0][7:9]) if rows and shelf else None)

    async def product(self, product_id: int) -> ProductDetail:
        """The product card: price, stock left, rating and the latest reviews."""
        identifier(product_id, "product_id")
        async with self.ctx.db.read() as session:
            # The product, its free stock and its rating in one query; reviews only if any.
            found = (await session.execute(_CARD, {"product_id": product_id})).first()
            if found is None or not found.active:
                raise NotFound(what="product")
            latest: Iterable[Row[int, str, str]] = (
                [] if not found.reviews
                else await session.execute(_LATEST_REVIEWS, {"product_id": product_id}))
            return ProductDetail(
                found.id, found.sku, found.category_id, found.name_en, found.name_zh,
                found.description_en, found.description_zh, found.price, self.ctx.rules.currency,
                tuple(str(x) for x in found.photos), int(found.free),
                round(float(found.rating), 1) if found.rating is not None else None,
                int(found.reviews), tuple(ReviewView(r, t, n) for r, t, n in latest),
            )
