"""The sandbox payment provider's local pay page, as an aiohttp sub-application mounted at /pay.

    app.add_subapp(PREFIX, pay_page_app(services, provider))

- GET  /pay/sandbox?order=..&amount=..&currency=..&sig=..  the page: order number, amount, Pay/Fail
- POST /pay/sandbox/confirm  (the same signed query + action=pay|fail)  what the buttons post
- POST /pay/sandbox/callback (raw JSON body, header X-Sandbox-Signature)  a PSP's server callback

Pressing Pay does exactly what a real provider does: it signs a "charge succeeded" body and
applies it through PaymentInbox.handle_callback. The charge id is derived from the signed link,
so a double click (or a reloaded form) is the same charge and is counted once.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from aiohttp import web

from handlers.i18n import Translator
from models import OrderStatus
from services.container import Services
from services.customers import language_of
from services.errors import NotFound, PaymentError
from services.payments.sandbox import SandboxProvider

PREFIX = "/pay"
SIGNATURE_HEADER = "X-Sandbox-Signature"
MAX_BODY = 16_384
log = logging.getLogger(__name__)

SERVICES_KEY = web.AppKey("services", Services)
PROVIDER_KEY = web.AppKey("provider", SandboxProvider)

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }}
.box {{ border: 1px solid #ccc; border-radius: .5rem; padding: 1.5rem; }}
button {{ font-size: 1rem; padding: .6rem 1.4rem; margin: .3rem .3rem 0 0; cursor: pointer; }}
.pay {{ background: #2a7; color: #fff; border: 0; border-radius: .3rem; }}
.note {{ color: #777; font-size: .85rem; }}
</style></head>
<body><div class="box">{body}</div></body></html>
"""


@dataclass(frozen=True)
class SignedLink:
    """The query of a pay link: what the provider signed."""

    order: str
    amount: int
    currency: str
    sig: str


def _translator(request: web.Request) -> Translator:
    """The page speaks the browser's language (Chinese or English)."""
    return Translator(language_of(request.headers.get("Accept-Language", "")[:2]),
                      request.app[SERVICES_KEY].ctx.rules.timezone)


def _page(t: Translator, status: int, *paragraphs: str, form: str = "") -> web.Response:
    body = "".join(f"<p>{p}</p>" for p in paragraphs) + form
    text = _PAGE.format(lang=t.language.replace("_", "-"), title=html.escape(t("paypage.title")),
                        body=body)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _link(fields: dict[str, str], provider: SandboxProvider) -> SignedLink | None:
    """The link's fields when they are well-formed and signed by the provider, else None."""
    try:
        link = SignedLink(str(fields["order"]), int(fields["amount"]), str(fields["currency"]),
                          str(fields["sig"]))
    except (KeyError, ValueError):
        return None
    genuine = provider.link_is_genuine(link.order, link.amount, link.currency, link.sig)
    return link if genuine else None


def charge_id(provider: SandboxProvider, link: SignedLink) -> str:
    """One charge per signed link: a second Pay on the same link repeats the same charge."""
    return "sbx_" + provider.sign(f"charge:{link.sig}".encode())[:40]


async def show(request: web.Request) -> web.Response:
    """GET: the pay page of a signed link (403 for anything else)."""
    t, provider = _translator(request), request.app[PROVIDER_KEY]
    link = _link(dict(request.query), provider)
    if link is None:
        return _page(t, 403, html.escape(t("paypage.forged")))
    heading = [f"<b>{html.escape(t('paypage.order', number=link.order))}</b>",
               html.escape(t("paypage.amount", amount=t.money(link.amount, link.currency)))]
    try:
        order = await request.app[SERVICES_KEY].orders.by_number(link.order)
    except NotFound:
        return _page(t, 404, html.escape(t("paypage.not_found")))
    if order.status != OrderStatus.PENDING_PAYMENT:
        return _page(t, 200, *heading, html.escape(t("paypage.not_payable")))
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(str(value))}">'
        for name, value in (("order", link.order), ("amount", link.amount),
                            ("currency", link.currency), ("sig", link.sig)))
    action = request.app.router["confirm"].url_for()
    form = (f'<form method="post" action="{action}">{hidden}'
            f'<button class="pay" name="action" value="pay">'
            f'{html.escape(t("paypage.pay"))}</button>'
            f'<button name="action" value="fail">{html.escape(t("paypage.fail"))}</button></form>'
            f'<p class="note">{html.escape(t("paypage.note"))}</p>')
    return _page(t, 200, *heading, form=form)


async def confirm(request: web.Request) -> web.Response:
    """POST from the page's buttons: Pay applies a signed capture; Fail leaves the order unpaid."""
    t, provider = _translator(request), request.app[PROVIDER_KEY]
    form = await request.post()
    link = _link({k: str(v) for k, v in form.items()}, provider)
    if link is None:
        return _page(t, 403, html.escape(t("paypage.forged")))
    if form.get("action") != "pay":
        return _page(t, 200, html.escape(t("paypage.failed")))
    try:  # no charge for an order that is gone (the callback would keep such money)
        await request.app[SERVICES_KEY].orders.by_number(link.order)
    except NotFound:
        return _page(t, 400, html.escape(t("paypage.not_found")))
    body = provider.event_body(link.order, link.amount, link.currency, charge_id(provider, link))
    try:
        outcome = await request.app[SERVICES_KEY].payment_inbox.handle_callback(
            provider.code, body, provider.sign(body))
    except PaymentError:
        return _page(t, 400, html.escape(t("paypage.bad_request")))
    key = "paypage.refunded" if outcome.refunded else "paypage.paid"
    return _page(t, 200, html.escape(t(key)))


async def callback(request: web.Request) -> web.Response:
    """POST from a provider's server: 200 only once the payment is committed, 400 when refused."""
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return web.json_response({"error": "body too large"}, status=413)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        outcome = await request.app[SERVICES_KEY].payment_inbox.handle_callback(
            request.app[PROVIDER_KEY].code, body, signature)
    except PaymentError as error:
        log.warning("sandbox payment callback refused: %s", error)
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"order": outcome.order_number, "status": outcome.status,
                              "duplicate": outcome.duplicate, "refunded": outcome.refunded})


def pay_page_app(services: Services, provider: SandboxProvider) -> web.Application:
    """The pay page and its callback, to mount at PREFIX (the links the provider makes)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[SERVICES_KEY] = services
    app[PROVIDER_KEY] = provider
    app.router.add_get("/sandbox", show, name="show")
    app.router.add_post("/sandbox/confirm", confirm, name="confirm")
    app.router.add_post("/sandbox/callback", callback, name="callback")
    return app
