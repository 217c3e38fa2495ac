"""Invoices paid end to end by a simulated user against aiogram and PTB bots."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.client import PaymentError
from sandbox.testing import Sandbox

LIBS = ["aiogram", "ptb"]


@pytest.mark.parametrize("library", LIBS)
async def test_send_invoice_paid(sb: Sandbox, run_bot, library: str) -> None:
    alice = sb.user("Alice", last_name="Liddell")
    async with run_bot(library, "polling"):
        await alice.command("/buy", "order-42")
        invoice_msg = await alice.wait_for_message(timeout=5)
        assert invoice_msg.invoice == {
            "title": "Tea set",
            "description": "Green tea and a cake",
            "start_parameter": "",
            "currency": "USD",
            "total_amount": 750,
        }
        receipt = await alice.pay()
        paid = receipt["successful_payment"]
        assert paid["total_amount"] == 750 and paid["invoice_payload"] == "order-42"
        assert paid["order_info"] == {"name": "Alice Liddell"}
        assert receipt["from"]["id"] == alice.id  # the service message comes from the payer
        thanks = await alice.wait_for_message(timeout=5)
        assert thanks.text == "Paid 750 USD for order-42"

        # Paying again gives new, unique charge ids.
        again = (await alice.pay())["successful_payment"]
        assert again["telegram_payment_charge_id"] != paid["telegram_payment_charge_id"]
        assert again["provider_payment_charge_id"] != paid["provider_payment_charge_id"]
    answered = [e for e in sb.requests("answerPreCheckoutQuery") if e.ok]
    assert [e.params["ok"] for e in answered] == [True, True]


@pytest.mark.parametrize("library", LIBS)
async def test_flexible_invoice_goes_through_shipping(sb: Sandbox, run_bot, library: str) -> None:
    bob = sb.user("Bob", username="bob")
    async with run_bot(library, "polling"):
        await bob.command("/flex", "parcel")
        await bob.wait_for_message(timeout=5)
        receipt = await bob.pay()
        paid = receipt["successful_payment"]
        assert paid["total_amount"] == 750 + 300  # goods + courier option from the bot
        assert paid["shipping_option_id"] == "courier"
        assert paid["order_info"]["email"] == "bob@example.com"
        assert paid["order_info"]["shipping_address"]["country_code"] == "US"
    assert [e.method for e in sb.requests() if e.method.startswith("answer")] == [
        "answerShippingQuery",
        "answerPreCheckoutQuery",
    ]


@pytest.mark.parametrize("library", LIBS)
async def test_invoice_link_paid(sb: Sandbox, run_bot, library: str) -> None:
    carol = sb.user("Carol")
    async with run_bot(library, "polling"):
        await carol.command("/link", "gift-7")
        link = (await carol.wait_for_message(timeout=5)).text
        assert link is not None and link.startswith("https://t.me/$")
        receipt = await carol.pay(link)
        paid = receipt["successful_payment"]
        assert (paid["currency"], paid["total_amount"], paid["invoice_payload"]) == (
            "XTR",
            100,
            "gift-7",
        )
        assert (await carol.wait_for_message(timeout=5)).text == "Paid 100 XTR for gift-7"


@pytest.mark.parametrize("library", LIBS)
async def test_pre_checkout_declined(sb: Sandbox, run_bot, library: str) -> None:
    dave = sb.user("Dave")
    async with run_bot(library, "polling"):
        await dave.command("/buy", "decline")
        await dave.wait_for_message(timeout=5)
        with pytest.raises(PaymentError, match="Sorry, sold out"):
            await dave.pay()
        await asyncio.sleep(0.2)
    assert not any("successful_payment" in m for m in dave.messages)


@pytest.mark.parametrize("library", LIBS)
async def test_pre_checkout_answered_too_late(sb: Sandbox, run_bot, library: str) -> None:
    erin = sb.user("Erin")
    async with run_bot(library, "polling"):
        await erin.command("/buy", "slow")
        await erin.wait_for_message(timeout=5)
        with pytest.raises(PaymentError, match="did not answer the pre_checkout_query in time"):
            await erin.pay()  # sb's pre-checkout timeout is 1 s; the bot answers after 1.5 s
        for _ in range(40):
            if sb.requests("answerPreCheckoutQuery"):
                break
            await asyncio.sleep(0.05)
    late = sb.requests("answerPreCheckoutQuery")
    assert [(e.ok, e.error_code, e.description) for e in late] == [
        (
            False,
            400,
            ("Bad Request: query is too old and response timeout expired or query ID is invalid"),
        )
    ]
    assert not any("successful_payment" in m for m in erin.messages)


_CONFIRMED = {"offset": 0}


async def _updates(api, kinds: set[str]) -> list[dict]:
    """New updates, polled until one of these kinds comes (each update seen once)."""
    seen: list[dict] = []
    for _ in range(100):
        _, body = await api("getUpdates", offset=_CONFIRMED["offset"], timeout=0)
        for update in body["result"]:
            _CONFIRMED["offset"] = update["update_id"] + 1
            seen.append(update)
        if any(kinds & set(u) for u in seen):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kinds} in {seen}")


async def test_shipping_query_only_for_an_invoice_that_asks_for_an_address(sb: Sandbox,
                                                                           api) -> None:
    """Bot API: a shipping query comes "if you sent an invoice requesting a shipping address
    and the parameter is_flexible was specified"; OrderInfo holds only what was asked for, every
    ShippingAddress field a string."""
    frank = sb.user("Frank", phone_number="+14155550123")
    invoice = {"title": "T", "description": "D", "currency": "USD", "provider_token": "TEST",
               "prices": [{"label": "x", "amount": 100}]}
    _CONFIRMED["offset"] = 0
    await api("sendInvoice", chat_id=frank.id, payload="flex-only", is_flexible=True, **invoice)
    paying = asyncio.create_task(frank.pay(order_info={"name": "Frank Typed"}))
    (query,) = [u for u in await _updates(api, {"pre_checkout_query"})
                if "pre_checkout_query" in u]
    assert "order_info" not in query["pre_checkout_query"]  # nothing was asked for
    await api("answerPreCheckoutQuery", pre_checkout_query_id=query["pre_checkout_query"]["id"],
              ok=True)
    await paying

    await api("sendInvoice", chat_id=frank.id, payload="form", is_flexible=True,
              need_shipping_address=True, need_name=True, need_phone_number=True, **invoice)
    paying = asyncio.create_task(frank.pay(
        shipping_address={"country_code": "CN", "city": "上海市", "street_line1": "世纪大道1号"},
        order_info={"name": "Frank Typed"}))
    (shipping,) = [u["shipping_query"] for u in await _updates(api, {"shipping_query"})
                   if "shipping_query" in u]
    assert shipping["shipping_address"] == {"country_code": "CN", "state": "", "city": "上海市",
                                            "street_line1": "世纪大道1号", "street_line2": "",
                                            "post_code": ""}
    await api("answerShippingQuery", shipping_query_id=shipping["id"], ok=True,
              shipping_options=[{"id": "sf", "title": "SF", "prices": [{"label": "SF",
                                                                          "amount": 20}]}])
    (query,) = [u["pre_checkout_query"] for u in await _updates(api, {"pre_checkout_query"})
                if u.get("pre_checkout_query", {}).get("invoice_payload") == "form"]
    assert query["shipping_option_id"] == "sf" and query["total_amount"] == 120
    assert query["order_info"]["name"] == "Frank Typed"
    assert query["order_info"]["phone_number"] == "14155550123"  # digits, as Telegram gives it
    await api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
    paid = (await paying)["successful_payment"]
    assert paid["order_info"] == query["order_info"] and paid["shipping_option_id"] == "sf"
