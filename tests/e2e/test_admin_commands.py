"""The merchant's commands in the admin group, through the sandbox and the real aiogram bot.

The merchant types commands and sends files as in Telegram; the database is checked afterwards.
The fixture fails a test if the sandbox refused any Bot API call the bot made.
"""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from models import Order, Product, Stock
from sandbox.client import SandboxChat, SandboxMessage
from services.inventory import stock
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import WAIT, edited, new_message, press
from tests.shop import buyer, pay, place

HEADER = "sku,category_slug,category_name_en,category_name_zh,name_en,name_zh,price,warehouse,on_hand"


def merchant(shop: ShopUnderTest) -> SandboxChat:
    """The merchant's view of the admin group."""
    return shop.admin_chat.as_user(shop.merchant)


async def with_photo(chat: SandboxChat) -> SandboxMessage:
    """The next bot message that is a photo."""
    return await chat.wait_for_message(WAIT, lambda m: "photo" in m)


async def on_hand(shop: ShopUnderTest, product_id: int, warehouse_id: int) -> int:
    async with shop.services.ctx.db.read() as s:
        row = await s.get(Stock, (product_id, warehouse_id))
        return row.on_hand if row else 0


async def test_order_of_an_unknown_number(shop: ShopUnderTest) -> None:
    boss = merchant(shop)
    await boss.command("/order", "999999999999")
    await new_message(boss, "There is no order No. 999999999999")


@pytest.mark.usefixtures("framework")  # files up and down: on both frameworks
async def test_catalog_bad_row_then_good_file(shop: ShopUnderTest) -> None:
    boss = merchant(shop)
    await boss.command("/catalog")
    await new_message(boss, "Send the catalog as a CSV file")
    bad = f"{HEADER}\nTEA-1,home,,,Green tea,绿茶,66.00,SH,30\nPEN-1,home,,,Pen,笔,1.234,SH,5\n"
    await boss.send_document(bad.encode(), "catalog.csv", mime_type="text/csv")
    refused = await new_message(boss, "Nothing was imported")
    assert "Line 3, price: not a price like 12.50" in (refused.text or "")
    assert await on_hand(shop, shop.data.tea, shop.data.sh) == 10
    async with shop.services.ctx.db.read() as s:
        assert await s.scalar(select(Product.price).where(Product.sku == "TEA-1")) == 5000
        assert await s.scalar(select(func.count(Product.id)).where(Product.sku == "PEN-1")) == 0
    good = "\ufeff" + bad.replace("1.234", "12.34")
    await boss.send_document(good.encode(), "catalog.csv", mime_type="text/csv")
    await new_message(boss, "Rows read: 2. Products added: 1, changed: 1.")
    assert await on_hand(shop, shop.data.tea, shop.data.sh) == 30
    async with shop.services.ctx.db.read() as s:
        assert await s.scalar(select(Product.price).where(Product.sku == "PEN-1")) == 1234


async def test_neworder_reaches_the_customers_my_orders(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(WAIT)
    # Li bought before with her phone +86 138 0013 8000 on the delivery address.
    await place(shop.services, await buyer(shop.services, li.user.id), {shop.data.tea: 1})
    boss = merchant(shop)
    await boss.command("/neworder")
    await new_message(boss, "The customer's name?")
    answers = [("Li Lei", "phone number"), ("138 0013 8000", "province"), ("Shanghai", "city"),
               ("Shanghai", "street address"), ("88 Nanjing Road", "postcode")]
    for answer, next_question in answers:
        sent = await boss.send(answer)  # the question's force_reply: the app replies to it
        assert sent.get("reply_to_message", {}).get("from", {}).get("id") == shop.sandbox.bot_id
        await new_message(boss, next_question)
    await boss.command("/skip")  # no postcode
    await new_message(boss, "one per line")
    await boss.send("MUG-1 2")
    form = (await new_message(boss, "Mug × 2")).message_id
    for button, then in (("✅ Done", "the delivery?"), ("Standard delivery", "how does the customer pay"),
                         ("💵 Cash on delivery", "Please check the order")):
        await press(boss, button, form)
        await edited(boss, form, then)
    await press(boss, "✅ Confirm and place the order", form)
    placed = await new_message(boss, "📦")  # the new order's card
    async with shop.services.ctx.db.read() as s:
        order = await s.scalar(select(Order).where(Order.channel == "phone"))
    assert order is not None and order.status == "awaiting_review"
    assert order.number in (placed.text or "")
    await shop.send_outbox()
    await li.command("/orders")
    listing = await new_message(li, "Tap an order")
    assert any(order.number in label for label in listing.buttons)


@pytest.mark.usefixtures("framework")  # files up and down: on both frameworks
async def test_stats_text_and_png_chart(shop: ShopUnderTest) -> None:
    svc = shop.services
    placed = await place(svc, await buyer(svc, shop.customer("Li").user.id), {shop.data.tea: 1})
    await pay(svc, placed)
    boss = merchant(shop)
    await boss.command("/stats", "7d")
    text = await new_message(boss, "Figures for")
    assert "On-time shipping" in (text.text or "") and "Order accuracy" in (text.text or "")
    photo = await with_photo(boss)
    file_id = photo["photo"][-1]["file_id"]
    record = shop.sandbox.server.state.files.get(file_id)
    assert record is not None and record.data.startswith(b"\x89PNG")


@pytest.mark.usefixtures("framework")  # files up and down: on both frameworks
async def test_settlement_csv(shop: ShopUnderTest) -> None:
    boss = merchant(shop)
    await boss.command("/settlement", "month")
    await new_message(boss, "Settlement")
    message = await boss.wait_for_message(WAIT, lambda m: m.document is not None)
    document = next(d for d in boss.documents if d["file_id"] == message.document["file_id"])
    assert document["file_name"].endswith(".csv")
    rows = list(csv.reader(io.StringIO(document["content"].decode("utf-8-sig"))))
    assert rows[0][:2] == ["order_number", "completed_at"] and rows[-1][0] == "TOTAL"


async def test_restock_moves_an_out_of_stock_order(shop: ShopUnderTest) -> None:
    svc = shop.services
    placed = await place(svc, await buyer(svc, shop.customer("Li").user.id), {shop.data.last: 1})
    async with svc.ctx.db.write() as s:  # the last scarf was found damaged before payment
        await stock.release(s, placed.id, svc.ctx.clock.now())
        row = await s.get(Stock, (shop.data.last, shop.data.sh))
        assert row is not None
        row.on_hand = 0
    assert (await pay(svc, placed)).status == "out_of_stock"
    boss = merchant(shop)
    await boss.command("/restock", "LAST-1 SH 2")
    done = await new_message(boss, "Added 2 × LAST-1 to SH")
    assert placed.number in (done.text or "")
    assert (await svc.orders.detail(placed.id)).status == "awaiting_review"


async def test_a_non_admin_in_the_admin_group_is_refused(shop: ShopUnderTest) -> None:
    eve = shop.customer("Eve").in_chat(shop.admin_chat)
    await eve.command("/restock", "TEA-1 SH 50")
    await new_message(eve, "only the shop's admins")
    await eve.command("/catalog")
    await new_message(eve, "only the shop's admins")
    await eve.send_document(f"{HEADER}\nTEA-1,home,,,T,茶,1,SH,99\n".encode(), "c.csv",
                            mime_type="text/csv")
    assert await on_hand(shop, shop.data.tea, shop.data.sh) == 10
    async with shop.services.ctx.db.read() as s:
        assert await s.scalar(select(Product.price).where(Product.sku == "TEA-1")) == 5000
