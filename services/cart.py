"""The cart: add, change, remove, clear; stock is checked on every change."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Cart, CartLine, Product
from services.context import ServiceContext
from services.errors import InvalidInput, NotFound, OutOfStock
from services.inventory.stock import free_units_of
from services.validation import identifier, quantity


@dataclass(frozen=True)
class CartLineView:
    """A product in the cart with its current price."""

    product_id: int
    sku: str
    name_en: str
    name_zh: str
    unit_price: int
    quantity: int
    available: int

    @property
    def total(self) -> int:
        """unit_price x quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CartView:
    """The whole cart."""

    lines: tuple[CartLineView, ...]
    currency: str

    @property
    def subtotal(self) -> int:
        """Sum of the lines."""
        return sum(line.total for line in self.lines)

    @property
    def is_empty(self) -> bool:
        """True when nothing is in the cart."""
        return not self.lines


# The cart's statements, built once (values are bound parameters): building and hashing a
# statement for SQLAlchemy's compiled cache costs more than SQLite running it.
_PRODUCT_COLUMNS = (Product.id.label("product_id"), Product.sku, Product.name_en, Product.name_zh,
                    Product.price, Product.active)
_LINES = (  # the customer's cart lines with their products' price and free stock, in order
    select(CartLine.id.label("line_id"), CartLine.cart_id, CartLine.quantity,
           *_PRODUCT_COLUMNS, free_units_of(Product.id).label("free"))
    .join(Cart, Cart.id == CartLine.cart_id)
    .join(Product, Product.id == CartLine.product_id)
    .where(Cart.customer_id == bindparam("customer_id"))
    .order_by(CartLine.id)
)
_SHOWN_LINES = _LINES.where(Product.active.is_(True))
_PRODUCT = (select(*_PRODUCT_COLUMNS, free_units_of(Product.id).label("free"))
            .where(Product.id == bindparam("product_id")))
# Writes as Core statements on the table: the ORM's bulk paths would first plan how to keep
# loaded objects in step, and no cart line object is loaded in these sessions.
_CART_LINES = CartLine.__table__
_EMPTY = delete(_CART_LINES).where(_CART_LINES.c.cart_id.in_(
    select(Cart.id).where(Cart.customer_id == bindparam("customer_id")).scalar_subquery()))
_SET_QUANTITY = (update(_CART_LINES).where(_CART_LINES.c.id == bindparam("line_id"))
                 .values(quantity=bindparam("new_quantity")))
_ADD_LINE = insert(_CART_LINES)
_CART_ID = select(Cart.id).where(Cart.customer_id == bindparam("customer_id"))
_HAS_LINES = select(
    select(CartLine.id).join(Cart, Cart.id == CartLine.cart_id)
    .join(Product, Product.id == CartLine.product_id)
    .where(Cart.customer_id == bindparam("customer_id"), Product.active.is_(True)).exists())


def _line(row: Any, quantity: int) -> CartLineView:
    """A line of a product row (of _LINES or _PRODUCT) with its quantity."""
    return CartLineView(row.product_id, row.sku, row.name_en, row.name_zh, row.price, quantity,
                        int(row.free))


async def load_cart(session: AsyncSession, customer_id: int, currency: str) -> CartView:
    """The customer's cart, priced now, with free stock (inactive products are left out)."""
    rows = await session.execute(_SHOWN_LINES, {"customer_id": customer_id})
    return CartView(tuple(_line(row, row.quantity) for row in rows), currency)


async def empty_cart(session: AsyncSession, customer_id: int) -> None:
    """Empty the cart inside the caller's transaction (checkout does it with the order)."""
    await session.execute(_EMPTY, {"customer_id": customer_id})


async def take_from_cart(session: AsyncSession, customer_id: int,
                         items: tuple[tuple[int, int], ...]) -> None:
    """Take units bought out of the cart (what was added since stays)."""
    rows = {row.product_id: row for row in await session.execute(
        _LINES, {"customer_id": customer_id})}
    for product_id, qty in items:
        row = rows.get(product_id)
        if row is None:
            continue
        if row.quantity > qty:
            await session.execute(_SET_QUANTITY, {"line_id": row.line_id,
                                                  "new_quantity": row.quantity - qty})
        else:
            await session.execute(delete(_CART_LINES).where(_CART_LINES.c.id == row.line_id))


class CartService:
    """The customer's cart."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def view(self, customer_id: int) -> CartView:
        """The cart as it stands."""
        async with self.ctx.db.read() as session:
            return await load_cart(session, customer_id, self.ctx.rules.currency)

    async def is_empty(self, customer_id: int) -> bool:
        """True when the cart has no line of a product still for sale (as `view` would show)."""
        identifier(customer_id, "customer_id")
        async with self.ctx.db.read() as session:
            return not await session.scalar(_HAS_LINES, {"customer_id": customer_id})

    async def add(self, customer_id: int, product_id: int, qty: int = 1) -> CartView:
        """Add units of a product (on top of what is already in the cart)."""
        return await self._change(customer_id, product_id, qty, relative=True)

    async def set_quantity(self, customer_id: int, product_id: int, qty: int) -> CartView:
        """Set a line's quantity; 0 removes the line."""
        if qty == 0:
            return await self.remove(customer_id, product_id)
        return await self._change(customer_id, product_id, qty, relative=False)

    async def remove(self, customer_id: int, product_id: int) -> CartView:
        """Take a product out of the cart."""
        identifier(product_id, "product_id")
        async with self.ctx.db.write() as session:
            cart_id = await self._cart_id(session, customer_id)
            await session.execute(
                delete(CartLine).where(CartLine.cart_id == cart_id,
                                       CartLine.product_id == product_id)
            )
            return await load_cart(session, customer_id, self.ctx.rules.currency)

    async def clear(self, customer_id: int) -> CartView:
        """Empty the cart."""
        async with self.ctx.db.write() as session:
            await empty_cart(session, customer_id)
            return CartView((), self.ctx.rules.currency)

    async def _change(self, customer_id: int, product_id: int, qty: int,
                      relative: bool) -> CartView:
        """Add to or set a line, and answer with the new cart: the cart is read once (with
        its stock), before the change, and the answer built from it."""
        limit = self.ctx.rules.max_line_quantity
        identifier(product_id, "product_id")
        identifier(customer_id, "customer_id")
        quantity(qty, maximum=limit)
        async with self.ctx.db.write() as session:
            rows = list(await session.execute(_LINES, {"customer_id": customer_id}))
            line = next((row for row in rows if row.product_id == product_id), None)
            product = line or (await session.execute(_PRODUCT, {"product_id": product_id})).first()
            if product is None or not product.active:
                raise NotFound(what="product")
            free = int(product.free)
            new = (line.quantity if line else 0) + qty if relative else qty
            quantity(new, maximum=limit)
            lowering = line is not None and new < line.quantity
            if new > free and not lowering:  # stock fell below the line: taking units out is fine
                raise OutOfStock(sku=product.sku, available=free)
            if line is None:
                if len(rows) >= self.ctx.rules.max_cart_lines:
                    raise InvalidInput(field="cart", reason="too_many_lines",
                                       max=self.ctx.rules.max_cart_lines)
                cart_id = rows[0].cart_id if rows else await self._cart_id(session, customer_id)
                await session.execute(_ADD_LINE, {"cart_id": cart_id, "product_id": product_id,
                                                  "quantity": new,
                                                  "added_at": self.ctx.clock.now()})
            else:
                await session.execute(_SET_QUANTITY, {"line_id": line.line_id, "new_quantity": new})
            shown = [_line(row, new if row is line else row.quantity) for row in rows if row.active]
            if line is None:
                shown.append(_line(product, new))
            return CartView(tuple(shown), self.ctx.rules.currency)

    async def _cart_id(self, session: AsyncSession, customer_id: int) -> int:
        identifier(customer_id, "customer_id")
        cart_id = await session.scalar(_CART_ID, {"customer_id": customer_id})
        if cart_id is None:
            cart = Cart(customer_id=customer_id, updated_at=self.ctx.clock.now())
            session.add(cart)
            await session.flush()
            cart_id = cart.id
        return cart_id
