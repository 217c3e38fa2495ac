"""Orders taken by phone or e-mail: the merchant enters them; they follow the same lifecycle.

The customer is found by phone number: a bot user who used that phone (on their profile, a saved
address or an earlier order) gets the order under My orders and the usual messages; otherwise a
phone-only customer is found or created (no Telegram chat: the merchant tells them by phone).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Address, Customer, Order, OrderLine, Product, StockReservation
from services.checkout import (
    KEY_PATTERN,
    AddressInput,
    create_order,
    product_lines,
    validate_address,
)
from services.context import ServiceContext
from services.errors import InvalidInput, NotAllowed, NotFound
from services.inventory import stock
from services.orders.dto import PlacedOrder
from services.payments.providers import PaymentRequest
from services.validation import clean_text, quantity

CASH = "cod"
LINK = "link"
# Telegram Payments need the customer's chat for an invoice: no link to read out on the phone.
_NO_LINK = frozenset({CASH, "telegram"})
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")


@dataclass(frozen=True)
class PhoneOrderRequest:
    """What the merchant typed; `key` makes a double Confirm place one order."""

    key: str
    name: str
    phone: str
    region: str
    city: str
    line: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    delivery: str
    payment: str  # "cod" or "link"
    postcode: str = ""
    email: str = ""
    note: str = ""


@dataclass(frozen=True)
class PhoneOrder:
    """The placed order, whose customer it went to, and what the merchant tells them."""

    order: PlacedOrder
    customer_id: int
    uses_bot: bool
    stock_reserved: bool
    payment_link: str | None


@dataclass(frozen=True)
class ItemView:
    """A product line of the order being entered, with what is free to sell now."""

    sku: str
    name_en: str
    name_zh: str
    unit_price: int
    quantity: int
    available: int


class PhoneOrderService:
    """The merchant's order entry."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def items(self, lines: tuple[tuple[str, int], ...]) -> list[ItemView]:
        """The typed lines checked as the order will check them (same sku merged)."""
        rules = self.ctx.rules
        async with self.ctx.db.read() as session:
            cart = await product_lines(session, await _items(session, lines, rules.max_cart_lines),
                                       rules.currency, rules.max_line_quantity)
            free = await stock.available_by_product(session, [c.product_id for c in cart.lines])
        return [ItemView(c.sku, c.name_en, c.name_zh, c.unit_price, c.quantity,
                         free.get(c.product_id, 0)) for c in cart.lines]

    def link_provider(self) -> str | None:
        """The provider whose payment link a phone customer gets, if the shop has one."""
        return next((m for m in self.ctx.rules.payment_methods
                     if m not in _NO_LINK and m in self.ctx.payments), None)

    async def place(self, request: PhoneOrderRequest, actor: str) -> PhoneOrder:
        """Place the order once per key; the customer is found (or created) by phone."""
        if not KEY_PATTERN.match(request.key or ""):
            raise InvalidInput(field="checkout_key", reason="invalid")
        try:
            async with self.ctx.db.write() as session:
                return await self._place(session, request)
        except IntegrityError:
            # A concurrent Confirm of the same key committed first: answer with its order.
            async with self.ctx.db.read() as session:
                found = await self._existing(session, request.key)
            if found is None:
                raise
            return found

    async def _existing(self, session: AsyncSession, key: str) -> PhoneOrder | None:
        order = await session.scalar(select(Order).where(Order.checkout_key == key))
        if order is None:
            return None
        if order.channel != "phone":
            raise NotAllowed(what="checkout_key")
        return await self._result(session, order, created=False)

    async def _place(self, session: AsyncSession, req: PhoneOrderRequest) -> PhoneOrder:
        existing = await self._existing(session, req.key)
        if existing is not None:
            return existing
        rules = self.ctx.rules
        address = validate_address(AddressInput(req.name, req.phone, req.region, req.city,
                                                req.line, req.postcode), rules.default_phone_region)
        email = _email(req.email)
        delivery = rules.delivery(req.delivery)
        if delivery is None:
            raise InvalidInput(field="delivery", reason="unknown")
        method = self._method(req.payment, delivery.allows_cod)
        cart = await product_lines(session, await _items(session, req.lines, rules.max_cart_lines),
                                   rules.currency, rules.max_line_quantity)
        customer = await _customer(session, self.ctx, address, email)
        order = await create_order(session, self.ctx, customer, cart, address, delivery.code,
                                   method, req.key, channel="phone", note=req.note,
                                   allow_backorder=True)
        return await self._result(session, order, created=True)

    def _method(self, payment: str, cod_ok: bool) -> str:
        if payment == CASH:
            if CASH not in self.ctx.payments:
                raise InvalidInput(field="payment_method", reason="unknown")
            if not cod_ok:
                raise NotAllowed(what="cod_delivery")
            return CASH
        provider = self.link_provider() if payment == LINK else None
        if provider is None:
            raise InvalidInput(field="payment_method", reason="unknown")
        return provider

    async def _result(self, session: AsyncSession, order: Order, created: bool) -> PhoneOrder:
        customer = await session.get(Customer, order.customer_id)
        units = await session.scalar(select(func.sum(OrderLine.quantity))
                                     .where(OrderLine.order_id == order.id))
        held = await session.scalar(select(func.coalesce(func.sum(StockReservation.quantity), 0))
                                    .where(StockReservation.order_id == order.id))
        link = None
        if order.payment_method not in _NO_LINK and order.status == "pending_payment":
            link = self.ctx.payments.get(order.payment_method).create_link(PaymentRequest(
                order.id, order.number, order.total, order.currency, f"Order {order.number}"))
        placed = PlacedOrder(order.id, order.number, order.status, order.total, order.currency,
                             order.payment_method, order.payment_deadline, created)
        return PhoneOrder(placed, order.customer_id,
                          customer is not None and customer.telegram_id is not None,
                          int(held or 0) >= int(units or 0), link)


def _email(value: str) -> str | None:
    if not value:
        return None
    text = clean_text(value, "email", max_len=254)
    if not _EMAIL.match(text):
        raise InvalidInput(field="email", reason="invalid")
    return text


async def _items(session: AsyncSession, lines: tuple[tuple[str, int], ...],
                 max_lines: int) -> list[tuple[int, int]]:
    """(product id, quantity) per distinct sku; the same sku twice adds up."""
    if not lines:
        raise InvalidInput(field="lines", reason="empty")
    merged: dict[int, int] = {}
    for sku, qty in lines:
        code = clean_text(sku, "sku", max_len=64)
        product_id = await session.scalar(select(Product.id).where(Product.sku == code))
        if product_id is None:
            raise NotFound(what="product", sku=code)
        merged[product_id] = merged.get(product_id, 0) + quantity(qty, maximum=10**6)
    if len(merged) > max_lines:
        raise InvalidInput(field="lines", reason="too_many", max=max_lines)
    return list(merged.items())


async def find_bot_customer(session: AsyncSession, phone: str) -> Customer | None:
    """The bot user who used this phone (profile, saved address or earlier order), newest first."""
    with_telegram = Customer.telegram_id.is_not(None)
    queries = (
        select(Customer).where(with_telegram, Customer.phone == phone),
        select(Customer).join(Address, Address.customer_id == Customer.id)
        .where(with_telegram, Address.phone == phone),
        select(Customer).join(Order, Order.customer_id == Customer.id)
        .where(with_telegram, Order.phone == phone),
    )
    for query in queries:
        found = await session.scalar(query.order_by(Customer.id.desc()).limit(1))
        if found is not None:
            return found
    return None


async def _customer(session: AsyncSession, ctx: ServiceContext, address: AddressInput,
                    email: str | None) -> Customer:
    customer = await find_bot_customer(session, address.phone) or await session.scalar(
        select(Customer).where(Customer.telegram_id.is_(None), Customer.phone == address.phone)
        .order_by(Customer.id.desc()).limit(1))
    if customer is None:
        customer = Customer(name=address.recipient, phone=address.phone, email=email,
                            language=ctx.rules.admin_language, created_at=ctx.clock.now())
        session.add(customer)
        await session.flush()
        return customer
    customer.phone = customer.phone or address.phone  # found by it: keep it for next time
    customer.email = customer.email or email
    return customer
