"""The cart: add, change, remove, clear; stock is checked on every change."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Cart, CartLine, Product
from services.context import ServiceContext
from services.errors import InvalidInput, NotFound, OutOfStock
from services.inventory.stock import available_by_product
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


async def load_cart(session: AsyncSession, customer_id: int, currency: str) -> CartView:
    """The customer's cart, priced now (inactive products are left out)."""
    rows = (
        await session.execute(
            select(CartLine, Product)
            .join(Cart, Cart.id == CartLine.cart_id)
            .join(Product, Product.id == CartLine.product_id)
            .where(Cart.customer_id == customer_id, Product.active.is_(True))
            .order_by(CartLine.id)
        )
    ).all()
    free = await available_by_product(session, [p.id for _, p in rows])
    lines = tuple(
        CartLineView(p.id, p.sku, p.name_en, p.name_zh, p.price, line.quantity, free[p.id])
        for line, p in rows
    )
    return CartView(lines, currency)


async def empty_cart(session: AsyncSession, customer_id: int) -> None:
    """Empty the cart inside the caller's transaction (checkout does it with the order)."""
    carts = select(Cart.id).where(Cart.customer_id == customer_id).scalar_subquery()
    await session.execute(delete(CartLine).where(CartLine.cart_id.in_(carts)))


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
            return not await session.scalar(select(
                select(CartLine.id).join(Cart, Cart.id == CartLine.cart_id)
                .join(Product, Product.id == CartLine.product_id)
                .where(Cart.customer_id == customer_id, Product.active.is_(True)).exists()))

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
                delete(CartLine).where(CartLine.cart_id == cart_id, CartLine.product_id == product_id)
            )
            return await load_cart(session, customer_id, self.ctx.rules.currency)

    async def clear(self, customer_id: int) -> CartView:
        """Empty the cart."""
        async with self.ctx.db.write() as session:
            await empty_cart(session, customer_id)
            return CartView((), self.ctx.rules.currency)

    async def _change(self, customer_id: int, product_id: int, qty: int, relative: bool) -> CartView:
        """Add to or set a line, and answer with the new cart: the cart is read once, before
        the change, and the answer built from it (5 statements for a cart that exists)."""
        limit = self.ctx.rules.max_line_quantity
        identifier(product_id, "product_id")
        identifier(customer_id, "customer_id")
        quantity(qty, maximum=limit)
        async with self.ctx.db.write() as session:
            product = await session.get(Product, product_id)
            if product is None or not product.active:
                raise NotFound(what="product")
            rows = (await session.execute(
                select(CartLine, Product).join(Cart, Cart.id == CartLine.cart_id)
                .join(Product, Product.id == CartLine.product_id)
                .where(Cart.customer_id == customer_id).order_by(CartLine.id))).all()
            line = next((li for li, _ in rows if li.product_id == product_id), None)
            new = (line.quantity if line else 0) + qty if relative else qty
            quantity(new, maximum=limit)
            free = await available_by_product(session, sorted({p.id for _, p in rows} | {product_id}))
            lowering = line is not None and new < line.quantity
            if new > free[product_id] and not lowering:  # stock fell below the line: taking units out is fine
                raise OutOfStock(sku=product.sku, available=free[product_id])
            if line is None:
                if len(rows) >= self.ctx.rules.max_cart_lines:
                    raise InvalidInput(field="cart", reason="too_many_lines",
                                       max=self.ctx.rules.max_cart_lines)
                cart_id = rows[0][0].cart_id if rows else await self._cart_id(session, customer_id)
                session.add(CartLine(cart_id=cart_id, product_id=product_id, quantity=new,
                                     added_at=self.ctx.clock.now()))
            else:
                line.quantity = new
            await session.flush()
            shown = [(li.quantity, p) for li, p in rows if p.active]
            if line is None:
                shown.append((new, product))
            return CartView(tuple(CartLineView(p.id, p.sku, p.name_en, p.name_zh, p.price, q, free[p.id])
                                  for q, p in shown), self.ctx.rules.currency)

    async def _cart_id(self, session: AsyncSession, customer_id: int) -> int:
        identifier(customer_id, "customer_id")
        cart_id = await session.scalar(select(Cart.id).where(Cart.customer_id == customer_id))
        if cart_id is None:
            cart = Cart(customer_id=customer_id, updated_at=self.ctx.clock.now())
            session.add(cart)
            await session.flush()
            cart_id = cart.id
        return cart_id
