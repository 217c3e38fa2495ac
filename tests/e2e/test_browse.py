"""A customer browses, searches and fills the cart through the sandbox, in English and in Chinese.

The fixture fails the test if the sandbox refused any Bot API call the bot made (it validates
every request against the Bot API spec and Telegram's limits).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from models import CartLine, Product, Stock
from sandbox.client import TINY_PNG
from tests.e2e.harness import ShopUnderTest
from tests.e2e.steps import WAIT, deleted, edited, new_message, press


async def cart_of(shop: ShopUnderTest) -> list[tuple[int, int]]:
    """(product id, quantity) of every cart line."""
    async with shop.services.ctx.db.read() as s:
        return [(p, q) for p, q in await s.execute(
            select(CartLine.product_id, CartLine.quantity).order_by(CartLine.id))]


async def more_products(shop: ShopUnderTest, count: int) -> None:
    """Enough products in the shop's one category for three pages."""
    async with shop.services.ctx.db.write() as s:
        category_id = (await s.get(Product, shop.data.tea)).category_id  # type: ignore[union-attr]
        extra = [Product(sku=f"E2E-{i}", category_id=category_id, name_en=f"Extra item {i}",
                         name_zh=f"额外商品{i}", price=100 + i) for i in range(count)]
        s.add_all(extra)
        await s.flush()
        s.add_all(Stock(product_id=p.id, warehouse_id=shop.data.sh, on_hand=3) for p in extra)


async def test_customer_browses_and_fills_the_cart(shop: ShopUnderTest, tmp_path: Path) -> None:
    photo = tmp_path / "tea.png"
    photo.write_bytes(TINY_PNG)
    async with shop.services.ctx.db.write() as s:
        await s.execute(update(Product).where(Product.id == shop.data.tea).values(
            photos=[str(photo)], description_en="Spring leaves & <b>not bold</b> " * 100))
    await more_products(shop, 8)
    li = shop.customer("Li")
    await li.command("/start")
    await li.wait_for_message(WAIT)

    await li.click("🛍 Catalog")
    shelves = await new_message(li, "Choose a category")
    await press(li, "Home (13)")
    listing = await edited(li, shelves.message_id, "page 1/3")  # the shelves become the list
    await press(li, "▶")
    await edited(li, listing.message_id, "page 2/3")
    await press(li, "◀")
    await edited(li, listing.message_id, "page 1/3")

    await press(li, "Green tea · CN¥50.00")  # the list becomes the photo card
    card = await edited(li, listing.message_id, "Green tea")
    assert "photo" in card and len(card.text or "") <= 1024 and "<b>not bold</b>" in (card.text or "")
    assert (await press(li, "Add 2", card.message_id)).text == "Added 2 × Green tea"
    await new_message(li, "Your cart: 2 items, CN¥100.00")
    await press(li, "◀ Back to the list", card.message_id)  # a photo cannot become the list:
    listing = await new_message(li, "page 1/3")  # the list comes new and the card goes
    await deleted(li, card.message_id)
    await press(li, "Mug · CN¥25.00", listing.message_id)
    mug = await edited(li, listing.message_id, "Mug")  # no photo: a text card in place
    await press(li, "🛒 Add to cart", mug.message_id)

    await press(li, "🛒 Cart", mug.message_id)
    cart = await edited(li, mug.message_id, "Subtotal")
    assert "2 × CN¥50.00 = CN¥100.00" in (cart.text or "") and "CN¥125.00" in (cart.text or "")
    await press(li, "➕", cart.message_id)
    await edited(li, cart.message_id, "3 × CN¥50.00 = CN¥150.00")
    buttons = list(cart.callback_data)
    await press(li, "🗑", cart.message_id)
    await edited(li, cart.message_id, "Subtotal: CN¥25.00")  # the first line, the tea, is gone
    assert "✅ Checkout" in buttons and "🛍 Continue shopping" in buttons
    assert await cart_of(shop) == [(shop.data.mug, 1)]

    await press(li, "➕", cart.message_id)
    await edited(li, cart.message_id, "2 × CN¥25.00")
    await press(li, "🧹 Clear", cart.message_id)
    await edited(li, cart.message_id, "Your cart is empty")
    assert await cart_of(shop) == []
    assert shop.refused_requests() == []


async def test_beyond_stock_and_stale_buttons_over_real_http(shop: ShopUnderTest) -> None:
    li = shop.customer("Li")
    await li.command("/cart")
    await new_message(li, "Your cart is empty")
    await li.command("/search", "last")
    results = await new_message(li, "Results for “last”: 1")
    await press(li, "Last scarf")
    card = await edited(li, results.message_id, "Only 1 left")  # the results became the card
    await press(li, "🛒 Add to cart", card.message_id)
    note = await new_message(li, "Your cart: 1 item")
    await press(li, "🛒 Cart", note.message_id)
    cart = await edited(li, note.message_id, "Subtotal")  # the note became the cart
    answer = await press(li, "➕", cart.message_id)
    assert answer.show_alert and "only 1 in stock" in (answer.text or "")
    async with shop.services.ctx.db.write() as s:  # taken off sale while on screen
        await s.execute(update(Product).where(Product.id == shop.data.last).values(active=False))
    answer = await press(li, "🛒 Add to cart", card.message_id)
    assert answer.show_alert and "no longer available" in (answer.text or "")
    assert await cart_of(shop) == [(shop.data.last, 1)]
    assert shop.refused_requests() == []


async def test_chinese_customer_searches_and_adds(shop: ShopUnderTest) -> None:
    wang = shop.customer("王", language_code="zh-hans")
    await wang.command("/start")
    await wang.wait_for_message(WAIT)
    await wang.click("🔍 搜索")
    await new_message(wang, "您想找什么")
    await wang.send_photo()
    await new_message(wang, "请以文字发送")
    await wang.send("x" * 5000)
    await new_message(wang, "1 到 100 个字")
    await wang.send("🍵")
    await new_message(wang, "没有找到")
    await wang.send("绿茶")
    results = await new_message(wang, "“绿茶”的搜索结果：共 1 件")
    await press(wang, "绿茶 · ¥50.00")
    card = await edited(wang, results.message_id, "有货")  # the results become the card
    assert "有货" in (card.text or "")
    assert (await press(wang, "加购 3 件", card.message_id)).text == "已加入 3 × 绿茶"
    note = await new_message(wang, "购物车：共 3 件，¥150.00")
    await press(wang, "🛒 购物车", note.message_id)
    cart = await edited(wang, note.message_id, "我的购物车")  # the note becomes the cart
    assert "3 × ¥50.00 = ¥150.00" in (cart.text or "")
    await press(wang, "➖", cart.message_id)
    await edited(wang, cart.message_id, "2 × ¥50.00 = ¥100.00")
    await press(wang, "🛍 继续购物", cart.message_id)
    await edited(wang, cart.message_id, "请选择分类")
    await press(wang, "家居（5）", cart.message_id)
    await edited(wang, cart.message_id, "第 1/1 页")
    await press(wang, "售罄帽子 · 已售罄")
    hat = await edited(wang, cart.message_id, "暂时缺货")
    assert (await press(wang, "🔔 到货通知我", hat.message_id)).text == "🔔 好的！商品一到货我就通知您。"
    assert await cart_of(shop) == [(shop.data.tea, 2)]
    assert shop.refused_requests() == []
