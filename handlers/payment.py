"""Paying for an order: the payment link or a Telegram invoice, pre-checkout, successful_payment;
an invoice with Telegram's own form (services/checkout_form.py): its shipping query, and its
pre-checkout query that places the order.

Money is confirmed only by the provider: the sandbox's signed callback (bot/paypage.py) or
Telegram's `successful_payment`; both go through PaymentService, deduplicated by charge id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from handlers import callbacks
from handlers.callbacks import Callback
from handlers.events import (
    AnswerPreCheckout,
    AnswerShipping,
    Button,
    Event,
    Inline,
    OrderInfo,
    SendInvoice,
    ShippingOption,
)
from handlers.registry import Registry
from handlers.turn import Turn
from models import OrderStatus as S
from services.checkout_form import FormInvoice, FormOrder
from services.errors import PaymentError
from services.payments.inbox import UNMATCHED
from services.payments.providers import PaymentEvent

TITLE_MAX = 32          # Bot API sendInvoice: title 1-32 characters
DESCRIPTION_MAX = 255   # description 1-255 characters
PAYLOAD_MAX = 128       # payload 1-128 bytes


class Payable(Protocol):
    """What the payment step needs of an order (a PlacedOrder or an OrderDetail, both frozen)."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def payment_method(self) -> str: ...
    @property
    def payment_deadline(self) -> datetime | None: ...


def _after_buttons(turn: Turn, order: Payable) -> tuple[Button, ...]:
    return (Button(turn.t("payment.check"), callbacks.encode("paylink", order.id)),
            Button(turn.t("payment.my_order"), callbacks.encode("order", order.id)))


def invoice(turn: Turn, order: Payable) -> SendInvoice:
    """A Telegram Payments invoice for the order, within the Bot API's limits."""
    title = turn.t("payment.invoice_title", number=order.number)[:TITLE_MAX]
    description = turn.t("payment.invoice_description", number=order.number,
                         shop=turn.settings.shop_name)[:DESCRIPTION_MAX]
    assert len(order.number.encode()) <= PAYLOAD_MAX
    return SendInvoice(turn.chat_id, title, description, order.number, order.currency,
                       order.total, turn.settings.telegram_provider_token,
                       turn.t("payment.invoice_label", number=order.number))


def form_invoice(turn: Turn, form: FormInvoice) -> SendInvoice:
    """An invoice with Telegram's own form: the goods now; name, phone, address and the
    delivery option (its fee added by Telegram) asked on the form."""
    title = turn.t("payment.invoice_title", number=form.number)[:TITLE_MAX]
    description = turn.t("payment.form_description", shop=turn.settings.shop_name,
                         number=form.number)[:DESCRIPTION_MAX]
    return SendInvoice(turn.chat_id, title, description, form.number, form.currency,
                       form.subtotal, turn.settings.telegram_provider_token,
                       turn.t.plural("payment.form_label", form.units), form=True)


async def shipping(turn: Turn) -> None:
    """Telegram asks where the form's invoice can go: the delivery options with their fees for
    that address, or a polite refusal in the customer's language."""
    query = turn.event.shipping
    if query is None:
        raise PaymentError("shipping query without an address")
    options = await turn.services.checkout_form.delivery_options(
        turn.customer.id, query.payload, query.address)
    if options is None:
        return turn.replies.append(AnswerShipping(query.query_id, False, error_message=turn.t(
            "payment.precheck.not_found")))
    if not options:
        return turn.replies.append(AnswerShipping(query.query_id, False, error_message=turn.t(
            "payment.not_served")))
    shown = tuple(ShippingOption(o.code, name, name, o.fee) for o in options
                  for name in (o.name_zh if turn.t.language == "zh_CN" else o.name_en,))
    turn.replies.append(AnswerShipping(query.query_id, True, shown))


async def offer(turn: Turn, order: Payable, placed: str = "") -> None:
    """The payment step of an unpaid order: an invoice (Telegram) or a "Pay now" link.

    Right after Confirm, `placed` ("Order No. ... is placed") heads it and the message takes the
    review screen's place: one message says the order is placed and how to pay for it.
    """
    amount = turn.t.money(order.total, order.currency)
    deadline = turn.t.when(order.payment_deadline)
    if order.payment_method == "telegram":
        buttons = Inline((_after_buttons(turn, order),))
        if placed:  # the invoice follows, right below
            turn.show(f"{placed}\n\n{turn.t('payment.invoice_below', deadline=deadline)}", buttons)
            return turn.replies.append(invoice(turn, order))
        turn.replies.append(invoice(turn, order))
        text = turn.t("payment.invoice_sent", number=order.number, amount=amount, deadline=deadline)
        return turn.send(text, buttons)
    link = await turn.services.payments.payment_link(turn.customer.id, order.id)
    buttons = Inline(((Button(turn.t("payment.pay_now"), url=link),), _after_buttons(turn, order)))
    if placed:
        return turn.show(f"{placed}\n\n{turn.t('payment.pay_by', deadline=deadline)}", buttons)
    turn.send(turn.t("payment.pay_link", number=order.number, amount=amount, deadline=deadline),
              buttons)


async def check(turn: Turn, pressed: Callback) -> None:
    """paylink:<order id>: "Check payment": paid, or the payment step again while still unpaid."""
    order = await turn.services.orders.detail(pressed.int(0), turn.customer.id)
    if order.status == S.PENDING_PAYMENT:
        turn.answer(turn.t("payment.not_paid_yet"))
        return await offer(turn, order)
    key = "payment.already_paid" if order.paid > order.refunded else "payment.not_payable"
    turn.answer(turn.t(key, number=order.number), alert=True)


async def pre_checkout(turn: Turn) -> None:
    """Telegram asks whether the invoice may still be paid: only a payable order of this user."""
    query = turn.event.payment
    if query is None or not query.query_id:
        raise PaymentError("pre-checkout query without an id")
    info = query.order_info or OrderInfo()
    filled = FormOrder(info.name, info.phone_number, info.shipping_address,
                       query.shipping_option_id or "")
    # An invoice of Telegram's form places its order now; then (or for any other invoice)
    # the order must still be payable.
    problem = await turn.services.checkout_form.place(
        turn.customer.id, query.payload, query.total_amount, filled)
    if problem in (None, "not_found"):
        problem = await turn.services.payments.precheck(
            turn.customer.id, query.payload, query.total_amount, query.currency)
    error = None if problem is None else turn.t(f"payment.precheck.{problem}")
    turn.replies.append(AnswerPreCheckout(query.query_id, problem is None, error))


def telegram_event(event: Event) -> PaymentEvent | None:
    """The money event of a `successful_payment` update (None without a charge id)."""
    paid = event.payment
    charge = paid and (paid.telegram_charge_id or paid.provider_charge_id)
    if paid is None or not charge:
        return None
    raw = {"telegram_charge_id": paid.telegram_charge_id,
           "provider_charge_id": paid.provider_charge_id, "payload": paid.payload}
    return PaymentEvent("telegram", charge, paid.payload, paid.total_amount, paid.currency, raw)


async def successful(turn: Turn) -> None:
    """Telegram took the money: apply it once (by charge id), and tell the customer once."""
    money = telegram_event(turn.event)
    if money is None:
        raise PaymentError("successful_payment without a charge id")
    outcome = await turn.services.payment_inbox.receive(money)
    if outcome.duplicate:  # already applied, and the customer already told
        return
    amount = turn.t.money(money.amount, money.currency)
    if outcome.status == UNMATCHED:
        key = "payment.unmatched"
    elif outcome.refunded:
        key = "payment.refunded"
    elif outcome.status == S.OUT_OF_STOCK:
        key = "payment.received_out_of_stock"
    else:
        key = "payment.received"
    turn.send(turn.t(key, number=outcome.order_number, amount=amount))


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.action("paylink", check)
    r.on("pre_checkout", pre_checkout)
    r.on("shipping_query", shipping)
    r.on("successful_payment", successful)
