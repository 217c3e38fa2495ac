"""Catalog, product cards, "notify me" and search, driven like a customer through the core."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update

from handlers.catalog import CAPTION_LIMIT, TEXT_LIMIT, telegram_len
from handlers.events import (
    AnswerCallback,
    DeleteMessage,
    EditPhoto,
    EditText,
    Reply,
    SendText,
)
from handlers.router import Conversation
from models import CartLine, Category, Product, Review, Stock, StockSubscription
from services.container import Services
from tests.handlers.chat import CoreChat
from tests.shop import ShopData, buyer, place


async def cart_lines(svc: Services) -> list[tuple[int, int]]:
    """(product id, quantity) of every cart line in the database."""
    async with svc.ctx.db.read() as s:
        rows = await s.execute(select(CartLine.product_id, CartLine.quantity).order_by(CartLine.id))
        return [(p, q) for p, q in rows]


async def add_products(svc: Services, shop: ShopData, count: int, **fields: object) -> list[int]:
    """More products in the test shop's category, each with 3 units in Shanghai."""
    async with svc.ctx.db.write() as s:
        category_id = (await s.get(Product, shop.tea)).category_id  # type: ignore[union-attr]
        products = [Product(**{"sku": f"EXTRA-{i}", "category_id": category_id,
                               "name_en": f"Extra item {i}", "name_zh": f"额外商品{i}",
                               "price": 100 + i, **fields}) for i in range(count)]
        s.add_all(products)
        await s.flush()
        s.add_all(Stock(product_id=p.id, warehouse_id=shop.sh, on_hand=3) for p in products)
        return [p.id for p in products]


async def set_product(svc: Services, product_id: int, **values: object) -> None:
    """Change a product row (photos, description, active)."""
    async with svc.ctx.db.write() as s:
        await s.execute(update(Product).where(Product.id == product_id).values(**values))


def shown(chat: CoreChat) -> list[Reply]:
    """The last turn's messages and edits (callback answers left out)."""
    return [r for r in chat.last if not isinstance(r, AnswerCallback)]


def alert(chat: CoreChat) -> str:
    """The text of the last turn's single callback answer."""
    assert len(chat.answers) == 1, chat.last
    return chat.answers[0].text


async def test_browse_categories_products_card_add_two_then_cart(chat: CoreChat, svc: Services,
                                                                 shop: ShopData) -> None:
    await chat.command("/start")
    await chat.click("🛍 Catalog")
    assert "Choose a category" in chat.last_text
    assert "Home (5)" in chat.buttons()
    await chat.click("Home (5)")
    assert isinstance(shown(chat)[0], EditText)  # the category list replaces the shelves in place
    assert "<b>Home</b>" in chat.last_text and "page 1/1" in chat.last_text
    assert "Green tea · CN¥50.00" in chat.buttons() and "Sold-out hat · sold out" in chat.buttons()
    await chat.click("Green tea")
    card = shown(chat)[0]
    assert isinstance(card, EditText)  # no photo: a text card, in place of the list
    for part in ("<b>Green tea</b>", "CN¥50.00", "In stock", "No reviews yet", "A fine green tea"):
        assert part in card.text
    await chat.click("Add 2")
    assert alert(chat) == "Added 2 × Green tea"
    assert "Your cart: 2 items, CN¥100.00" in chat.last_text
    await chat.click("🛒 Cart")
    assert "2 × CN¥50.00 = CN¥100.00" in chat.last_text
    assert "Subtotal: <b>CN¥100.00</b>" in chat.last_text
    assert await cart_lines(svc) == [(shop.tea, 2)]


async def test_chinese_customer_browses_in_chinese(conversation: Conversation, shop: ShopData) -> None:
    chat = CoreChat(conversation, user_id=2002, language_code="zh-hans")
    await chat.command("/catalog")
    await chat.click("家居（5）")
    assert "¥50.00" in " ".join(chat.buttons())
    await chat.click("绿茶")
    assert "<b>绿茶</b>" in chat.last_text and "有货" in chat.last_text and "好绿茶" in chat.last_text
    await chat.click("加入购物车")
    assert alert(chat) == "已加入 1 × 绿茶"


async def test_paging_edits_the_list_in_place(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await add_products(svc, shop, 8)  # 13 products: 3 pages of 6
    await chat.command("/catalog")
    await chat.click("Home (13)")
    list_id = next(iter(chat.messages))
    assert "page 1/3" in chat.last_text and "1/3" in chat.buttons()
    await chat.click("▶")
    edit = shown(chat)[0]
    assert isinstance(edit, EditText) and edit.message_id == list_id and "page 2/3" in edit.text
    assert "Extra item 1 · CN¥1.01" in chat.buttons()
    await chat.click("▶")
    await chat.click("▶")  # wraps around to the first page
    assert "page 1/3" in chat.last_text and "Green tea · CN¥50.00" in chat.buttons()
    await chat.click("◀")
    assert "page 3/3" in chat.last_text
    await chat.click("Extra item 7")
    await chat.click("◀ Back to the list")  # the text card becomes the list again
    assert isinstance(shown(chat)[-1], EditText) and "page 3/3" in chat.last_text
    assert len(chat.messages) == 1  # one screen all along
    await chat.press("cat:1:999")  # a page past the end shows the last one
    assert "page 3/3" in chat.last_text


async def test_photo_card_caption_fits_telegram(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    long_text = "Tea & <leaves> \"fresh\" 🍵 " * 400
    await set_product(svc, shop.tea, photos=["/tmp/tea.png"], description_en=long_text)
    await chat.press(f"prod:{shop.tea}")
    card = shown(chat)[0]
    assert isinstance(card, EditPhoto) and card.photo == "/tmp/tea.png"
    assert telegram_len(card.caption) <= CAPTION_LIMIT and card.caption.endswith("…")
    assert "&amp; &lt;leaves&gt;" in card.caption and "<leaves>" not in card.caption
    assert "🛒 Add to cart" in chat.buttons() and "◀ Back to the list" in chat.buttons()
    await set_product(svc, shop.tea, photos=[])
    await chat.press(f"prod:{shop.tea}", card.message_id)
    # a photo cannot become text: the text card comes new and the photo goes
    new, gone = shown(chat)
    assert isinstance(new, SendText) and telegram_len(chat.last_text) <= TEXT_LIMIT
    assert gone == DeleteMessage(card.chat_id, card.message_id)
    await chat.command("/catalog")  # a command: a new message, nothing pressed to edit
    assert [type(r) for r in shown(chat)] == [SendText]


async def test_card_steps_through_the_list_in_place(chat: CoreChat, svc: Services,
                                                   shop: ShopData) -> None:
    await add_products(svc, shop, 8)  # 13 products: 3 pages of 6
    await set_product(svc, shop.tea, photos=["/tmp/tea.png"])
    await set_product(svc, shop.mug, photos=["/tmp/mug.png"])
    await chat.command("/catalog")
    await chat.click("Home (13)")
    await chat.click("Green tea")
    [card] = shown(chat)
    assert isinstance(card, EditPhoto) and card.photo == "/tmp/tea.png"  # the list became it
    assert "1/13" in chat.buttons()
    await chat.click("▶")
    [mug] = shown(chat)  # another product's photo, in the same message
    assert isinstance(mug, EditPhoto) and mug.message_id == card.message_id
    assert mug.photo == "/tmp/mug.png" and "<b>Mug</b>" in mug.caption and "2/13" in chat.buttons()
    await chat.click("◀")
    await chat.click("◀")  # before the first: around to the last, on page 3
    new, gone = shown(chat)  # a photo cannot become the text card: sent anew, the photo goes
    assert isinstance(new, SendText) and "Extra item 7" in new.text
    assert gone == DeleteMessage(card.chat_id, card.message_id) and "13/13" in chat.buttons()
    await chat.click("◀ Back to the list")
    assert "page 3/3" in chat.last_text and len(chat.messages) == 1
    for forged in ("nx:0:1:999999", "nx:7:1:0", "nx:0:999:0"):
        await chat.press(forged)
        assert chat.answers and chat.answers[0].alert, forged
    assert len(chat.messages) == 1


async def test_stock_words_and_quantity_buttons(chat: CoreChat, shop: ShopData) -> None:
    await chat.press(f"prod:{shop.last}")
    assert "Only 1 left" in chat.last_text
    assert "🛒 Add to cart" in chat.buttons() and "Add 2" not in chat.buttons()
    await chat.press(f"prod:{shop.lamp}")
    assert "Only 2 left" in chat.last_text and "Add 2" in chat.buttons()
    assert "Add 3" not in chat.buttons()[:4]
    await chat.press(f"prod:{shop.gone}")
    assert "Out of stock" in chat.last_text
    buttons = chat.buttons()[:3]
    assert "🔔 Notify me when it is back" in buttons and "🛒 Add to cart" not in buttons


async def test_card_shows_rating_and_three_latest_reviews(chat: CoreChat, svc: Services,
                                                           shop: ShopData) -> None:
    customer = await buyer(svc, 3003)
    order = await place(svc, customer, {shop.tea: 1, shop.mug: 1})
    others = await add_products(svc, shop, 3)
    async with svc.ctx.db.write() as s:
        s.add_all([Review(order_id=order.id, product_id=pid, customer_id=customer.id, rating=r,
                          text=text)
                   for pid, r, text in [(shop.tea, 3, "ok"), (others[0], 5, "x"),
                                        (shop.mug, 4, "<b>Great</b> mug & more")]])
    await chat.press(f"prod:{shop.mug}")
    assert "★ 4.0/5 · reviews: 1" in chat.last_text
    assert "★★★★☆ &lt;b&gt;Great&lt;/b&gt; mug &amp; more — <i>Buyer 3003</i>" in chat.last_text


async def test_notify_me_subscribes_once(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await chat.press(f"prod:{shop.gone}")
    await chat.click("Notify me")
    assert "I will tell you" in alert(chat)
    await chat.click("Notify me")
    assert "already on the list" in alert(chat)
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(StockSubscription)) == 1
    await chat.press(f"notify:{shop.tea}")  # forged: it is in stock
    assert "in stock now" in alert(chat)
    await chat.press("notify:999999")
    assert "no longer available" in alert(chat)
    async with svc.ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(StockSubscription)) == 1


async def test_forged_and_stale_buttons_are_refused_politely(chat: CoreChat, svc: Services,
                                                             shop: ShopData) -> None:
    cases = {
        "prod:999999": "no longer available",
        f"add:{shop.tea}:0": "between 1 and 99",
        f"add:{shop.tea}:1000000000": "between 1 and 99",
        "add:999999:1": "no longer available",
        "cat:999:0": "category is no longer available",
        f"item:{shop.tea}:7:0": "no longer valid",
        "back:9:0:0": "no longer valid",
        "back:0:999:0": "category is no longer available",
        f"add:{shop.last}:2": "not enough stock (1 left)",
        "sp:0": "search has ended",
    }
    for data, expected in cases.items():
        await chat.press(data)
        answer = chat.answers
        assert len(answer) == 1 and expected in answer[0].text, (data, chat.last)
    assert await cart_lines(svc) == []


async def test_product_taken_off_sale(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await chat.press(f"prod:{shop.tea}")
    await set_product(svc, shop.tea, active=False)
    await chat.click("Add to cart")
    assert "no longer available" in alert(chat)
    await chat.press(f"prod:{shop.tea}")
    assert "no longer available" in alert(chat)
    await chat.command("/catalog")
    assert "Home (4)" in chat.buttons()
    assert await cart_lines(svc) == []


async def test_the_same_press_delivered_twice_adds_once(chat: CoreChat, svc: Services,
                                                        shop: ShopData) -> None:
    event = chat._event("callback", callback_id="cb-twice", callback_data=f"add:{shop.tea}:2",
                        callback_message_id=1)
    await chat.deliver(event)
    assert await chat.repeat(event) == []
    assert await cart_lines(svc) == [(shop.tea, 2)]


async def test_empty_catalog_and_empty_category(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    async with svc.ctx.db.write() as s:
        s.add(Category(slug="new", name_en="New <arrivals>", name_zh="新品", position=9))
    await chat.command("/catalog")
    await chat.click("New <arrivals> (0)")
    assert "<b>New &lt;arrivals&gt;</b>" in chat.last_text and "no products" in chat.last_text
    async with svc.ctx.db.write() as s:
        await s.execute(update(Category).values(active=False))
    await chat.command("/catalog")
    assert "catalog is empty" in chat.last_text


async def test_search_in_english_and_chinese(chat: CoreChat, conversation: Conversation,
                                             shop: ShopData) -> None:
    await chat.command("/start")
    await chat.click("🔍 Search")
    assert "What are you looking for" in chat.last_text
    await chat.send("green")
    assert "Results for “green”: 1" in chat.last_text and "Green tea · CN¥50.00" in chat.buttons()
    await chat.send("绿茶")  # still searching: another text is another search
    assert "Results for “绿茶”: 1" in chat.last_text
    await chat.click("Green tea")
    assert "<b>Green tea</b>" in chat.last_text
    zh = CoreChat(conversation, user_id=2004, language_code="zh-hans")
    await zh.command("/search 绿茶")
    assert "“绿茶”的搜索结果：共 1 件" in zh.last_text and "绿茶 · ¥50.00" in zh.buttons()
    await zh.command("/search tea")
    assert "绿茶 · ¥50.00" in zh.buttons()


async def test_search_pages_edit_in_place_and_card_goes_back(chat: CoreChat, svc: Services,
                                                             shop: ShopData) -> None:
    await add_products(svc, shop, 8)
    await chat.command("/search extra")
    assert "Results for “extra”: 8 · page 1/2" in chat.last_text
    await chat.click("▶")
    assert isinstance(shown(chat)[0], EditText) and "page 2/2" in chat.last_text
    await chat.click("Extra item 7")
    await chat.click("◀ Back to the list")
    assert isinstance(shown(chat)[-1], EditText) and "Results for “extra”: 8 · page 2/2" in chat.last_text


async def test_search_wrong_inputs(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await chat.command("/search")
    await chat.send_photo()
    assert "send the search as text" in chat.last_text
    await chat.send("x" * 5000)
    assert "search text of 1 to 100 characters" in chat.last_text
    await chat.send("🍵🍵")
    assert "Nothing found for “🍵🍵”" in chat.last_text
    await chat.send("<script>&")
    assert "“&lt;script&gt;&amp;”" in chat.last_text
    await chat.click("🛍 Categories")
    assert "Choose a category" in chat.last_text
    await chat.send("   ")
    assert "send the search as text" in chat.last_text
    await chat.send("\x00\x01" * 3000 + "tea")  # control characters are dropped, the state stays small
    assert "Results for “tea”" in chat.last_text
    await chat.send("🛒 Cart")  # a menu button leaves the search
    assert "cart is empty" in chat.last_text
    await chat.press("sp:1")
    assert "search has ended" in alert(chat)


async def test_every_press_is_answered_once(chat: CoreChat, shop: ShopData) -> None:
    await chat.command("/catalog")
    for label in ("Home", "Green tea", "Add 3", re.compile("^🛒 Cart$")):
        await chat.click(label)
        assert sum(isinstance(r, AnswerCallback) for r in chat.last) == 1
