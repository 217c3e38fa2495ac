"""Ratings and reviews: once per completed order, one row per product; the merchant hears of
every review, and a low rating (LOW_RATING stars or fewer) is an alert that needs attention."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, Order, OrderLine, Review
from models import OrderStatus as S
from services import notifications
from services.context import ServiceContext
from services.errors import InvalidInput, InvalidTransition
from services.orders.queries import load_order
from services.validation import clean_text, identifier, quantity

REVIEWABLE = (S.COMPLETED, S.ARCHIVED)
LOW_RATING = 2
MAX_TEXT = 1000
MAX_LIST = 50


@dataclass(frozen=True)
class ReviewView:
    """A customer's rating and text of a product."""

    id: int
    order_id: int
    product_id: int
    customer_id: int
    customer_name: str
    rating: int
    text: str
    created_at: datetime


class ReviewService:
    """Customers rate what they received; shoppers read it on the product page."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def review(self, customer_id: int, order_id: int, rating: int,
                     text: str = "") -> list[ReviewView]:
        """Rate every product of a completed order once; a second review is refused."""
        stars = quantity(rating, minimum=1, maximum=5, field="rating")
        body = clean_text(text, "text", max_len=MAX_TEXT, min_len=0)
        async with self.ctx.db.write() as session:
            order = await load_order(session, order_id, customer_id)
            if order.status not in REVIEWABLE:
                raise InvalidTransition(action="review", status=order.status)
            product_ids = sorted(set((await session.scalars(
                select(OrderLine.product_id).where(OrderLine.order_id == order.id))).all()))
            now = self.ctx.clock.now()
            for product_id in product_ids:
                if not await self._insert(session, order, product_id, stars, body):
                    # The unique (order, product) key: a repeat, or a concurrent twin that won.
                    raise InvalidInput(field="review", reason="already_reviewed")
            template = "alert_low_rating" if stars <= LOW_RATING else "alert_review"
            notifications.tell_admins(session, self.ctx.rules, template, now, order.id,
                                      order_number=order.number, rating=stars, text=body)
            rows = await session.execute(self._query().where(Review.order_id == order.id)
                                         .order_by(Review.product_id))
            return [self._view(review, name) for review, name in rows]

    async def of_order(self, order_id: int) -> ReviewView | None:
        """The order's review (every product of an order gets the same stars and words)."""
        async with self.ctx.db.read() as session:
            row = (await session.execute(self._query().where(Review.order_id == order_id)
                                         .order_by(Review.id).limit(1))).first()
            return self._view(*row) if row else None

    async def reviewed(self, customer_id: int, order_id: int) -> bool:
        """Whether the customer has already reviewed this order of theirs."""
        async with self.ctx.db.read() as session:
            order = await load_order(session, order_id, customer_id)
            return await session.scalar(select(Review.id).where(Review.order_id == order.id)
                                        .limit(1)) is not None

    async def for_product(self, product_id: int, limit: int = 5) -> list[ReviewView]:
        """The product's newest reviews."""
        pid = identifier(product_id, "product_id")
        size = quantity(limit, maximum=MAX_LIST, field="limit")
        async with self.ctx.db.read() as session:
            rows = await session.execute(self._query().where(Review.product_id == pid)
                                         .order_by(Review.created_at.desc(), Review.id.desc())
                                         .limit(size))
            return [self._view(review, name) for review, name in rows]

    async def _insert(self, session: AsyncSession, order: Order, product_id: int, rating: int,
                      text: str) -> bool:
        """Insert one review; False when the order already has one for this product."""
        insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
        stmt = (
            insert(Review)
            .values(order_id=order.id, product_id=product_id, customer_id=order.customer_id,
                    rating=rating, text=text, created_at=self.ctx.clock.now())
            .on_conflict_do_nothing(index_elements=["order_id", "product_id"])
            .returning(Review.id)
        )
        return await session.scalar(stmt) is not None

    @staticmethod
    def _query() -> Select[Review, str]:
        return select(Review, Customer.name).join(Customer, Customer.id == Review.customer_id)

    @staticmethod
    def _view(review: Review, name: str) -> ReviewView:
        return ReviewView(review.id, review.order_id, review.product_id, review.customer_id,
                          name, review.rating, review.text, review.created_at)
