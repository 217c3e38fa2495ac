"""The admin chat's commands through the conversation core: every command and its bad inputs.

Events come from the admin group (a supergroup whose id is the shop's admin chat), sent by an
admin; a stranger in the same group is refused and changes nothing.
"""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.events import Event, SendDocument, SendPhoto
from handlers.router import Conversation
from handlers.turn import Settings
from models import Customer, Order, Product, Stock, StockSubscription
from services.container import Services, build_services
from services.inventory import stock
from services.orders.dto import PlacedOrder
from tests.conftest import ADMIN_CHAT
from tests.handlers.chat import CoreChat, _message_ids, _update_ids
from tests.shop import ShopData, buyer, pay, place

ADMIN, STRANGER = 9001, 9003
SETTINGS = Settings(shop_name="Test Shop", admin_user_ids=frozenset({ADMIN}),
                    admin_chat_id=ADMIN_CHAT, telegram_provider_token="TEST:provider")
HEADER = ("sku,category_slug,category_name_en,category_name_zh,name_en,name_zh,price,"
          "warehouse,on_hand")
# Parsing typed arguments is the same on every database: those many cases run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class AdminChat(CoreChat):
    """One person in the admin group."""

    def _event(self, kind: str, **fields: Any) -> Event:
        return Event(kind=kind, update_id=next(_update_ids), user=self.user,  # type: ignore[arg-type]
                     chat_id=ADMIN_CHAT, chat_type="supergroup", message_id=next(_message_ids),
                     **fields)

    async def send_document(self, data: bytes | None, name: str = "catalog.csv") -> None:
        """A file, as the runtime hands it over (bytes None: too big or not downloadable)."""
        await self.deliver(self._event("document", file_id="file-1", file_name=name,
                                       file_bytes=data))

    @property
    def documents(self) -> list[SendDocument]:
        """Files the bot sent in the last turn."""
        return [r for r in self.last if isinstance(r, SendDocument)]

    @property
    def all_text(self) -> str:
        """Every text of the last turn."""
        return "\n".join(self.texts)


@pytest.fixture
def conversation(svc: Services) -> Conversation:
    return Conversation(svc, SETTINGS)


@pytest.fixture
def admin(conversation: Conversation, shop: ShopData) -> AdminChat:
    return AdminChat(conversation, ADMIN, "Boss")


async def paid(svc: Services, items: dict[int, int], telegram_id: int = 1001) -> PlacedOrder:
    placed = await place(svc, await buyer(svc, telegram_id), items)
    await pay(svc, placed)
    return placed


def button_data(chat: CoreChat, label: str) -> str:
    """The callback data of the newest button whose text contains `label`."""
    for reply in reversed(list(chat.messages.values())):
        keyboard = getattr(reply, "keyboard", None)
        for row in getattr(keyboard, "rows", ()):
            for button in row:
                if label in button.text and button.data:
                    return str(button.data)
    raise AssertionError(f"no button {label!r}")


async def on_hand(svc: Services, product_id: int, warehouse_id: int) -> int:
    async with svc.ctx.db.read() as s:
        row = await s.get(Stock, (product_id, warehouse_id))
        return row.on_hand if row else 0


# /help and strangers ---------------------------------------------------------------------------
async def test_help_lists_every_command(admin: AdminChat) -> None:
    await admin.command("/help")
    for command in ("/orders", "/order", "/find", "/stock", "/restock", "/neworder", "/catalog",
                    "/stats", "/settlement", "/slip"):
        assert command in admin.last_text
    await admin.command("/whatever")
    assert "/neworder" in admin.last_text


async def test_a_stranger_in_the_admin_group_is_refused(conversation: Conversation, svc: Services,
                                                        shop: ShopData) -> None:
    stranger = AdminChat(conversation, STRANGER, "Mallory")
    for text in ("/restock TEA-1 SH 5", "/neworder", "/catalog", "/orders", "/stats"):
        await stranger.command(text)
        assert "only for the shop's admins" in stranger.last_text or "admin" in stranger.last_text
    await stranger.send_document(f"{HEADER}\nTEA-1,home,,,T,茶,1,SH,99\n".encode())
    await stranger.press("anf:confirm")
    assert stranger.answers and stranger.answers[0].alert
    assert await on_hand(svc, shop.tea, shop.sh) == 10
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(Product.price).where(Product.sku == "TEA-1")) == 5000


# /orders, /order, /find ------------------------------------------------------------------------
async def test_orders_list_pages_and_opens(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = [await place(svc, await buyer(svc, 2000 + i), {shop.mug: 1}) for i in range(3)]
    await paid(svc, {shop.tea: 1})
    for i in range(9):
        await place(svc, await buyer(svc, 3000 + i), {shop.tea: 1})
    await admin.command("/orders")
    assert "All orders" in admin.last_text and "page 1 of 2" in admin.last_text
    await admin.click("▶️")
    assert "page 2 of 2" in admin.last_text and placed[0].number in admin.last_text
    await admin.click(placed[0].number)
    assert f"Order No. {placed[0].number}" in admin.last_text
    await admin.command("/orders awaiting review")
    assert "Orders: Awaiting review" in admin.last_text and admin.last_text.count("No. ") == 1
    await admin.command("/orders 待付款")
    assert "Orders: Awaiting payment" in admin.last_text
    await admin.command("/orders shipped")
    assert "none yet" in admin.last_text


async def test_orders_unknown_status_lists_the_valid_ones(admin: AdminChat) -> None:
    await admin.command("/orders <b>lost</b>")
    assert "There is no order status “&lt;b&gt;lost&lt;/b&gt;”" in admin.last_text
    assert "awaiting_shipment (Awaiting shipment)" in admin.last_text


@SQLITE_ONLY
async def test_forged_list_buttons(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    for data in ("acl:99:0", "acl:0:99999", "aco:999999", "aco:-1", "acl:x:y", "acl:" + "9" * 60):
        await admin.press(data)
        assert admin.answers, data
    await admin.press("aco:424242")
    assert "could not find that order" in admin.answers[0].text


async def test_order_by_number(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = await paid(svc, {shop.tea: 2})
    await admin.command(f"/order {placed.number}")
    assert f"Order No. {placed.number}" in admin.last_text and "2 × Green tea" in admin.last_text
    assert "Confirm" in " ".join(admin.buttons())  # the card, with the actions its state allows


@SQLITE_ONLY
@pytest.mark.parametrize("arg", ["99999", "<script>", "1" * 20, "🙂"])
async def test_order_of_an_unknown_number(admin: AdminChat, arg: str) -> None:
    await admin.command(f"/order {arg}")
    assert admin.last_text.startswith("There is no order No.")
    assert "<script>" not in admin.last_text


@SQLITE_ONLY
@pytest.mark.parametrize("arg", ["", "1" * 21, "a b", "x" * 5000])
async def test_order_usage(admin: AdminChat, arg: str) -> None:
    await admin.command(f"/order {arg}")
    assert "Usage: /order" in admin.last_text


async def test_find_by_phone_and_name(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.tea: 1})
    await admin.command("/find 0013 8000")
    assert placed.number in admin.last_text
    await admin.command("/find li lei")
    assert placed.number in admin.last_text
    await admin.click(placed.number)
    assert f"Order No. {placed.number}" in admin.last_text
    await admin.command("/find nobody%_")
    assert "No orders match" in admin.last_text
    for bad in ("", "x" * 5000):
        await admin.command(f"/find {bad}")
        assert "Usage: /find" in admin.last_text


# /stock, /restock ------------------------------------------------------------------------------
async def test_stock_per_warehouse(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    await place(svc, await buyer(svc), {shop.mug: 2})
    await admin.command("/stock MUG-1")
    text = admin.last_text
    assert "SH Shanghai: 5 on hand, 2 reserved, <b>3 available</b>" in text
    assert "GD Guangzhou: 5 on hand, 0 reserved" in text
    await admin.command("/stock NOPE")
    assert "no product with SKU “NOPE”" in admin.last_text and "Usage: /stock" in admin.last_text
    await admin.command("/stock")
    assert "Usage: /stock" in admin.last_text


async def test_restock_moves_an_out_of_stock_order_and_tells_subscribers(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = await place(svc, await buyer(svc), {shop.last: 1})
    async with svc.ctx.db.write() as s:
        await stock.release(s, placed.id, svc.ctx.clock.now())
        row = await s.get(Stock, (shop.last, shop.sh))
        assert row is not None
        row.on_hand = 0
    assert (await pay(svc, placed)).status == "out_of_stock"
    fan = await buyer(svc, 1500)
    await svc.inventory.subscribe(fan.id, shop.last)
    await admin.command("/restock LAST-1 SH 3")
    text = admin.last_text
    assert "Added 3 × LAST-1 to SH: 3 on hand there now." in text
    assert f"allocated: {placed.number}" in text and "back in stock: 1" in text
    assert (await svc.orders.detail(placed.id)).status == "awaiting_review"
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(StockSubscription.notified_at)) is not None


@SQLITE_ONLY
@pytest.mark.parametrize("args", [
    "", "TEA-1", "TEA-1 SH", "TEA-1 SH 0", "TEA-1 SH -1", "TEA-1 SH abc", f"TEA-1 SH {10**9}",
    "TEA-1 SH 1.5", "TEA-1 SH ５", "TEA-1 SH 1 2", "NOPE SH 1", "TEA-1 XX 1", "x" * 5000 + " SH 1",
    "🙂 SH 1",
])
async def test_restock_bad_arguments_change_nothing(admin: AdminChat, svc: Services,
                                                    shop: ShopData, args: str) -> None:
    await admin.command(f"/restock {args}")
    assert "Usage: /restock &lt;sku&gt; &lt;warehouse&gt; &lt;qty&gt;" in admin.last_text
    assert await on_hand(svc, shop.tea, shop.sh) == 10


async def test_restock_names_the_unknown_part(admin: AdminChat) -> None:
    await admin.command("/restock NOPE SH 1")
    assert "no product with SKU “NOPE”" in admin.last_text
    await admin.command("/restock TEA-1 XX 1")
    assert "no warehouse “XX”" in admin.last_text
    await admin.command("/restock TEA-1 SH 0")
    assert "whole number from 1 to 1000000" in admin.last_text


# /catalog --------------------------------------------------------------------------------------
async def test_catalog_good_file_is_applied(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    await admin.command("/catalog")
    assert "CSV" in admin.last_text
    data = "\ufeff" + HEADER + "\nTEA-1,home,,,Green tea,绿茶,60.00,SH,25\nPEN-1,office,Office,办公,Pen,笔,3,GD,9\n"
    await admin.send_document(data.encode())
    assert "Rows read: 2. Products added: 1, changed: 1." in admin.last_text
    assert await on_hand(svc, shop.tea, shop.sh) == 25
    await admin.send_document(data.encode())  # the step is over: a file now is just a file
    assert admin.last == []


async def test_catalog_bad_row_reports_its_line_and_changes_nothing(
        admin: AdminChat, svc: Services, shop: ShopData) -> None:
    await admin.command("/catalog")
    data = f"{HEADER}\nTEA-1,home,,,Green tea,绿茶,60.00,SH,25\nPEN-1,home,,,<b>Pen</b>,笔,abc,SH,1\n"
    await admin.send_document(data.encode())
    text = admin.last_text
    assert "Nothing was imported" in text and "Line 3, price: not a price like 12.50" in text
    assert await on_hand(svc, shop.tea, shop.sh) == 10
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Product.id)).where(Product.sku == "PEN-1")) == 0
    # Still waiting: the fixed file goes through.
    await admin.send_document(data.replace(",abc,", ",4,").encode())
    assert "Catalog updated. Rows read: 2." in admin.last_text


@SQLITE_ONLY
@pytest.mark.parametrize(("data", "words"), [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "this is not a CSV text file"),
    (None, "could not read that file"),
    (b"name,colour\nx,y\n", "Line 1, colour: unknown column"),
    (b"sku,category_slug,name_en,name_zh,price,<i>x</i>\n", "Line 1, &lt;i&gt;x&lt;/i&gt;: unknown column"),
])
async def test_catalog_not_a_catalog(admin: AdminChat, data: bytes | None, words: str) -> None:
    await admin.command("/catalog")
    await admin.send_document(data, "photo.png")
    assert words in admin.last_text


async def test_catalog_text_instead_of_a_file_and_cancel(admin: AdminChat) -> None:
    await admin.command("/catalog")
    await admin.send("here it comes")
    assert "as a file" in admin.last_text
    await admin.command("/cancel")
    assert "cancelled" in admin.last_text
    await admin.press("acat:cancel")
    assert admin.answers[0].alert


async def test_catalog_5000_rows(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    rows = [f"B-{i},bulk,Bulk,批量,Item {i},商品{i},{i}.50,SH,{i % 7}" for i in range(5000)]
    await admin.command("/catalog")
    await admin.send_document(("\n".join([HEADER, *rows]) + "\n").encode())
    assert "Rows read: 5000. Products added: 5000," in admin.last_text


# /stats, /settlement, /slip --------------------------------------------------------------------
async def test_stats_text_and_chart(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = await paid(svc, {shop.tea: 1})
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "sandbox", "SF1")
    await admin.command("/stats 7d")
    text = admin.all_text
    assert "On-time shipping: <b>100.0%</b>" in text and "Order accuracy" in text
    assert "After-sales satisfaction: <b>n/a</b>" in text and "¥60.00 paid" in text
    assert "(paid orders: 1, average CN¥60.00)" in text  # never "1 paid orders"
    photos = [r for r in admin.last if isinstance(r, SendPhoto)]
    assert len(photos) == 1 and photos[0].content is not None
    assert photos[0].content.startswith(b"\x89PNG") and photos[0].photo == "stats.png"


@SQLITE_ONLY
@pytest.mark.parametrize("period", ["today", "30d", "month", "2026-01-01..2026-01-31", "2026-01-05"])
async def test_stats_periods(admin: AdminChat, period: str) -> None:
    await admin.command(f"/stats {period}")
    assert "Figures for" in admin.all_text


@SQLITE_ONLY
@pytest.mark.parametrize("period", ["yesterday", "0d", "9999d", "2026-02-30", "2026-02-01..2026-01-01",
                                    "2020-01-01..2026-01-01", "x" * 5000, "🙂"])
async def test_stats_bad_period(admin: AdminChat, period: str) -> None:
    await admin.command(f"/stats {period}")
    assert "Usage: /stats" in admin.last_text
    assert not any(isinstance(r, SendPhoto) for r in admin.last)


async def test_settlement_csv_and_summary(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = await paid(svc, {shop.tea: 1})
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.ship(placed.id, "admin:1", "sandbox", "SF1")
    await svc.orders.mark_delivered(placed.id, "admin:1")
    await svc.orders.confirm_receipt((await svc.orders.detail(placed.id)).customer_id, placed.id)
    await admin.command("/settlement today")
    assert "Completed orders: 1" in admin.all_text and "Net:" in admin.all_text
    [document] = admin.documents
    assert document.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
    assert rows[0][0] == "order_number" and rows[1][0] == placed.number and rows[-1][0] == "TOTAL"
    await admin.command("/settlement")
    assert "Usage: /settlement" in admin.last_text and not admin.documents


async def test_slip_of_a_packed_order(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    placed = await paid(svc, {shop.mug: 7})  # five from SH and two from GD: two parcels
    await admin.command(f"/slip {placed.number}")
    assert "is not packed yet" in admin.last_text and not admin.documents
    await svc.orders.confirm(placed.id, "admin:1")
    await svc.orders.pack(placed.id, "admin:1")
    await admin.command(f"/slip {placed.number}")
    assert [d.content[:5] for d in admin.documents] == [b"%PDF-"] * 2
    for bad in ("", "nope", "x" * 5000):
        await admin.command(f"/slip {bad}")
        assert "Usage: /slip" in admin.last_text or "There is no order" in admin.last_text


# /neworder -------------------------------------------------------------------------------------
async def fill_form(admin: AdminChat, phone: str = "139 1234 5678") -> None:
    """Everything up to the review."""
    await admin.command("/neworder")
    for answer in ("Wang Fang", phone, "Shanghai", "Shanghai", "1 Huaihai Road"):
        await admin.send(answer)
    await admin.command("/skip")  # the postcode
    await admin.send("TEA-1 2\nMUG-1")
    assert "Green tea × 2" in admin.all_text and "Mug × 1" in admin.all_text
    await admin.click("Done")
    await admin.click("Standard delivery")
    await admin.click("Cash on delivery")
    assert "Please check the order" in admin.last_text and "Total: CN¥135.00" in admin.last_text


async def test_neworder_end_to_end_once(admin: AdminChat, svc: Services, shop: ShopData) -> None:
    await fill_form(admin)
    confirm = button_data(admin, "Confirm")
    await admin.click("Confirm")
    assert "placed for Wang Fang" in admin.all_text
    async with svc.ctx.db.read() as s:
        order = await s.scalar(select(Order))
        assert order is not None and (order.channel, order.status) == ("phone", "awaiting_review")
    assert order.number in admin.all_text
    await admin.press(confirm)  # a double click
    assert "already placed" in admin.answers[0].text
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Order.id))) == 1


async def test_neworder_for_a_bot_customer_shows_in_their_orders(
        admin: AdminChat, conversation: Conversation, svc: Services, shop: ShopData) -> None:
    li = CoreChat(conversation, 1001)
    await li.command("/start")
    await place(svc, await buyer(svc, 1001), {shop.tea: 1})  # their address: +86 138 0013 8000
    await fill_form(admin, phone="13800138000")
    await admin.click("Confirm")
    assert "uses this bot" in admin.all_text
    await li.command("/orders")
    async with svc.ctx.db.read() as s:
        number = await s.scalar(select(Order.number).where(Order.channel == "phone"))
    assert number and number in " ".join(li.buttons())


@SQLITE_ONLY
@pytest.mark.parametrize(("step_answers", "error"), [
    (("",), "recipient's name"),
    (("x" * 5000,), "recipient's name"),
    (("Wang", "12"), "valid phone number"),
    (("Wang", "🙂🙂🙂"), "valid phone number"),
    (("Wang", "13912345678", "Shanghai", "Shanghai", "x"), "street address"),
])
async def test_neworder_bad_fields_are_asked_again(admin: AdminChat, step_answers: tuple[str, ...],
                                                   error: str) -> None:
    await admin.command("/neworder")
    for answer in step_answers:
        await admin.send(answer)
    assert error in admin.last_text


@SQLITE_ONLY
@pytest.mark.parametrize(("items", "error"), [
    ("NOPE-1 1", "no product with SKU “NOPE-1”"),
    ("TEA-1 0", "quantity between 1 and 99"),
    ("TEA-1 100", "quantity between 1 and 99"),
    ("TEA-1 -1", "could not read “TEA-1 -1”"),
    ("TEA-1 two", "could not read"),
    ("TEA-1 60\nTEA-1 60", "quantity between 1 and 99"),
    ("x" * 5000, "could not read"),
])
async def test_neworder_bad_items(admin: AdminChat, svc: Services, items: str, error: str) -> None:
    await admin.command("/neworder")
    for answer in ("Wang Fang", "13912345678", "Shanghai", "Shanghai", "1 Huaihai Road", "200000"):
        await admin.send(answer)
    await admin.send(items)
    assert error in admin.last_text
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Order.id))) == 0


async def test_neworder_cancel_and_stale_buttons(admin: AdminChat, svc: Services) -> None:
    await admin.command("/neworder")
    await admin.command("/cancel")
    assert "nothing was placed" in admin.last_text
    for data in ("anf:confirm", "anf:done", "and:0", "anp:cod", "and:99", "anp:bitcoin"):
        await admin.press(data)
        assert admin.answers and admin.answers[0].alert, data
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count(Customer.id))) == 0


async def test_neworder_express_offers_no_cash(admin: AdminChat) -> None:
    await admin.command("/neworder")
    for answer in ("Wang Fang", "13912345678", "Shanghai", "Shanghai", "1 Huaihai Road", "200000",
                   "TEA-1 1"):
        await admin.send(answer)
    await admin.click("Done")
    await admin.click("Express delivery")
    assert "Cash on delivery" not in admin.buttons()[:2] and "🔗 Payment link" in admin.buttons()
    await admin.press("anp:cod")  # forged: there is no such button
    assert admin.answers[0].alert
    await admin.click("Payment link")
    await admin.click("Confirm")
    assert "placed for Wang Fang" in admin.all_text


async def test_neworder_link_for_a_backorder(admin: AdminChat, svc: Services) -> None:
    await admin.command("/neworder")
    for answer in ("Wang Fang", "13912345678", "Shanghai", "Shanghai", "1 Huaihai Road", "200000",
                   "GONE-1 1"):
        await admin.send(answer)
    assert "only 0 in stock" in admin.all_text
    await admin.click("Done")
    await admin.click("Standard delivery")
    await admin.click("Payment link")
    await admin.click("Confirm")
    assert "Not enough stock" in admin.all_text and "http://pay.test" in admin.all_text


# in Chinese ------------------------------------------------------------------------------------
async def test_commands_speak_the_admin_language(svc: Services, shop: ShopData) -> None:
    chinese = build_services(replace(svc.ctx, rules=replace(svc.ctx.rules, admin_language="zh_CN")))
    admin = AdminChat(Conversation(chinese, SETTINGS), ADMIN, "老板")
    await admin.command("/help")
    assert "管理群命令" in admin.last_text
    await admin.command("/orders 不存在")
    assert "没有“不存在”这个订单状态" in admin.last_text and "待发货" in admin.last_text
    await admin.command("/restock TEA-1 SH abc")
    assert "用法：/restock" in admin.last_text
    await admin.command("/catalog")
    await admin.send_document(f"{HEADER}\nTEA-1,home,,,绿茶,绿茶,1.5.0,SH,1\n".encode())
    assert "第 2 行，price：价格格式不正确" in admin.last_text
    await admin.command("/stats today")
    assert "按时发货率" in admin.all_text
    [photo] = [r for r in admin.last if isinstance(r, SendPhoto)]
    assert photo.content and photo.content.startswith(b"\x89PNG")  # drawn even without CJK fonts
