"""Customers: created on first contact, their language, their saved addresses."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Address, Customer
from services.context import ServiceContext
from services.errors import InvalidInput
from services.validation import clean_text

LANGUAGES = ("en", "zh_CN")


@dataclass(frozen=True)
class CustomerView:
    """A customer as the conversation knows them."""

    id: int
    telegram_id: int | None
    name: str
    language: str
    phone: str | None


@dataclass(frozen=True)
class AddressView:
    """A saved delivery address."""

    id: int
    recipient: str
    phone: str
    region: str
    city: str
    line: str
    postcode: str


def language_of(code: str | None) -> str:
    """Map a Telegram language_code (zh-hans, zh-CN, en-US ...) to a supported language."""
    return "zh_CN" if (code or "").lower().startswith("zh") else "en"


def view_of(c: Customer) -> CustomerView:
    """The view of a customer row."""
    return CustomerView(c.id, c.telegram_id, c.name, c.language, c.phone)


# Every checkout offers the saved addresses: built once.
_ADDRESSES = (select(Address.id, Address.recipient, Address.phone, Address.region, Address.city,
                     Address.line, Address.postcode)
              .where(Address.customer_id == bindparam("customer_id")).order_by(Address.id.desc()))


class CustomerService:
    """Who is shopping."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def ensure(
        self, telegram_id: int, name: str, username: str | None, language_code: str | None
    ) -> CustomerView:
        """The customer for a Telegram user, created on first contact."""
        async with self.ctx.db.read() as session:
            found = await session.scalar(
                select(Customer).where(Customer.telegram_id == telegram_id))
            if found is not None:
                return view_of(found)
        async with self.ctx.db.write() as session:
            return await self.ensure_in(session, telegram_id, name, username, language_code)

    async def ensure_in(
        self, session: AsyncSession, telegram_id: int, name: str, username: str | None,
        language_code: str | None,
    ) -> CustomerView:
        """`ensure` inside the caller's write transaction (the router's per-update bookkeeping)."""
        found = await session.scalar(select(Customer).where(Customer.telegram_id == telegram_id))
        if found is None:
            found = Customer(
                telegram_id=telegram_id, name=name[:128], username=(username or None),
                language=language_of(language_code), created_at=self.ctx.clock.now(),
            )
            session.add(found)
            await session.flush()
        return view_of(found)

    async def set_language(self, customer_id: int, language: str) -> CustomerView:
        """Switch the language the bot speaks to this customer."""
        if language not in LANGUAGES:
            raise InvalidInput(field="language", reason="unsupported")
        async with self.ctx.db.write() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise InvalidInput(field="customer_id", reason="bad_id")
            customer.language = language
            return view_of(customer)

    async def addresses(self, customer_id: int) -> list[AddressView]:
        """The customer's saved addresses, newest first."""
        async with self.ctx.db.read() as session:
            return [AddressView(*row) for row in await session.execute(
                _ADDRESSES, {"customer_id": customer_id})]

    async def rename(self, customer_id: int, name: str) -> CustomerView:
        """Change the name shown to the merchant."""
        clean = clean_text(name, "name", max_len=128)
        async with self.ctx.db.write() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise InvalidInput(field="customer_id", reason="bad_id")
            customer.name = clean
            return view_of(customer)
