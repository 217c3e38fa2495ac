"""Invoices and the payment flow: shipping query, pre-checkout query, successful_payment."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

from sandbox.server.errors import bad_request
from sandbox.server.formatting import utf16_len
from sandbox.server.methods.common import (
    Call,
    check_markup,
    deliver,
    method,
    reply_to,
    target_chat,
    thread_for,
)
from sandbox.server.models import BotRecord, SimUser
from sandbox.server.state import SandboxState

_INVOICE_KEYS = (
    "title",
    "description",
    "payload",
    "provider_token",
    "currency",
    "prices",
    "max_tip_amount",
    "suggested_tip_amounts",
    "start_parameter",
    "need_name",
    "need_phone_number",
    "need_email",
    "need_shipping_address",
    "is_flexible",
    "photo_url",
    "subscription_period",
)


class PaymentError(Exception):
    """A payment the simulated user attempted did not go through (the reason is the message)."""


def _check_invoice(call: Call) -> dict[str, Any]:
    """Telegram's invoice limits; returns the stored invoice details."""
    title, description = call.get("title", ""), call.get("description", "")
    payload = call.get("payload", "")
    currency = str(call.get("currency", "")).upper()
    prices = call.get("prices") or []
    if not 1 <= utf16_len(title) <= 32:
        raise bad_request("INVOICE_TITLE_INVALID")
    if not 1 <= utf16_len(description) <= 255:
        raise bad_request("INVOICE_DESCRIPTION_INVALID")
    if not 1 <= len(payload.encode("utf-8")) <= 128:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise bad_request("CURRENCY_INVALID")
    if not prices:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    if currency == "XTR":
        if len(prices) != 1:
            raise bad_request("STARS_INVOICE_INVALID")
    elif not call.get("provider_token"):
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    total = sum(int(p.get("amount", 0)) for p in prices)
    if total <= 0:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    details = {k: call.get(k) for k in _INVOICE_KEYS if call.get(k) is not None}
    details["currency"] = currency
    details["total_amount"] = total
    details["bot_id"] = call.bot.id
    return details


def invoice_object(details: dict[str, Any]) -> dict[str, Any]:
    """The Invoice object shown in a message."""
    return {
        "title": details["title"],
        "description": details["description"],
        "start_parameter": details.get("start_parameter", ""),
        "currency": details["currency"],
        "total_amount": details["total_amount"],
    }


@method("sendInvoice")
async def send_invoice(call: Call) -> dict[str, Any]:
    """sendInvoice: an invoice message the simulated user can pay."""
    chat = target_chat(call)
    thread = thread_for(call, chat)
    details = _check_invoice(call)
    markup = check_markup(call.get("reply_markup"))
    if markup and "inline_keyboard" in markup:
        first = (markup["inline_keyboard"] or [[{}]])[0][0]
        if not first.get("pay"):
            raise bad_request("first button must be a Pay button")  # Telegram's rule
    content = {"invoice": invoice_object(details), "_invoice": details}
    return deliver(call, chat, content, thread=thread, markup=markup, reply=reply_to(call, chat))


@method("createInvoiceLink")
async def create_invoice_link(call: Call) -> str:
    """createInvoiceLink: https://t.me/$<slug>, payable through the client."""
    details = _check_invoice(call)
    slug = secrets.token_urlsafe(12).replace("-", "A").replace("_", "B")
    call.state.invoice_links[slug] = details
    return f"https://t.me/${slug}"


def _labeled_price(price: Any) -> str | None:
    """Why a LabeledPrice is refused (the Bot API server's words), or None."""
    if not isinstance(price, dict):
        return "LabeledPrice must be an Object"
    if not isinstance(price.get("label"), str):
        return 'Field "label" must be of type String'
    if not price["label"]:
        return "LabeledPrice label must be non-empty"
    if isinstance(price.get("amount"), bool) or not isinstance(price.get("amount"), int):
        return 'Field "amount" must be of type Number'
    return None


def _shipping_option(option: Any) -> str | None:
    """Why a ShippingOption is refused (the Bot API server's words), or None."""
    if not isinstance(option, dict):
        return "ShippingOption must be an Object"
    for field in ("id", "title"):
        if not isinstance(option.get(field), str):
            return f'Field "{field}" must be of type String'
    if not option["id"]:
        return "ShippingOption identifier must be non-empty"
    if not option["title"]:
        return "ShippingOption title must be non-empty"
    prices = option.get("prices")
    if not isinstance(prices, list):
        return "Can't parse shipping option prices: Expected an Array of labeled prices"
    for price in prices:
        problem = _labeled_price(price)
        if problem:
            return f"Can't parse shipping option prices: Can't parse labeled price: {problem}"
    if not prices:
        return "Can't parse shipping option prices: There must be at least one price"
    return None


def _check_shipping_options(options: Any) -> None:
    """answerShippingQuery's shipping_options as the Bot API server checks them."""
    if options is None:
        raise bad_request('Parameter "shipping_options" is required')
    if not isinstance(options, list):
        raise bad_request("Expected an Array of shipping options")
    for option in options:
        problem = _shipping_option(option)
        if problem:
            raise bad_request(f"Can't parse shipping option: {problem}")
    if not options:
        raise bad_request("There must be at least one shipping option")


@method("answerShippingQuery")
async def answer_shipping_query(call: Call) -> bool:
    """answerShippingQuery: ok needs shipping_options, not ok needs error_message (checked as
    the Bot API server checks them), once, within the shipping timeout."""
    ok = bool(call.get("ok"))
    if ok:
        _check_shipping_options(call.get("shipping_options"))
    elif not call.get("error_message"):
        raise bad_request('Parameter "error_message" is required')
    call.state.answer_query(
        call.bot.id,
        call.get("shipping_query_id"),
        "shipping_query",
        {
            "ok": ok,
            "shipping_options": call.get("shipping_options") or [],
            "error_message": call.get("error_message"),
        },
    )
    return True


@method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(call: Call) -> bool:
    """answerPreCheckoutQuery: within the pre-checkout timeout (10 s), once."""
    ok = bool(call.get("ok"))
    if not ok and not call.get("error_message"):
        raise bad_request('Parameter "error_message" is required')
    call.state.answer_query(
        call.bot.id,
        call.get("pre_checkout_query_id"),
        "pre_checkout_query",
        {"ok": ok, "error_message": call.get("error_message")},
    )
    return True


def find_invoice(state: SandboxState, link: str) -> dict[str, Any]:
    """Invoice details from an invoice link (https://t.me/$slug, t.me/invoice/slug or $slug)."""
    m = re.search(r"(?:\$|/invoice/)([A-Za-z0-9_-]+)$", link.strip())
    details = state.invoice_links.get(m.group(1)) if m else None
    if details is None:
        raise PaymentError("invoice link not found")
    return details


def _order_info(
    user: SimUser, details: dict[str, Any], address: dict[str, Any], typed: dict[str, Any]
) -> dict[str, Any] | None:
    """OrderInfo as the Bot API gives it: only what the invoice asked for, an empty field left
    out. The form starts with the account's name and number; `typed` is what the user entered
    instead."""
    info: dict[str, Any] = {}
    if details.get("need_name"):
        info["name"] = typed.get("name", " ".join(
            p for p in (user.first_name, user.last_name) if p))
    if details.get("need_phone_number"):
        info["phone_number"] = str(typed.get("phone_number", user.phone_number or "")).lstrip("+")
    if details.get("need_email"):
        info["email"] = typed.get("email", f"{user.username or user.id}@example.com")
    info = {k: v for k, v in info.items() if v}
    if details.get("need_shipping_address"):
        info["shipping_address"] = address
    return info or None


async def _ask(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    kind: str,
    timeout: float,
    payload: dict[str, Any],
) -> dict[str, Any]:
    q = state.new_query(kind, bot.id, user.id, timeout)
    state.enqueue_update(bot, kind, {"id": q.id, "from": user.to_api(), **payload})
    assert q.future is not None
    try:
        return await asyncio.wait_for(asyncio.shield(q.future), timeout)
    except TimeoutError:
        q.answered = True  # a late answer now gets "query is too old"
        raise PaymentError(f"the bot did not answer the {kind} in time") from None


ADDRESS_FIELDS = ("country_code", "state", "city", "street_line1", "street_line2", "post_code")
DEFAULT_ADDRESS = {
    "country_code": "US",
    "state": "CA",
    "city": "San Francisco",
    "street_line1": "1 Market St",
    "street_line2": "",
    "post_code": "94105",
}


async def pay_invoice(
    state: SandboxState,
    bot: BotRecord,
    user: SimUser,
    details: dict[str, Any],
    *,
    tip: int = 0,
    shipping_option_id: str | None = None,
    shipping_address: dict[str, Any] | None = None,
    order_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run Telegram's payment flow as `user`; return the successful_payment message.

    `shipping_address` and `order_info` (name, phone_number, email) are what the user types on
    the form. As in Telegram, the bot gets a shipping query only for an invoice that asks for a
    shipping address and is flexible; every ShippingAddress field is a string ("" if empty).
    """
    if user.id in bot.blocked_by:
        raise PaymentError("the user has blocked the bot")
    typed = shipping_address or DEFAULT_ADDRESS
    address = {name: str(typed.get(name, "")) for name in ADDRESS_FIELDS}
    total = int(details["total_amount"]) + int(tip)
    payload = str(details["payload"])
    chosen: str | None = None
    if details.get("is_flexible") and details.get("need_shipping_address"):
        answer = await _ask(
            state,
            bot,
            user,
            "shipping_query",
            state.config.shipping_timeout,
            {"invoice_payload": payload, "shipping_address": address},
        )
        if not answer["ok"]:
            raise PaymentError(answer.get("error_message") or "shipping is not available")
        options = answer["shipping_options"]
        option = next((o for o in options if o.get("id") == shipping_option_id), None)
        if option is None:
            if shipping_option_id:
                raise PaymentError(f"shipping option {shipping_option_id!r} was not offered")
            option = options[0]
        chosen = str(option["id"])
        total += sum(int(p["amount"]) for p in option.get("prices", []))
    info = _order_info(user, details, address, order_info or {})
    query: dict[str, Any] = {
        "currency": details["currency"],
        "total_amount": total,
        "invoice_payload": payload,
    }
    if chosen:
        query["shipping_option_id"] = chosen
    if info:
        query["order_info"] = info
    answer = await _ask(
        state, bot, user, "pre_checkout_query", state.config.pre_checkout_timeout, query
    )
    if not answer["ok"]:
        raise PaymentError(answer.get("error_message") or "payment was declined by the bot")
    paid = {
        **query,
        "telegram_payment_charge_id": state.next_charge_id("tg"),
        "provider_payment_charge_id": state.next_charge_id("provider"),
    }
    chat = state.chats[user.id]
    msg = state.store_message(bot.id, chat, user, {"successful_payment": paid})
    state.enqueue_update(bot, "message", msg)
    return msg
