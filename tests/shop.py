"""A small shop for service tests, and the customer's steps as one-line helpers."""
from __future__ import annotations

from dataclasses import dataclass

from models import Category, Product, Stock, Warehouse
from services.checkout import AddressInput, CheckoutRequest, new_checkout_key
from services.container import Services
from services.customers import CustomerView
from services.database import Database
from services.orders.dto import PlacedOrder
from services.payments.service import PaymentOutcome

ADDRESS = AddressInput("Li Lei", "+86 138 0013 8000", "Shanghai", "Shanghai", "88 Nanjing Road", "200001")


@dataclass(frozen=True)
class ShopData:
    """Ids of the seeded rows."""

    sh: int
    gd: int
    tea: int
    mug: int
    lamp: int
    last: int
    gone: int


async def seed_shop(db: Database) -> ShopData:
    """Two warehouses, one category, five products with known stock."""
    async with db.write() as s:
        sh = Warehouse(code="SH", name="Shanghai", region="Shanghai", latitude=31.23,
                       longitude=121.47, priority=1)
        gd = Warehouse(code="GD", name="Guangzhou", region="Guangdong", latitude=23.13,
                       longitude=113.26, priority=2)
        cat = Category(slug="home", name_en="Home", name_zh="家居")
        s.add_all([sh, gd, cat])
        await s.flush()

        def product(sku: str, en: str, zh: str, price: int) -> Product:
            return Product(sku=sku, category_id=cat.id, name_en=en, name_zh=zh, price=price,
                           description_en=f"A fine {en.lower()}", description_zh=f"好{zh}")

        tea, mug, lamp, last, gone = (
            product("TEA-1", "Green tea", "绿茶", 5000),
            product("MUG-1", "Mug", "马克杯", 2500),
            product("LAMP-1", "Desk lamp", "台灯", 150000),
            product("LAST-1", "Last scarf", "最后的围巾", 999),
            product("GONE-1", "Sold-out hat", "售罄帽子", 1000),
        )
        s.add_all([tea, mug, lamp, last, gone])
        await s.flush()
        s.add_all([
            Stock(product_id=tea.id, warehouse_id=sh.id, on_hand=10),
            Stock(product_id=mug.id, warehouse_id=sh.id, on_hand=5),
            Stock(product_id=mug.id, warehouse_id=gd.id, on_hand=5),
            Stock(product_id=lamp.id, warehouse_id=gd.id, on_hand=2),
            Stock(product_id=last.id, warehouse_id=sh.id, on_hand=1),
            Stock(product_id=gone.id, warehouse_id=sh.id, on_hand=0),
        ])
        return ShopData(sh.id, gd.id, tea.id, mug.id, lamp.id, last.id, gone.id)


async def buyer(svc: Services, telegram_id: int = 1001, language: str = "en") -> CustomerView:
    """A customer who has said /start."""
    return await svc.customers.ensure(telegram_id, f"Buyer {telegram_id}", None, language)


async def place(
    svc: Services,
    customer: CustomerView,
    items: dict[int, int],
    *,
    payment: str = "sandbox",
    delivery: str = "standard",
    key: str | None = None,
    address: AddressInput = ADDRESS,
) -> PlacedOrder:
    """Fill the cart with `items` and check out."""
    for product_id, qty in items.items():
        await svc.cart.add(customer.id, product_id, qty)
    request = CheckoutRequest(key or new_checkout_key(), delivery, payment, address=address)
    return await svc.checkout.place_order(customer.id, request)


async def pay(svc: Services, order: PlacedOrder | str, amount: int | None = None,
              charge_id: str = "") -> PaymentOutcome:
    """The sandbox payment page reports a capture, signed as the provider signs it."""
    provider = svc.ctx.payments.get("sandbox")
    number = order if isinstance(order, str) else order.number
    total = amount if amount is not None else (order.total if not isinstance(order, str) else 0)
    body = provider.event_body(number, total, "CNY", charge_id)  # type: ignore[attr-defined]
    return await svc.payment_inbox.handle_callback("sandbox", body, provider.sign(body))  # type: ignore[attr-defined]
