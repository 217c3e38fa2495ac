"""Stripe Checkout on the bot's web app, as an aiohttp sub-application mounted at /stripe.

    app.add_subapp(PREFIX, stripe_app(services, me))

- GET  /stripe/pay?order=..&sig=..     the Pay button: opens the order's Checkout Session (303)
- GET  /stripe/done?order=..&sig=..&session_id=..   Stripe's success_url: back to the chat
- GET  /stripe/cancel?order=..&sig=..  Stripe's cancel_url: not paid, back to the chat
- POST /stripe/webhook                 Stripe's events (header Stripe-Signature)

The webhook answers 200 only once the event is committed (Stripe retries anything else for
three days), 400 for a body that is not a genuine, fresh Stripe event (nothing changes).
"""
from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.paypage import SERVICES_KEY, _page, _translator
from models import OrderStatus
from services.container import Services
from services.errors import NotFound, PaymentError
from services.payments.stripe import (
    MINIMUM,
    CheckoutLine,
    CheckoutOrder,
    StripeProvider,
    session_expiry,
)
from services.payments.stripe_events import StripeEvents

PREFIX = "/stripe"
SIGNATURE_HEADER = "Stripe-Signature"
MAX_BODY = 65_536  # Stripe's events are a few kilobytes
log = logging.getLogger(__name__)

Me = Callable[[], Awaitable[tuple[int, str]]]  # the bot's id and username (getMe)
EVENTS_KEY = web.AppKey("stripe_events", StripeEvents)
ME_KEY: web.AppKey[Me] = web.AppKey("me")


def _provider(request: web.Request) -> StripeProvider:
    return request.app[EVENTS_KEY].provider


async def _chat_link(request: web.Request) -> str:
    """A link back to the bot's chat (empty when the bot's name cannot be learned now)."""
    try:
        _, username = await request.app[ME_KEY]()
    except Exception:  # noqa: BLE001 - the page still says what happened without the link
        log.warning("getMe failed: the Stripe page has no link back to the chat")
        return ""
    return f"https://t.me/{username}" if username else ""


async def _back_page(request: web.Request, status: int, *texts: str) -> web.Response:
    t = _translator(request)
    link = await _chat_link(request)
    back = (f'<p><a href="{html.escape(link)}">{html.escape(t("stripe.back_to_chat"))}</a></p>'
            if link else "")
    return _page(t, status, *(html.escape(text) for text in texts), form=back)


async def pay(request: web.Request) -> web.Response:
    """The Pay button: a still payable order goes to its Checkout Session."""
    t, provider = _translator(request), _provider(request)
    number, sig = request.query.get("order", ""), request.query.get("sig", "")
    if not provider.link_is_genuine(number, sig):
        return _page(t, 403, html.escape(t("paypage.forged")))
    services = request.app[SERVICES_KEY]
    try:
        order = await services.orders.by_number(number)
    except NotFound:
        return _page(t, 404, html.escape(t("paypage.not_found")))
    now = services.ctx.clock.now()
    if order.status != OrderStatus.PENDING_PAYMENT or order.payment_method != provider.code or (
            order.payment_deadline is not None and order.payment_deadline <= now):
        return await _back_page(request, 200, t("paypage.not_payable"))
    if order.total < MINIMUM.get(order.currency, 0):
        return await _back_page(request, 200, t("stripe.below_minimum", amount=t.money(
            MINIMUM[order.currency], order.currency)))
    names = [(line.name_zh if t.language == "zh_CN" else line.name_en) or line.name_en
             for line in order.lines]
    lines = [CheckoutLine(name, line.unit_price, line.quantity)
             for name, line in zip(names, order.lines, strict=True)]
    if order.delivery_fee:
        lines.append(CheckoutLine(t("stripe.delivery"), order.delivery_fee, 1))
    checkout = CheckoutOrder(order.number, tuple(lines), order.total, order.currency,
                             session_expiry(order.payment_deadline, order.created_at))
    try:
        url = await provider.checkout_url(checkout)
    except PaymentError as error:
        log.warning("Stripe Checkout for order %s failed: %s", order.number, error)
        return await _back_page(request, 502, t("stripe.unavailable"))
    raise web.HTTPSeeOther(url)


async def done(request: web.Request) -> web.Response:
    """Stripe's success page: paid, or (Alipay, bank) being confirmed; the chat tells which."""
    t = _translator(request)
    if not _provider(request).link_is_genuine(request.query.get("order", ""),
                                              request.query.get("sig", "")):
        return _page(t, 403, html.escape(t("paypage.forged")))
    return await _back_page(request, 200, t("stripe.done"))


async def cancel(request: web.Request) -> web.Response:
    """Stripe's back button: nothing was charged; the order waits until its deadline."""
    t = _translator(request)
    if not _provider(request).link_is_genuine(request.query.get("order", ""),
                                              request.query.get("sig", "")):
        return _page(t, 403, html.escape(t("paypage.forged")))
    return await _back_page(request, 200, t("stripe.cancelled"))


async def webhook(request: web.Request) -> web.Response:
    """A Stripe event: 200 once applied (or known), 400 when it is not a genuine fresh event."""
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return web.json_response({"error": "body too large"}, status=413)
    try:
        outcome = await request.app[EVENTS_KEY].handle(
            body, request.headers.get(SIGNATURE_HEADER, ""))
    except PaymentError as error:
        log.warning("Stripe webhook refused: %s", error)
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"event": outcome.event_id, "result": outcome.result,
                              "order": outcome.order_number})


def stripe_app(services: Services, me: Me) -> web.Application:
    """The Stripe pages and webhook, to mount at PREFIX (the links the provider makes)."""
    app = web.Application(client_max_size=MAX_BODY)
    events = StripeEvents(services.ctx, services.payment_inbox)
    app[SERVICES_KEY], app[EVENTS_KEY], app[ME_KEY] = services, events, me

    async def close(_: web.Application) -> None:
        await events.provider.close()

    app.on_cleanup.append(close)
    app.router.add_get("/pay", pay, name="pay")
    app.router.add_get("/done", done, name="done")
    app.router.add_get("/cancel", cancel, name="cancel")
    app.router.add_post("/webhook", webhook, name="webhook")
    return app
