"""After-sales through the conversation core: kind, items and quantities, reason, photos, request."""
from __future__ import annotations

from sqlalchemy import select

from models import Product, ReturnLine, ReturnRequest
from services.clock import FakeClock
from services.container import Services
from services.orders.dto import PlacedOrder
from tests.handlers.chat import CoreChat
from tests.handlers.test_orders import ADMIN, alert, completed, delivered, shipped, shown
from tests.shop import ShopData


async def requests(svc: Services) -> list[tuple[ReturnRequest, list[tuple[int, int]]]]:
    """Every return request in the database, with its (order line, quantity) pairs."""
    async with svc.ctx.db.read() as s:
        rows = (await s.scalars(select(ReturnRequest).order_by(ReturnRequest.id))).all()
        return [(r, [(ln.order_line_id, ln.quantity) for ln in (await s.scalars(
            select(ReturnLine).where(ReturnLine.return_request_id == r.id))).all()]) for r in rows]


async def to_reason(chat: CoreChat, order: PlacedOrder, kind: str = "Return") -> None:
    """Open the card, choose the kind and one unit of the first item, then Done."""
    await chat.press(f"order:{order.id}")
    await chat.click("↩️ Return, exchange or refund")
    await chat.click(kind)
    await chat.click("➕")
    await chat.click("✅ Done")


async def test_return_one_of_two_with_reason_and_photo(chat: CoreChat, svc: Services,
                                                       shop: ShopData) -> None:
    order = await delivered(svc, {shop.tea: 2})
    await chat.press(f"order:{order.id}")
    await chat.click("↩️ Return, exchange or refund")
    assert f"for order No. {order.number}" in chat.last_text
    await chat.click("Return")
    assert "Nothing chosen yet." in chat.last_text and "Green tea: 0/2" in shown(chat)
    await chat.click("➕")
    assert "• Green tea × 1" in chat.last_text and "Green tea: 1/2" in shown(chat)
    await chat.click("✅ Done")
    assert "describe the reason" in chat.last_text
    await chat.send("The tin arrived <dented> & open")
    assert "up to 5 photos" in chat.last_text and "Skip photos, send the request" in shown(chat)
    await chat.send_photo("photo-dent")
    assert "Photo 1 of 5 added." in chat.last_text
    await chat.click("✅ Done (1 photo), send the request")
    saved = await requests(svc)
    assert len(saved) == 1
    request, lines = saved[0]
    line_id = (await svc.orders.detail(order.id)).lines[0].id
    assert (request.kind, request.status, request.reason, request.photos) == (
        "return", "requested", "The tin arrived <dented> & open", ["photo-dent"])
    assert lines == [(line_id, 1)]
    assert f"Request No. {request.id} received" in chat.texts[0]
    assert len(chat.texts) == 1  # one message: the note heads the order card
    assert f"Request No. {request.id} (Return): Requested" in chat.last_text  # on the card
    await svc.returns.approve(request.id, ADMIN)
    await chat.press(f"order:{order.id}")
    assert f"Request No. {request.id} (Return): Approved" in chat.last_text
    await chat.click("↩️ Return, exchange or refund")  # the other unit is still returnable
    await chat.click("Exchange")
    assert "Green tea: 0/1" in shown(chat)
    await chat.press(f"retl:{order.id}:{line_id}:2")
    assert alert(chat) == "You can return at most 1 of this item."


async def test_refund_after_completion_without_photos(chat: CoreChat, svc: Services,
                                                      shop: ShopData) -> None:
    order = await completed(svc, {shop.tea: 1, shop.mug: 3})
    await chat.press(f"order:{order.id}")
    await chat.click("↩️ Return, exchange or refund")
    await chat.click("Refund")
    mug_line = (await svc.orders.detail(order.id)).lines[1].id
    for _ in range(3):
        await chat.press(f"retl:{order.id}:{mug_line}:{_ + 1}")
    await chat.press(f"retl:{order.id}:{mug_line}:2")  # ➖ once
    assert "• Mug × 2" in chat.last_text and "Green tea" not in chat.last_text.split("\n\n")[-1]
    await chat.click("✅ Done")
    await chat.send("两个杯子有裂纹 😢")
    await chat.click("Skip photos, send the request")
    (request, lines), = await requests(svc)
    assert request.kind == "refund" and request.photos == [] and lines == [(mug_line, 2)]
    assert request.reason == "两个杯子有裂纹 😢"


async def test_wrong_quantities_and_lines(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    order = await delivered(svc, {shop.tea: 2})
    other = await delivered(svc, {shop.mug: 1})
    theirs = await delivered(svc, {shop.mug: 1}, telegram_id=2002)
    line = (await svc.orders.detail(order.id)).lines[0].id
    await chat.press(f"retl:{order.id}:{line}:1")  # before choosing a kind: a stale button
    assert "no longer valid" in alert(chat)
    await chat.press(f"order:{order.id}")
    await chat.click("↩️ Return, exchange or refund")
    await chat.click("Return")
    await chat.press(f"retgo:{order.id}")  # Done with nothing chosen
    assert alert(chat) == "Please choose at least one item first."
    for qty in (3, 10**9):
        await chat.press(f"retl:{order.id}:{line}:{qty}")
        assert alert(chat) == "You can return at most 2 of this item."
    for bad_line in ((await svc.orders.detail(other.id)).lines[0].id,
                     (await svc.orders.detail(theirs.id, None)).lines[0].id, 999999):
        await chat.press(f"retl:{order.id}:{bad_line}:1")
        assert alert(chat) == "That item is not part of this order."
    await chat.press(f"retl:{other.id}:{line}:1")  # another order than the one being returned
    assert "no longer valid" in alert(chat)
    await chat.press(f"retl:{order.id}:{line}:2")
    await chat.press(f"retl:{order.id}:{line}:0")  # taken out again
    assert "Nothing chosen yet." in chat.last_text
    await chat.press(f"retgo:{order.id}")
    assert alert(chat) == "Please choose at least one item first."
    await chat.send("hello")
    assert "➖ and ➕" in chat.last_text
    await chat.press(f"retk:{order.id}:swap")
    assert "no longer valid" in alert(chat)
    assert await requests(svc) == []


async def test_wrong_reason_and_photos(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    order = await delivered(svc, {shop.tea: 2})
    await to_reason(chat, order)
    await chat.send_photo()
    assert "describe the reason in words" in chat.last_text
    await chat.send("x" * 5000)
    assert "5000 characters" in chat.last_text and "under 1000" in chat.last_text
    await chat.send("Broken 🫖")
    await chat.send("and here is more text")
    assert "Please send a photo" in chat.last_text
    for n in range(6):
        await chat.send_photo(f"p{n}")
    assert "the most allowed" in chat.last_text
    await chat.press(f"retsend:{order.id + 1}")
    assert "no longer valid" in alert(chat)
    await chat.click("✅ Done (5 photos), send the request")
    (request, _), = await requests(svc)
    assert request.reason == "Broken 🫖" and request.photos == [f"p{n}" for n in range(5)]
    await chat.press(f"retsend:{order.id}")  # a double click on send
    assert "no longer valid" in alert(chat)
    assert len(await requests(svc)) == 1


async def test_return_not_open_before_delivery_or_after_the_window(
        chat: CoreChat, svc: Services, shop: ShopData, clock: FakeClock) -> None:
    on_the_way = await shipped(svc, {shop.tea: 1})
    await chat.press(f"order:{on_the_way.id}")
    assert "↩️ Return, exchange or refund" not in shown(chat)
    await chat.press(f"ret:{on_the_way.id}")
    assert "within the return window" in alert(chat)
    order = await delivered(svc, {shop.tea: 1})
    await to_reason(chat, order)
    clock.advance(days=8)  # the window closes while the customer writes
    await chat.send("Too late?")
    await chat.click("Skip photos, send the request")
    assert "return window for this order has closed" in alert(chat)
    assert await requests(svc) == []
    await chat.press(f"order:{order.id}")
    assert "↩️ Return, exchange or refund" not in shown(chat)
    await chat.press(f"retk:{order.id}:return")
    assert "within the return window" in alert(chat)


async def test_return_in_chinese(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    await chat.command("/language")
    await chat.click("简体中文")
    order = await delivered(svc, {shop.tea: 1})
    await chat.press(f"order:{order.id}")
    await chat.click("↩️ 申请退货、换货或退款")
    await chat.click("换货")
    await chat.click("➕")
    assert "• 绿茶 × 1" in chat.last_text
    await chat.click("✅ 完成")
    await chat.send("颜色不对")
    await chat.click("跳过照片，提交申请")
    (request, _), = await requests(svc)
    assert f"已收到售后申请 {request.id}（换货，订单 {order.number}）" in chat.texts[0]
    assert f"售后申请 {request.id}（换货）：已提交，等待商家处理" in chat.last_text


async def test_names_escaped_in_texts_not_in_buttons(chat: CoreChat, svc: Services,
                                                     shop: ShopData) -> None:
    async with svc.ctx.db.write() as s:
        tea = await s.get(Product, shop.tea)
        assert tea is not None
        tea.name_en = "Tea & <Co>"
    order = await delivered(svc, {shop.tea: 1})
    await chat.press(f"order:{order.id}")
    assert "Tea &amp; &lt;Co&gt; × 1" in chat.last_text
    await chat.click("↩️ Return, exchange or refund")
    await chat.click("Return")
    assert "Tea & <Co>: 0/1" in shown(chat)


async def test_orders_command_leaves_a_return_step(chat: CoreChat, svc: Services,
                                                   shop: ShopData) -> None:
    order = await delivered(svc, {shop.tea: 1})
    await to_reason(chat, order)
    await chat.command("/orders")
    await chat.send("not a reason any more")
    assert "I can help you shop" in chat.last_text
    assert await requests(svc) == []


async def test_items_with_nothing_left_to_return_are_never_offered(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    order = await delivered(svc, {shop.tea: 2, shop.mug: 1})
    tea = (await svc.orders.detail(order.id)).lines[0].id
    customer = (await svc.orders.detail(order.id)).customer_id
    await svc.returns.request(customer, order.id, "return", "stale", [(tea, 2)])
    await chat.press(f"order:{order.id}")
    await chat.click("↩️ Return, exchange or refund")
    await chat.click("Exchange")
    labels = shown(chat)
    assert "Mug: 0/1" in labels and not any("Green tea" in b for b in labels)  # none left
    await chat.press(f"retl:{order.id}:{tea}:1")  # a forged press for the used-up item
    assert alert(chat) == "You can return at most 0 of this item."
    await chat.click("➕")
    await chat.click("✅ Done")
    await chat.send("Wrong colour")
    await chat.click("Skip photos")
    assert len(await requests(svc)) == 2

    # Everything is asked for now: no button, and a forged press shows no empty picker.
    await chat.press(f"order:{order.id}")
    assert "↩️ Return, exchange or refund" not in shown(chat)
    for data in (f"ret:{order.id}", f"retk:{order.id}:refund"):
        await chat.press(data)
        assert alert(chat) == (f"Every item of order No. {order.number} is already in an "
                               "after-sales request. Open the order to follow it."), data
        assert not chat.texts, data  # no kind or item screen
    # A rejected request gives its items back.
    first = (await requests(svc))[0][0]
    await svc.returns.reject(first.id, ADMIN, "Opened packs cannot go back")
    await chat.press(f"order:{order.id}")
    assert "↩️ Return, exchange or refund" in shown(chat)


async def test_someone_elses_order_has_no_after_sales_here(
        chat: CoreChat, svc: Services, shop: ShopData) -> None:
    theirs = await delivered(svc, {shop.tea: 1}, telegram_id=4242)
    line = (await svc.orders.detail(theirs.id)).lines[0].id
    for data in (f"ret:{theirs.id}", f"retk:{theirs.id}:return", f"retl:{theirs.id}:{line}:1"):
        await chat.press(data)
        assert alert(chat) in ("Sorry, I could not find that order.",
                               "This button is no longer valid. Please open the menu again."), data
    assert await requests(svc) == []
