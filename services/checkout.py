"""Checkout: validate the delivery details, place the order once per checkout key, reserve stock."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Address, CheckoutForm, Customer, Order, OrderEvent, OrderLine, Product
from models import OrderStatus as S
from services import notifications
from services.cart import CartLineView, CartView, empty_cart, load_cart, take_from_cart
from services.context import ServiceContext
from services.errors import EmptyCart, InvalidInput, NotAllowed, NotFound, OutOfStock
from services.inventory import stock
from services.inventory.allocation import Need
from services.orders.dto import PlacedOrder
from services.orders.lifecycle import act
from services.support import cards as support_cards
from services.validation import clean_text, identifier, phone, quantity

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class AddressInput:
    """Delivery details as the customer typed them."""

    recipient: str
    phone: str
    region: str
    city: str
    line: str
    postcode: str = ""


@dataclass(frozen=True)
class CheckoutRequest:
    """Everything the review screen shows, submitted with the key that makes it idempotent."""

    checkout_key: str
    delivery: str
    payment_method: str
    address: AddressInput | None = None
    address_id: int | None = None
    save_address: bool = True
    note: str = ""
    # "Buy now" / "Buy again": these (product id, quantity) pairs instead of the cart, which is
    # then left as it is (the customer bought something else, not what they were collecting).
    items: tuple[tuple[int, int], ...] = ()
    # With `items`: they were invoiced from the cart (Telegram's form), so they leave it.
    clear_cart: bool = False
    number: str | None = None  # set aside for the order before it exists (Telegram's form)


@dataclass(frozen=True)
class LastChoices:
    """What the customer chose on their last order: where it went, how, and how they paid."""

    address_id: int | None
    delivery: str
    payment_method: str


def new_checkout_key() -> str:
    """A fresh key for one checkout attempt (a double click reuses it)."""
    return secrets.token_urlsafe(16)


def validate_address(raw: AddressInput, default_region: str) -> AddressInput:
    """Cleaned, length-checked address with the phone in E.164."""
    return AddressInput(
        recipient=clean_text(raw.recipient, "recipient", max_len=64),
        phone=phone(raw.phone, default_region),
        region=clean_text(raw.region, "region", max_len=64),
        city=clean_text(raw.city, "city", max_len=64),
        line=clean_text(raw.line, "address_line", max_len=256, min_len=3),
        postcode=clean_text(raw.postcode, "postcode", max_len=16, min_len=0),
    )


# Statements of every order placed, built once (values are bound parameters).
_BY_KEY = select(Order).where(Order.checkout_key == bindparam("key"))
_LAST_ORDER = (select(Order).where(Order.customer_id == bindparam("customer_id"),
                                   Order.channel == "bot").order_by(Order.id.desc()).limit(1))
_SAVED_AS = (select(Address.id).where(
    Address.customer_id == bindparam("customer_id"), Address.recipient == bindparam("recipient"),
    Address.phone == bindparam("phone"), Address.region == bindparam("region"),
    Address.city == bindparam("city"), Address.line == bindparam("line"),
    Address.postcode == bindparam("postcode")).order_by(Address.id.desc()).limit(1))
_NUMBER_TAKEN = select(Order.id).where(Order.number == bindparam("number"))


class CheckoutService:
    """Turns a cart into an order."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def place_order(self, customer_id: int, request: CheckoutRequest) -> PlacedOrder:
        """Place the order; the same checkout key always answers with the same order."""
        identifier(customer_id, "customer_id")
        if not KEY_PATTERN.match(request.checkout_key or ""):
            raise InvalidInput(field="checkout_key", reason="invalid")
        try:
            async with self.ctx.db.write() as session:
                return await self._place(session, customer_id, request)
        except IntegrityError:
            # A concurrent submit of the same key committed first: answer with its order.
            async with self.ctx.db.read() as session:
                found = await self._existing(session, customer_id, request.checkout_key)
            if found is None:
                raise
            return found

    async def _existing(self, session: AsyncSession, customer_id: int,
                        key: str) -> PlacedOrder | None:
        order = await session.scalar(_BY_KEY, {"key": key})
        if order is None:
            return None
        if order.customer_id != customer_id:
            raise NotAllowed(what="checkout_key")
        return _placed(order, created=False)

    async def _place(self, session: AsyncSession, customer_id: int,
                     req: CheckoutRequest) -> PlacedOrder:
        # The customer's row locked first (PostgreSQL; SQLite has one writer anyway): a second
        # submit of the same review (a double click) waits for the first to commit and then
        # finds its order below, instead of finding the cart it emptied.
        customer = await session.get(Customer, customer_id, with_for_update=True)
        if customer is None:
            raise NotFound(what="customer")
        existing = await self._existing(session, customer_id, req.checkout_key)
        if existing is not None:
            return existing
        rules = self.ctx.rules
        cart = await self._basket(session, customer_id, req.items)
        if cart.is_empty:
            raise EmptyCart()
        address = await self._address(session, customer_id, req)
        delivery = rules.delivery(req.delivery)
        if delivery is None:
            raise InvalidInput(field="delivery", reason="unknown")
        total = cart.subtotal + delivery.fee
        await self._check_payment_method(session, customer, req.payment_method,
                                         delivery.allows_cod, total)
        order = await create_order(session, self.ctx, customer, cart, address, req.delivery,
                                   req.payment_method, req.checkout_key, note=req.note,
                                   number=req.number)
        if req.save_address and req.address is not None:
            session.add(Address(customer_id=customer_id, created_at=self.ctx.clock.now(),
                                **address.__dict__))
        if not req.items:
            await empty_cart(session, customer_id)
        elif req.clear_cart:
            await take_from_cart(session, customer_id, req.items)
        return _placed(order, created=True)

    async def basket(self, customer_id: int,
                     items: tuple[tuple[int, int], ...] = ()) -> CartView:
        """What a checkout buys, priced now with free stock: `items`, or else the cart."""
        identifier(customer_id, "customer_id")
        async with self.ctx.db.read() as session:
            return await self._basket(session, customer_id, items)

    async def _basket(self, session: AsyncSession, customer_id: int,
                      items: tuple[tuple[int, int], ...]) -> CartView:
        if not items:
            return await load_cart(session, customer_id, self.ctx.rules.currency)
        if len(items) > self.ctx.rules.max_cart_lines:
            raise InvalidInput(field="cart", reason="too_many_lines",
                               max=self.ctx.rules.max_cart_lines)
        return await item_lines(session, items, self.ctx.rules.currency,
                                self.ctx.rules.max_line_quantity)

    async def last_choices(self, customer_id: int) -> LastChoices | None:
        """The choices of the customer's newest order placed in the chat (None for a first
        order), with the saved address it went to when that address is still saved."""
        async with self.ctx.db.read() as session:
            order = await session.scalar(_LAST_ORDER, {"customer_id": customer_id})
            if order is None:
                return None
            address_id = await session.scalar(_SAVED_AS, {
                "customer_id": customer_id, "recipient": order.recipient_name,
                "phone": order.phone, "region": order.region, "city": order.city,
                "line": order.address_line, "postcode": order.postcode})
            return LastChoices(address_id, order.delivery_option, order.payment_method)

    async def buy_now(self, customer_id: int, product_id: int) -> CartView:
        """One unit of a product to check out at once: it must be for sale and in stock."""
        basket = await self.basket(customer_id, ((identifier(product_id, "product_id"), 1),))
        (line,) = basket.lines
        if line.available < 1:
            raise OutOfStock(sku=line.sku, available=0)
        return basket

    async def _address(self, session: AsyncSession, customer_id: int,
                       req: CheckoutRequest) -> AddressInput:
        if req.address is not None:
            return validate_address(req.address, self.ctx.rules.default_phone_region)
        if req.address_id is None:
            raise InvalidInput(field="address", reason="missing")
        saved = await session.get(Address, identifier(req.address_id, "address_id"))
        if saved is None or saved.customer_id != customer_id:
            raise NotFound(what="address")
        return AddressInput(saved.recipient, saved.phone, saved.region, saved.city, saved.line,
                            saved.postcode)

    async def _check_payment_method(
        self, session: AsyncSession, customer: Customer, method: str, cod_ok: bool, total: int
    ) -> None:
        rules = self.ctx.rules
        if method not in rules.payment_methods or method not in self.ctx.payments:
            raise InvalidInput(field="payment_method", reason="unknown")
        if method != "cod":
            return
        if not cod_ok:
            raise NotAllowed(what="cod_delivery")
        # The credit check: cash on delivery over the limit needs a completed order behind it.
        if (total > rules.cod_limit and rules.cod_requires_completed_order
                and not await _has_completed(session, customer.id)):
            raise NotAllowed(what="cod_credit", limit=rules.cod_limit)


async def _has_completed(session: AsyncSession, customer_id: int) -> bool:
    found = await session.scalar(
        select(Order.id).where(
            Order.customer_id == customer_id, Order.status.in_((S.COMPLETED, S.ARCHIVED))
        ).limit(1)
    )
    return found is not None


def _placed(order: Order, created: bool) -> PlacedOrder:
    return PlacedOrder(order.id, order.number, order.status, order.total, order.currency,
                       order.payment_method, order.payment_deadline, created)


async def new_order_number(session: AsyncSession, ctx: ServiceContext) -> str:
    """A number no order has, nor any invoice of Telegram's form set aside."""
    while True:
        number = f"{ctx.clock.now():%y%m%d}{secrets.randbelow(10**6):06d}"
        if (await session.scalar(_NUMBER_TAKEN, {"number": number}) is None
                and await session.get(CheckoutForm, number) is None):
            return number


async def create_order(
    session: AsyncSession,
    ctx: ServiceContext,
    customer: Customer,
    cart: CartView,
    address: AddressInput,
    delivery_code: str,
    payment_method: str,
    checkout_key: str | None,
    *,
    channel: str = "bot",
    note: str = "",
    allow_backorder: bool = False,
    number: str | None = None,
) -> Order:
    """Insert the order and its lines, reserve stock and queue the notifications."""
    rules, now = ctx.rules, ctx.clock.now()
    delivery = rules.delivery(delivery_code)
    assert delivery is not None
    total = cart.subtotal + delivery.fee
    cod = payment_method == "cod"
    order = Order(
        number=number or await new_order_number(session, ctx), customer_id=customer.id,
        status=(S.AWAITING_REVIEW if cod else S.PENDING_PAYMENT).value,
        checkout_key=checkout_key, channel=channel, recipient_name=address.recipient,
        phone=address.phone, region=address.region, city=address.city,
        address_line=address.line, postcode=address.postcode, delivery_option=delivery.code,
        delivery_fee=delivery.fee, subtotal=cart.subtotal, total=total, currency=rules.currency,
        payment_method=payment_method, important=total >= rules.important_threshold,
        note=clean_text(note, "note", max_len=500, min_len=0),
        payment_deadline=None if cod else now + rules.payment_deadline,
        ship_by=now + rules.ship_within, created_at=now, updated_at=now,
    )
    session.add(order)
    await session.flush()  # the unique checkout key is checked here, before any stock moves
    lines = [
        OrderLine(order_id=order.id, product_id=c.product_id, sku=c.sku, name_en=c.name_en,
                  name_zh=c.name_zh, unit_price=c.unit_price, quantity=c.quantity)
        for c in cart.lines
    ]
    session.add_all(lines)
    await session.flush()
    needs = [Need(ln.id, ln.product_id, ln.sku, ln.quantity) for ln in lines]
    try:
        picks = await stock.reserve(session, order.id, needs, address.region, rules, now)
        if len({p.warehouse_id for p in picks}) == 1:
            order.warehouse_id = picks[0].warehouse_id
    except OutOfStock:
        if not allow_backorder:
            raise
    session.add(OrderEvent(order_id=order.id, actor=f"{channel}:customer:{customer.id}",
                           from_status=None, to_status=order.status, reason="placed",
                           created_at=now))
    if cod and not rules.review_required:
        await act(session, order, "confirm", actor="system:auto_review", now=now)
    _announce(session, ctx, customer, order)
    await support_cards.refresh_later(session, ctx, customer.telegram_id)
    return order


def _announce(session: AsyncSession, ctx: ServiceContext, customer: Customer, order: Order) -> None:
    now, rules = ctx.clock.now(), ctx.rules
    params = {"order_number": order.number, "total": order.total, "currency": order.currency}
    if order.channel != "bot":  # a checkout in the chat is answered there, with its payment step
        template = "order_placed_cod" if order.payment_method == "cod" else "order_placed"
        deadline = order.payment_deadline.isoformat() if order.payment_deadline else ""
        notifications.tell_customer(session, customer, template, now, order.id, **params,
                                    deadline=deadline)
    notifications.tell_admins(session, rules, "alert_new_order", now, order.id, **params)
    if order.important:
        notifications.tell_admins(session, rules, "alert_important_order", now, order.id, **params)


async def item_lines(session: AsyncSession, items: tuple[tuple[int, int], ...], currency: str,
                     max_qty: int) -> CartView:
    """(product id, quantity) pairs priced now, with their free stock; a product no longer for
    sale is NotFound."""
    ids = [identifier(product_id, "product_id") for product_id, _ in items]
    free = await stock.available_by_product(session, ids)
    lines = []
    for product_id, qty in items:
        product = await session.get(Product, product_id)
        if product is None or not product.active:
            raise NotFound(what="product")
        lines.append(CartLineView(product.id, product.sku, product.name_en, product.name_zh,
                                  product.price, quantity(qty, maximum=max_qty),
                                  free[product_id]))
    return CartView(tuple(lines), currency)


async def product_lines(session: AsyncSession, items: list[tuple[int, int]], currency: str,
                        max_qty: int) -> CartView:
    """A cart-like view of (product id, quantity) pairs, for orders entered by the merchant."""
    lines = []
    for product_id, qty in items:
        product = await session.get(Product, identifier(product_id, "product_id"))
        if product is None or not product.active:
            raise NotFound(what="product")
        lines.append(CartLineView(product.id, product.sku, product.name_en, product.name_zh,
                                  product.price, quantity(qty, maximum=max_qty), 0))
    return CartView(tuple(lines), currency)
