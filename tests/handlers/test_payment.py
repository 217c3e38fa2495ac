"""Paying in the conversation: Telegram invoices, the pre-checkout answer, successful_payment once."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, update

from handlers.events import (
    AnswerPreCheckout,
    EditText,
    Event,
    Payment,
    Reply,
    SendInvoice,
    SendText,
)
from handlers.i18n import Translator
from handlers.notifications import notice_text
from handlers.router import Conversation
from models import Order, OrderEvent, OutboxMessage, PaymentInboxEntry, Refund, Stock
from models import Payment as PaymentRow
from services.clock import FakeClock
from services.container import Services, build_services
from services.database import Database
from services.inventory import stock
from services.payments.cod import CashOnDelivery
from services.payments.providers import ProviderRegistry
from services.payments.sandbox import SandboxProvider
from services.payments.telegram import MANUAL_REFUND_PREFIX, TelegramPayments
from services.rules import ShopRules
from tests.conftest import PAYMENT_SECRET, TEST_RULES, make_context
from tests.handlers.chat import CoreChat
from tests.handlers.test_checkout import checkout_to_review, fill_cart, orders_of
from tests.shop import ShopData, buyer, pay, place

STRANGER = 2002


@pytest.fixture
def rules() -> ShopRules:
    """The test shop with Telegram Payments enabled too."""
    return replace(TEST_RULES, payment_methods=("sandbox", "telegram", "cod"))


@pytest.fixture
def telegram() -> TelegramPayments:
    """The Telegram provider (it records the refunds handed to the merchant)."""
    return TelegramPayments()


@pytest.fixture
def svc(db: Database, rules: ShopRules, clock: FakeClock, telegram: TelegramPayments) -> Services:
    """Services whose provider registry includes Telegram Payments."""
    providers = ProviderRegistry([SandboxProvider(PAYMENT_SECRET, "http://pay.test"), telegram,
                                  CashOnDelivery()])
    return build_services(replace(make_context(db, rules, clock), payments=providers))


async def telegram_order(svc: Services, chat: CoreChat, shop: ShopData) -> tuple[Order, SendInvoice]:
    """Check out 2 teas with Telegram Payments; the order and the invoice sent."""
    await fill_cart(svc, chat, {shop.tea: 2})
    await checkout_to_review(chat, payment="Telegram Payments")
    await chat.click("Confirm order")
    invoices = [r for r in chat.last if isinstance(r, SendInvoice)]
    assert len(invoices) == 1
    (order,) = await orders_of(svc)
    return order, invoices[0]


async def pre_checkout(chat: CoreChat, payload: str, amount: int, currency: str = "CNY") -> AnswerPreCheckout:
    """Telegram's pre-checkout query for an invoice; the bot's answer."""
    replies = await chat.deliver(chat._event(
        "pre_checkout", payment=Payment(payload, currency, amount, query_id="pcq-1")))
    (answer,) = [r for r in replies if isinstance(r, AnswerPreCheckout)]
    assert answer.query_id == "pcq-1"
    return answer


def paid_event(chat: CoreChat, payload: str, amount: int, charge: str = "tg-charge-1") -> Event:
    """A successful_payment message."""
    return chat._event("successful_payment", payment=Payment(
        payload, "CNY", amount, telegram_charge_id=charge, provider_charge_id=f"prov-{charge}"))


async def payments_of(svc: Services) -> list[PaymentRow]:
    """Every captured payment."""
    async with svc.ctx.db.read() as session:
        return list((await session.scalars(select(PaymentRow))).all())


def texts(replies: list[Reply]) -> list[str]:
    """Texts of sent messages."""
    return [r.text for r in replies if isinstance(r, SendText)]


# --- the invoice -------------------------------------------------------------------------------
async def test_telegram_checkout_sends_an_invoice(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    order, invoice = await telegram_order(svc, chat, shop)
    assert (invoice.payload, invoice.amount, invoice.currency, invoice.provider_token) == (
        order.number, order.total, "CNY", "TEST:provider")
    assert order.total == 11000 and order.payment_method == "telegram"
    assert 0 < len(invoice.title) <= 32 and 0 < len(invoice.description) <= 255
    assert len(invoice.payload.encode()) <= 128
    # One message in place of the review says the order is placed, and the invoice comes right
    # below it (the message says "below", and it is).
    placed = next(r for r in chat.last if isinstance(r, EditText))
    assert "is placed" in placed.text and "CN¥110.00" in placed.text
    assert "Please pay with the invoice below by" in placed.text
    assert chat.last.index(placed) < chat.last.index(invoice) and not texts(chat.last)
    assert "🔄 Check payment" in chat.buttons()


# --- pre-checkout ------------------------------------------------------------------------------
async def test_pre_checkout_ok_for_a_payable_order(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    answer = await pre_checkout(chat, order.number, order.total)
    assert answer.ok and answer.error_message is None


async def test_pre_checkout_refused_when_sold_out_meanwhile(
    chat: CoreChat, svc: Services, shop: ShopData, clock: FakeClock
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    async with svc.ctx.db.write() as session:  # the reservation is lost and the shelf is empty
        await stock.release(session, order.id, clock.now())
        await session.execute(update(Stock).where(Stock.product_id == shop.tea).values(on_hand=0))
    answer = await pre_checkout(chat, order.number, order.total)
    assert not answer.ok and "just sold out" in (answer.error_message or "")


async def test_pre_checkout_refused_for_another_users_order(
    chat: CoreChat, svc: Services, shop: ShopData, conversation: Conversation
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    stranger = CoreChat(conversation, user_id=STRANGER)
    answer = await pre_checkout(stranger, order.number, order.total)
    assert not answer.ok and "could not be found" in (answer.error_message or "")


@pytest.mark.parametrize(("delta", "currency"), [(-1, "CNY"), (1, "CNY"), (0, "USD"), (-11000, "CNY")])
async def test_pre_checkout_refused_for_a_wrong_amount(
    chat: CoreChat, svc: Services, shop: ShopData, delta: int, currency: str
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    answer = await pre_checkout(chat, order.number, order.total + delta, currency)
    assert not answer.ok and "amount does not match" in (answer.error_message or "")


async def test_pre_checkout_refused_for_an_expired_order(
    chat: CoreChat, svc: Services, shop: ShopData, clock: FakeClock
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    clock.advance(minutes=31)  # past the deadline, before the sweep has run
    answer = await pre_checkout(chat, order.number, order.total)
    assert not answer.ok and "run out" in (answer.error_message or "")
    assert await svc.sweeps.expire_unpaid() == 1
    answer = await pre_checkout(chat, order.number, order.total)
    assert not answer.ok and "run out" in (answer.error_message or "")


@pytest.mark.parametrize("payload", ["", "nope", "9" * 12, "x" * 128, "１２３"])
async def test_pre_checkout_refused_for_an_unknown_payload(
    chat: CoreChat, svc: Services, shop: ShopData, payload: str
) -> None:
    await telegram_order(svc, chat, shop)
    answer = await pre_checkout(chat, payload, 11000)
    assert not answer.ok and answer.error_message


async def test_pre_checkout_refused_for_a_paid_or_link_order(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    await chat.deliver(paid_event(chat, order.number, order.total))
    answer = await pre_checkout(chat, order.number, order.total)
    assert not answer.ok and "no longer waiting" in (answer.error_message or "")
    link_order = await place(svc, await buyer(svc, chat.user.id), {shop.mug: 1})  # payment link
    answer = await pre_checkout(chat, link_order.number, link_order.total)
    assert not answer.ok


# --- successful_payment ------------------------------------------------------------------------
async def test_successful_payment_is_applied_once(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    event = paid_event(chat, order.number, order.total)
    replies = await chat.deliver(event)
    assert texts(replies) == [(f"✅ Payment of CN¥110.00 received for order No. {order.number}. "
                               "Thank you! We will let you know when it ships.")]
    assert await chat.repeat(event) == []  # the same update again
    # The same charge in another update: paid once and told once (nothing more to say).
    assert await chat.deliver(paid_event(chat, order.number, order.total)) == []
    (payment,) = await payments_of(svc)
    assert (payment.provider, payment.provider_charge_id, payment.amount) == (
        "telegram", "tg-charge-1", 11000)
    (placed,) = await orders_of(svc)
    assert placed.status == "awaiting_review"
    async with svc.ctx.db.read() as session:
        paid = await session.scalars(select(OrderEvent).where(
            OrderEvent.order_id == order.id, OrderEvent.from_status == "pending_payment"))
        assert len(paid.all()) == 1


async def test_a_wrong_amount_paid_is_refunded(
    chat: CoreChat, svc: Services, shop: ShopData, telegram: TelegramPayments
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    await chat.deliver(paid_event(chat, order.number, order.total - 100))
    assert "will be refunded" in chat.last_text
    assert telegram.refunds == [("tg-charge-1", 10900)]
    async with svc.ctx.db.read() as session:
        (refund,) = (await session.scalars(select(Refund))).all()
    assert refund.status == "succeeded" and refund.provider_refund_id.startswith(MANUAL_REFUND_PREFIX)
    (placed,) = await orders_of(svc)
    assert placed.status == "pending_payment"


async def test_payment_after_a_lost_reservation_is_out_of_stock(
    chat: CoreChat, svc: Services, shop: ShopData, clock: FakeClock
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    async with svc.ctx.db.write() as session:
        await stock.release(session, order.id, clock.now())
    await chat.deliver(paid_event(chat, order.number, order.total))
    assert "just sold out" in chat.last_text
    (placed,) = await orders_of(svc)
    assert placed.status == "out_of_stock"


async def test_a_successful_payment_without_a_charge_id_gets_an_answer(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    await chat.deliver(chat._event("successful_payment", payment=Payment("123", "CNY", 100)))
    assert "payment could not be processed" in chat.last_text
    assert await payments_of(svc) == []


# --- "Check payment" ---------------------------------------------------------------------------
async def test_check_payment_button(chat: CoreChat, svc: Services, shop: ShopData,
                                    conversation: Conversation) -> None:
    await fill_cart(svc, chat, {shop.tea: 1})
    await checkout_to_review(chat)
    await chat.click("Confirm order")
    (order,) = await orders_of(svc)
    await chat.click("Check payment")
    assert chat.answers[0].text == "Not paid yet."
    assert "Pay now" in chat.buttons()[0] and "CN¥60.00 to pay" in chat.last_text

    stranger = CoreChat(conversation, user_id=STRANGER)
    await stranger.press(f"paylink:{order.id}")
    assert stranger.answers[0].alert and "could not find that order" in stranger.answers[0].text

    await pay(svc, order.number, order.total)
    await chat.click("Check payment")
    assert chat.answers[0].alert and chat.answers[0].text == f"Order No. {order.number} is paid. Thank you!"
    await chat.press("paylink:99999")
    assert "could not find that order" in chat.answers[0].text


async def test_check_payment_of_a_cancelled_order(chat: CoreChat, svc: Services, shop: ShopData) -> None:
    customer = await buyer(svc, chat.user.id)
    order = await place(svc, customer, {shop.mug: 1})
    await svc.orders.cancel_by_customer(customer.id, order.id)
    await chat.press(f"paylink:{order.id}")
    assert "no longer waiting for payment" in chat.answers[0].text


# --- money first: the inbox -------------------------------------------------------------------
async def inbox_of(svc: Services) -> list[PaymentInboxEntry]:
    """Every money event written down."""
    async with svc.ctx.db.read() as session:
        return list((await session.scalars(select(PaymentInboxEntry))).all())


async def outbox_of(svc: Services, template: str) -> list[OutboxMessage]:
    """Queued messages of a template."""
    async with svc.ctx.db.read() as session:
        return list((await session.scalars(select(OutboxMessage).where(
            OutboxMessage.template == template).order_by(OutboxMessage.id))).all())


def read(svc: Services, message: OutboxMessage, language: str = "en") -> str:
    """The text a queued message is sent with."""
    return notice_text(Translator(language, "Asia/Shanghai"), message.template, message.params,
                       svc.ctx)


async def test_a_payment_for_no_order_is_kept_and_the_merchant_alerted(
    chat: CoreChat, svc: Services, shop: ShopData
) -> None:
    lost = chat._event("successful_payment", payment=Payment(
        "nope", "USD", 1234, telegram_charge_id="tg-lost", provider_charge_id="prov-lost"))
    await chat.deliver(lost)
    assert "could not match it to an order" in chat.last_text and "$12.34" in chat.last_text
    (entry,) = await inbox_of(svc)
    assert (entry.charge_id, entry.amount, entry.currency, entry.status) == (
        "tg-lost", 1234, "USD", "unmatched")
    (alert,) = await outbox_of(svc, "alert_payment_unmatched")
    assert "$12.34" in read(svc, alert) and "tg-lost" in read(svc, alert)
    assert "US$12.34" in read(svc, alert, "zh_CN") and "tg-lost" in read(svc, alert, "zh_CN")
    # The same charge in another update: nothing more is said, nothing more alerted.
    assert await chat.deliver(replace(lost, update_id=lost.update_id + 10_000)) == []
    assert len(await outbox_of(svc, "alert_payment_unmatched")) == 1
    assert await payments_of(svc) == []


async def test_a_failing_first_try_then_the_same_charge_again_is_paid_once(
    chat: CoreChat, svc: Services, shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, _ = await telegram_order(svc, chat, shop)
    settle, tries = svc.payments.settle, []

    async def fails_once(*args: Any) -> Any:
        tries.append(args)
        if len(tries) == 1:
            raise RuntimeError("the payment service failed")
        return await settle(*args)

    monkeypatch.setattr(svc.payments, "settle", fails_once)
    with pytest.raises(RuntimeError):
        await chat.deliver(paid_event(chat, order.number, order.total))
    assert [(e.charge_id, e.status) for e in await inbox_of(svc)] == [("tg-charge-1", "received")]
    await chat.deliver(paid_event(chat, order.number, order.total))  # Telegram again
    assert texts(chat.last) == [(f"✅ Payment of CN¥110.00 received for order No. {order.number}. "
                                 "Thank you! We will let you know when it ships.")]
    assert len(await payments_of(svc)) == 1
    assert len(await outbox_of(svc, "order_paid")) == 1


async def test_a_usd_payment_is_refunded_and_announced_in_usd(
    chat: CoreChat, svc: Services, shop: ShopData, telegram: TelegramPayments
) -> None:
    order, _ = await telegram_order(svc, chat, shop)  # a CNY order, paid in dollars
    await chat.deliver(chat._event("successful_payment", payment=Payment(
        order.number, "USD", order.total, telegram_charge_id="tg-usd")))
    assert "$110.00" in chat.last_text and "will be refunded" in chat.last_text
    assert telegram.refunds == [("tg-usd", order.total)]
    (refunded,) = await outbox_of(svc, "order_refunded")
    assert "$110.00 was refunded" in read(svc, refunded)
    assert "US$110.00" in read(svc, refunded, "zh_CN")
    (problem,) = await outbox_of(svc, "alert_payment_problem")
    assert "refunded $110.00" in read(svc, problem)
    assert "CN¥" not in read(svc, refunded) + read(svc, problem)
