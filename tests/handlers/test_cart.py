"""The cart: − / + / 🗑 / clear edited in place, stock checked on each change, others' carts untouched."""
from __future__ import annotations

from sqlalchemy import update

from handlers.catalog import TEXT_LIMIT, telegram_len
from handlers.events import EditText, Inline, SendText
from handlers.router import Conversation
from models import Stock
from services.container import Services
from tests.handlers.chat import CoreChat
from tests.handlers.test_catalog import add_products, alert, cart_lines, shown
from tests.shop import ShopData, buyer


async def open_cart_with(chat: CoreChat, svc: Services, items: dict[int, int]) -> int:
    """Fill the customer's cart, open it with /cart; the cart message's id."""
    customer = await buyer(svc, chat.user.id)
    for product_id, qty in items.items():
        await svc.cart.add(customer.id, product_id, qty)
    await chat.command("/cart")
    return list(chat.messages)[-1]


async def test_empty_cart_offers_the_catalog(chat: CoreChat) -> None:
    await chat.command("/start")
    await chat.click("🛒 Cart")
    assert "Your cart is empty" in chat.last_text
    await chat.click("🛍 Categories")
    assert isinstance(shown(chat)[0], EditText) and "Choose a category" in chat.last_text


async def test_lines_totals_and_buttons(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await open_cart_with(chat, svc, {shop.tea: 2, shop.mug: 1})
    text = chat.last_text
    assert "1. <b>Green tea</b>" in text and "2 × CN¥50.00 = CN¥100.00" in text
    assert "2. <b>Mug</b>" in text and "1 × CN¥25.00 = CN¥25.00" in text
    assert "Subtotal: <b>CN¥125.00</b>" in text
    reply = shown(chat)[0]
    assert isinstance(reply, SendText) and isinstance(reply.keyboard, Inline)
    data = [b.data for row in reply.keyboard.rows for b in row]
    assert data[:4] == [f"dec:{shop.tea}", f"prod:{shop.tea}", f"inc:{shop.tea}", f"del:{shop.tea}"]
    assert data[-3:] == ["clear", "checkout", "cats"]
    assert "Green tea ×2" in chat.buttons()


async def test_plus_minus_delete_clear_edit_in_place(chat: CoreChat, svc: Services,
                                                     shop: ShopData) -> None:
    cart_id = await open_cart_with(chat, svc, {shop.tea: 2, shop.mug: 1})
    await chat.press(f"inc:{shop.tea}", cart_id)
    edit = shown(chat)[0]
    assert isinstance(edit, EditText) and edit.message_id == cart_id
    assert "3 × CN¥50.00 = CN¥150.00" in edit.text
    await chat.press(f"dec:{shop.mug}", cart_id)  # the last one leaves the cart
    assert "Mug" not in chat.last_text and "Subtotal: <b>CN¥150.00</b>" in chat.last_text
    assert await cart_lines(svc) == [(shop.tea, 3)]
    await chat.press(f"dec:{shop.tea}", cart_id)
    assert await cart_lines(svc) == [(shop.tea, 2)]
    await chat.press(f"del:{shop.tea}", cart_id)
    assert alert(chat) == "Removed Green tea" and "cart is empty" in chat.last_text
    await svc.cart.add((await buyer(svc, chat.user.id)).id, shop.mug, 4)
    await chat.press("clear", cart_id)
    assert isinstance(shown(chat)[0], EditText) and "cart is empty" in chat.last_text
    assert await cart_lines(svc) == []


async def test_plus_beyond_stock_is_refused_with_the_count(chat: CoreChat, svc: Services,
                                                           shop: ShopData) -> None:
    cart_id = await open_cart_with(chat, svc, {shop.last: 1, shop.tea: 10})
    for product_id, available in ((shop.last, 1), (shop.tea, 10)):
        await chat.press(f"inc:{product_id}", cart_id)
        assert f"only {available} in stock" in alert(chat) and chat.answers[0].alert
        assert not shown(chat)
    assert await cart_lines(svc) == [(shop.last, 1), (shop.tea, 10)]


async def test_buttons_for_products_not_in_the_cart(chat: CoreChat, svc: Services,
                                                    shop: ShopData) -> None:
    cart_id = await open_cart_with(chat, svc, {shop.tea: 1})
    for data in (f"inc:{shop.mug}", f"dec:{shop.mug}", f"del:{shop.mug}", "inc:999999",
                 "dec:0", f"del:{shop.lamp}"):
        await chat.press(data, cart_id)
        assert "no longer in your cart" in alert(chat)
        assert "Green tea" in chat.last_text  # and the cart as it is
    assert await cart_lines(svc) == [(shop.tea, 1)]


async def test_another_customers_cart_is_untouched(chat: CoreChat, conversation: Conversation,
                                                   svc: Services, shop: ShopData) -> None:
    other = await buyer(svc, 4004)
    await svc.cart.add(other.id, shop.mug, 2)
    for data in (f"inc:{shop.mug}", f"dec:{shop.mug}", f"del:{shop.mug}"):
        await chat.press(data)
        assert "no longer in your cart" in alert(chat)
    await chat.press("clear")
    assert (await svc.cart.view(other.id)).lines[0].quantity == 2


async def test_stock_fell_below_the_cart(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await svc.cart.add((await buyer(svc, chat.user.id)).id, shop.mug, 6)
    async with svc.ctx.db.write() as s:
        await s.execute(update(Stock).where(Stock.product_id == shop.mug).values(on_hand=1))
    await chat.command("/cart")
    assert "Only 2 left: please lower the quantity" in chat.last_text
    async with svc.ctx.db.write() as s:
        await s.execute(update(Stock).where(Stock.product_id == shop.mug).values(on_hand=0))
    await chat.command("/cart")
    assert "Sold out now: please remove it" in chat.last_text


async def test_chinese_cart(conversation: Conversation, svc: Services, shop: ShopData) -> None:
    chat = CoreChat(conversation, user_id=2005, language_code="zh-hans")
    await chat.command("/start")
    cart_id = await open_cart_with(chat, svc, {shop.tea: 1})
    assert "我的购物车" in chat.last_text and "1. <b>绿茶</b>" in chat.last_text
    assert "小计：<b>¥50.00</b>" in chat.last_text
    assert {"🧹 清空", "✅ 去结算", "🛍 继续购物"} <= set(chat.buttons())
    await chat.press("clear", cart_id)
    assert alert(chat) == "购物车已清空" and "购物车是空的" in chat.last_text


async def test_a_full_cart_fits_telegram(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    long_name = "&<>" * 40  # every character escapes to several
    products = await add_products(svc, shop, 30, name_en=long_name[:128])
    customer = await buyer(svc, chat.user.id)
    for product_id in products:
        await svc.cart.add(customer.id, product_id, 3)
    await chat.command("/cart")
    reply = shown(chat)[0]
    assert isinstance(reply, SendText) and isinstance(reply.keyboard, Inline)
    assert telegram_len(reply.text) <= TEXT_LIMIT and "&amp;&lt;&gt;" in reply.text
    buttons = [b for row in reply.keyboard.rows for b in row]
    assert len(buttons) <= 100 and all(len(row) <= 8 for row in reply.keyboard.rows)
    assert all(b.data and len(b.data.encode()) <= 64 for b in buttons)


async def test_cart_button_shows_the_cart_in_place_of_the_pressed_screen(chat: CoreChat,
                                                                         shop: ShopData) -> None:
    await chat.press(f"prod:{shop.tea}")
    await chat.click("🛒 Add to cart")
    added = list(chat.messages)[-1]  # "Added 1 × Green tea" with the cart and checkout
    await chat.click("🛒 Cart")
    [cart] = shown(chat)  # one screen, no new message: the note becomes the cart
    assert isinstance(cart, EditText) and cart.message_id == added
    assert "1 × CN¥50.00" in chat.last_text
    await chat.click("🛍 Continue shopping")
    assert "Choose a category" in chat.last_text
