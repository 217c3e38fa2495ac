"""My orders: the list, the order card, cancelling (with a confirmation), receipt, out of stock."""
from __future__ import annotations

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import Button, Inline
from handlers.orders.view import CANCELLABLE, list_keyboard, show_order
from handlers.turn import Turn
from models import OrderStatus as S


async def my_orders(turn: Turn) -> None:
    """/orders and the menu button: the first page of the customer's orders (leaving any step)."""
    turn.reset()
    await _list(turn, 0)


async def orders_page(turn: Turn, pressed: Callback) -> None:
    """A page of the order list (also "back to my orders")."""
    turn.answer()
    await _list(turn, pressed.int(0))


async def _list(turn: Turn, page: int) -> None:
    orders, pages = await turn.services.orders.for_customer(turn.customer.id, page)
    if not orders and page > 0:  # a stale or forged page number: show the last real page
        page = pages - 1
        orders, pages = await turn.services.orders.for_customer(turn.customer.id, page)
    if not orders:
        catalog = Button(turn.t("orders.btn_catalog"), callbacks.encode("cats"))
        return turn.show(turn.t("orders.empty"), Inline(((catalog,),)))
    turn.show(turn.t("orders.list_title"), list_keyboard(turn.t, orders, page, pages))


async def open_order(turn: Turn, pressed: Callback) -> None:
    """The order card."""
    await show_order(turn, pressed.int(0))
    turn.answer()


async def ask_cancel(turn: Turn, pressed: Callback) -> None:
    """Cancel pressed: ask "are you sure?" while the order can still be cancelled."""
    order = await turn.services.orders.detail(pressed.int(0), turn.customer.id)
    if order.status not in CANCELLABLE:
        await show_order(turn, order.id)
        return turn.answer(turn.t("orders.cannot_cancel"), alert=True)
    key = "orders.confirm_cancel_paid" if order.paid else "orders.confirm_cancel"
    keyboard = Inline(((Button(turn.t("orders.btn_cancel_yes"),
                               callbacks.encode("cancelok", order.id)),
                        Button(turn.t("orders.btn_cancel_no"),
                               callbacks.encode("order", order.id))),))
    turn.show(turn.t(key, number=order.number), keyboard)
    turn.answer()


async def cancel(turn: Turn, pressed: Callback) -> None:
    """Yes, cancel: the service refuses once shipped; stock and money go back by themselves."""
    done = await turn.services.orders.cancel_by_customer(turn.customer.id, pressed.int(0))
    await show_order(turn, done.order_id)
    turn.answer(turn.t("orders.cancelled", number=done.number))


async def confirm_receipt(turn: Turn, pressed: Callback) -> None:
    """The goods arrived: complete the order and offer a rating."""
    done = await turn.services.orders.confirm_receipt(turn.customer.id, pressed.int(0))
    await show_order(turn, done.order_id)
    turn.answer(turn.t("orders.received", number=done.number))


async def out_of_stock(turn: Turn, pressed: Callback) -> None:
    """An order paid without stock: wait for the restock, or cancel with a refund."""
    order = await turn.services.orders.detail(pressed.int(0), turn.customer.id)
    if pressed.word(1) not in ("wait", "cancel"):
        return turn.answer(turn.t("error.stale_button"), alert=True)
    if order.status != S.OUT_OF_STOCK:  # restocked (or cancelled) since the button was sent
        await show_order(turn, order.id)
        return turn.answer(turn.t("orders.oos_over"), alert=True)
    if pressed.word(1) == "cancel":
        return await cancel(turn, pressed)
    waiting = turn.t("orders.oos_waiting", number=order.number)
    if order.waits_for_restock:  # pressed again: said already
        return turn.answer(waiting[:200])
    await turn.services.orders.wait_for_restock(turn.customer.id, order.id)
    turn.answer()
    turn.send(waiting)
