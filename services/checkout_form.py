"""Checkout through Telegram's own payment form: name, phone, address and delivery on one screen.

The invoice goes out before the order exists (its payload is the order number set aside for it,
with what it buys kept in `checkout_forms`). Telegram then asks the shop about each address the
customer enters (the shipping query: the delivery options and fees, or a polite refusal), and
once the customer presses Pay, the pre-checkout query places the order: the goods are checked
again (still for sale, same price, in stock: reserved now), the form's address becomes the
order's and a saved one. `successful_payment` then pays it like any other Telegram order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CheckoutForm, Order
from services.cart import CartView, load_cart
from services.checkout import (
    AddressInput,
    CheckoutRequest,
    CheckoutService,
    item_lines,
    new_order_number,
)
from services.context import ServiceContext
from services.errors import InvalidInput, NotFound, OutOfStock
from services.rules import DeliveryOption
from services.validation import shared_phone

METHOD = "telegram"


@dataclass(frozen=True)
class FormInvoice:
    """An invoice to send: the order number it will become and the goods' price."""

    number: str
    subtotal: int
    currency: str
    units: int


@dataclass(frozen=True)
class ShippingAddress:
    """An address as Telegram's form gives it (ShippingAddress of the Bot API)."""

    country_code: str
    state: str
    city: str
    street_line1: str
    street_line2: str
    post_code: str


@dataclass(frozen=True)
class FormOrder:
    """What the customer filled in on the form, with the chosen delivery option."""

    name: str
    phone: str
    address: ShippingAddress | None
    delivery: str


class FormCheckoutService:
    """Invoices with Telegram's form, their shipping queries and pre-checkout queries."""

    def __init__(self, ctx: ServiceContext, checkout: CheckoutService) -> None:
        self.ctx = ctx
        self.checkout = checkout

    async def open(self, customer_id: int, key: str,
                   items: tuple[tuple[int, int], ...]) -> FormInvoice:
        """Set an order number aside for this checkout (the same key: the same invoice)."""
        async with self.ctx.db.write() as session:
            found = await session.scalar(select(CheckoutForm).where(
                CheckoutForm.checkout_key == key, CheckoutForm.customer_id == customer_id))
            basket = await self._basket(session, customer_id, items)
            if basket.is_empty:
                raise InvalidInput(field="cart", reason="empty")
            if found is None:
                found = CheckoutForm(
                    number=await new_order_number(session, self.ctx), customer_id=customer_id,
                    checkout_key=key, items=[[ln.product_id, ln.quantity] for ln in basket.lines],
                    from_cart=not items, subtotal=basket.subtotal, created_at=self.ctx.clock.now())
                session.add(found)
            units = sum(ln.quantity for ln in basket.lines)
            return FormInvoice(found.number, found.subtotal, basket.currency, units)

    async def delivery_options(self, customer_id: int, number: str,
                               address: ShippingAddress) -> tuple[DeliveryOption, ...] | None:
        """The delivery options for this address, () when the shop does not deliver there,
        None when the invoice is not one of this customer's forms."""
        async with self.ctx.db.read() as session:
            form = await session.get(CheckoutForm, number)
        rules = self.ctx.rules
        if form is None or form.customer_id != customer_id:
            return None
        if not rules.serves(address.country_code, address.state, address.city):
            return ()
        return rules.delivery_options

    async def place(self, customer_id: int, number: str, total: int,
                    filled: FormOrder) -> str | None:
        """The pre-checkout query of a form invoice: place its order now (stock reserved, the
        address saved); None when it may be paid, else why not (an error key)."""
        async with self.ctx.db.read() as session:
            form = await session.get(CheckoutForm, number)
            if form is None or form.customer_id != customer_id:
                return "not_found"
            if await session.scalar(select(Order.id).where(Order.number == number)) is not None:
                return None  # placed by an earlier query: PaymentService.precheck decides
            try:
                now = await self._basket(session, customer_id, _items(form.items))
            except NotFound:
                return "gone"
        option = self.ctx.rules.delivery(filled.delivery)
        if now.subtotal != form.subtotal or [[ln.product_id, ln.quantity] for ln in now.lines] \
                != form.items:
            return "changed"
        if option is None or total != form.subtotal + option.fee:
            return "amount"
        address = _address(filled)
        if address is None or filled.address is None or not self.ctx.rules.serves(
                filled.address.country_code, filled.address.state, filled.address.city):
            return "address"
        request = CheckoutRequest(form.checkout_key, option.code, METHOD, address=address,
                                  items=_items(form.items), clear_cart=form.from_cart,
                                  number=number)
        try:
            await self.checkout.place_order(customer_id, request)
        except OutOfStock:
            return "out_of_stock"
        except InvalidInput:
            return "address"
        return None

    async def prune(self, before: datetime) -> int:
        """Forget invoices sent before `before`: a placed one's order keeps what it bought, and
        an old invoice paid after that is refused at its pre-checkout query (nothing found)."""
        async with self.ctx.db.write() as session:
            result = await session.execute(
                delete(CheckoutForm).where(CheckoutForm.created_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _basket(self, session: AsyncSession, customer_id: int,
                      items: tuple[tuple[int, int], ...]) -> CartView:
        rules = self.ctx.rules
        if items:
            return await item_lines(session, items, rules.currency, rules.max_line_quantity)
        return await load_cart(session, customer_id, rules.currency)


def _items(raw: list[list[int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(pid), int(qty)) for pid, qty in raw)


def _address(filled: FormOrder) -> AddressInput | None:
    """The form's answers as the shop's address: the state is the region (a municipality such
    as Shanghai has none of its own: then the city), both street lines on one line."""
    where = filled.address
    if where is None or not filled.name.strip() or not filled.phone.strip():
        return None
    try:
        phone = shared_phone(filled.phone)  # Telegram gives the digits, without "+"
    except InvalidInput:
        return None
    line = ", ".join(p.strip() for p in (where.street_line1, where.street_line2) if p.strip())
    return AddressInput(filled.name, phone, where.state.strip() or where.city.strip(),
                        where.city.strip(), line, where.post_code.strip())
