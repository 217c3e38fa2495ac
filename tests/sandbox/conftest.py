"""Fixtures for the sandbox tests: a running sandbox, raw Bot API calls, and real bots.

The bots below are ordinary aiogram / python-telegram-bot applications; the only thing that
points them at the sandbox is the API base URL. Helpers are exposed as fixtures so the tests
do not depend on how pytest imports this directory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.server import free_port
from sandbox.testing import Sandbox, running_sandbox

SECRET = "s3cret-token_1"
SHORT = {
    "callback_timeout": 1.0,
    "pre_checkout_timeout": 1.0,
    "shipping_timeout": 1.0,
    "webhook_retry_initial": 0.05,
    "webhook_retry_max": 0.2,
}


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    """A sandbox with short query timeouts and fast webhook retries."""
    async with running_sandbox(**SHORT) as sandbox:
        yield sandbox


ApiCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
async def api(sb: Sandbox) -> AsyncIterator[ApiCall]:
    """`await api("sendMessage", chat_id=1, text="x", _enc="form")` -> (status, body)."""
    async with aiohttp.ClientSession() as session:

        async def call(
            method: str, _enc: str = "form", _token: str | None = None, **params: Any
        ) -> tuple[int, dict[str, Any]]:
            url = f"{sb.api_url}/bot{_token or sb.token}/{method}"
            flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            if _enc == "json":
                req = session.post(url, json=params)
            elif _enc == "query":
                req = session.get(url, params=flat)
            elif _enc == "multipart":
                form = aiohttp.FormData()
                for k, v in flat.items():
                    form.add_field(k, v)
                form.add_field("_force_multipart", b"", filename="x")
                req = session.post(url, data=form)
            else:
                req = session.post(url, data=flat)
            async with req as resp:
                return resp.status, await resp.json(content_type=None)

        yield call


# ---------------------------------------------------------------------------------------------
# A small shop-like bot, written twice: once with aiogram, once with python-telegram-bot.
# /start -> greeting with inline buttons; text -> echo; "ping" button -> answer + edit;
# /buy, /flex, /link -> invoices; pre-checkout declines payload "decline", stalls on "slow".
# ---------------------------------------------------------------------------------------------
PRICES = [("Tea", 500), ("Cake", 250)]


def _payload_from(text: str) -> str:
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else "order-1"


@dataclass
class BotHandle:
    """A running bot: its webhook URL (webhook mode) and how to stop it."""

    library: str
    mode: str
    webhook_url: str | None = None


def build_aiogram(sb: Sandbox) -> tuple[Any, Any]:
    """An aiogram Bot + Dispatcher pointed at the sandbox."""
    from aiogram import Bot, Dispatcher, F, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import Command, CommandStart
    from aiogram.types import (
        CallbackQuery,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        LabeledPrice,
        Message,
        PreCheckoutQuery,
        ShippingOption,
        ShippingQuery,
    )

    router = Router()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Ping", callback_data="ping"),
                InlineKeyboardButton(text="Docs", url="https://example.com/docs"),
            ]
        ]
    )

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"Welcome, {message.from_user.first_name}!", reply_markup=keyboard)

    @router.message(Command("buy", "flex"))
    async def buy(message: Message) -> None:
        flexible = message.text.startswith("/flex")
        await message.answer_invoice(
            title="Tea set",
            description="Green tea and a cake",
            payload=_payload_from(message.text),
            currency="USD",
            provider_token="TEST:provider",
            prices=[LabeledPrice(label=n, amount=a) for n, a in PRICES],
            is_flexible=flexible,
            need_shipping_address=flexible,  # a shipping query comes only with an address
            need_name=True,
            need_email=flexible,
        )

    @router.message(Command("link"))
    async def link(message: Message, bot: Bot) -> None:
        url = await bot.create_invoice_link(
            title="Gift card",
            description="A gift card",
            payload=_payload_from(message.text),
            currency="XTR",
            prices=[LabeledPrice(label="Card", amount=100)],
        )
        await message.answer(url)

    @router.message(F.successful_payment)
    async def paid(message: Message) -> None:
        sp = message.successful_payment
        await message.answer(f"Paid {sp.total_amount} {sp.currency} for {sp.invoice_payload}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text)

    @router.callback_query(F.data == "ping")
    async def ping(query: CallbackQuery) -> None:
        await query.answer("pong")
        await query.message.edit_text("Pressed ping", reply_markup=keyboard)

    @router.shipping_query()
    async def shipping(query: ShippingQuery) -> None:
        await query.answer(
            ok=True,
            shipping_options=[
                ShippingOption(
                    id="courier",
                    title="Courier",
                    prices=[LabeledPrice(label="Courier", amount=300)],
                )
            ],
        )

    @router.pre_checkout_query()
    async def pre_checkout(query: PreCheckoutQuery) -> None:
        if query.invoice_payload == "decline":
            await query.answer(ok=False, error_message="Sorry, sold out")
            return
        if query.invoice_payload == "slow":
            await asyncio.sleep(1.5)
        await query.answer(ok=True)

    session = AiohttpSession(api=TelegramAPIServer.from_base(sb.api_url))
    bot = Bot(sb.token, session=session)
    dp = Dispatcher()
    dp.include_router(router)
    return bot, dp


def build_ptb(sb: Sandbox) -> Any:
    """A python-telegram-bot Application pointed at the sandbox."""
    from telegram import (
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        LabeledPrice,
        ShippingOption,
        Update,
    )
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
        MessageHandler,
        PreCheckoutQueryHandler,
        ShippingQueryHandler,
        filters,
    )

    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Ping", callback_data="ping"),
                InlineKeyboardButton("Docs", url="https://example.com/docs"),
            ]
        ]
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(
            f"Welcome, {update.effective_user.first_name}!", reply_markup=keyboard
        )

    async def buy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        flexible = update.message.text.startswith("/flex")
        await update.message.reply_invoice(
            title="Tea set",
            description="Green tea and a cake",
            payload=_payload_from(update.message.text),
            currency="USD",
            provider_token="TEST:provider",
            prices=[LabeledPrice(n, a) for n, a in PRICES],
            is_flexible=flexible,
            need_shipping_address=flexible,  # a shipping query comes only with an address
            need_name=True,
            need_email=flexible,
        )

    async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        url = await context.bot.create_invoice_link(
            title="Gift card",
            description="A gift card",
            payload=_payload_from(update.message.text),
            currency="XTR",
            prices=[LabeledPrice("Card", 100)],
        )
        await update.message.reply_text(url)

    async def paid(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sp = update.message.successful_payment
        await update.message.reply_text(
            f"Paid {sp.total_amount} {sp.currency} for {sp.invoice_payload}"
        )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("pong")
        await update.callback_query.edit_message_text("Pressed ping", reply_markup=keyboard)

    async def shipping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.shipping_query.answer(
            ok=True,
            shipping_options=[ShippingOption("courier", "Courier", [LabeledPrice("Courier", 300)])],
        )

    async def pre_checkout(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.pre_checkout_query
        if query.invoice_payload == "decline":
            await query.answer(ok=False, error_message="Sorry, sold out")
            return
        if query.invoice_payload == "slow":
            await asyncio.sleep(1.5)
        await query.answer(ok=True)

    app = (
        ApplicationBuilder()
        .token(sb.token)
        .base_url(f"{sb.api_url}/bot")
        .base_file_url(f"{sb.api_url}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler(["buy", "flex"], buy))
    app.add_handler(CommandHandler("link", link))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, paid))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(ping, pattern="^ping$"))
    app.add_handler(ShippingQueryHandler(shipping))
    app.add_handler(PreCheckoutQueryHandler(pre_checkout))
    return app


@asynccontextmanager
async def _run_aiogram(sb: Sandbox, mode: str) -> AsyncIterator[BotHandle]:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    bot, dp = build_aiogram(sb)
    if mode == "polling":
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        try:
            yield BotHandle("aiogram", mode)
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(task, 10)
        return
    port = free_port()
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=SECRET).register(app, path="/hook")
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/hook"
    await bot.set_webhook(url, secret_token=SECRET)
    try:
        yield BotHandle("aiogram", mode, url)
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


@asynccontextmanager
async def _run_ptb(sb: Sandbox, mode: str) -> AsyncIterator[BotHandle]:
    app = build_ptb(sb)
    await app.initialize()
    await app.start()
    url = None
    if mode == "polling":
        await app.updater.start_polling(poll_interval=0, timeout=1)
    else:
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="hook", webhook_url=url, secret_token=SECRET
        )
    try:
        yield BotHandle("ptb", mode, url)
    finally:
        await app.updater.stop()
        await app.stop()
        if mode == "webhook":
            await app.bot.delete_webhook()
        await app.shutdown()


RunBot = Callable[[str, str], AbstractAsyncContextManager[BotHandle]]


@pytest.fixture
def run_bot(sb: Sandbox) -> RunBot:
    """`async with run_bot("aiogram"|"ptb", "polling"|"webhook") as handle: ...`."""

    def runner(library: str, mode: str) -> AbstractAsyncContextManager[BotHandle]:
        return _run_aiogram(sb, mode) if library == "aiogram" else _run_ptb(sb, mode)

    return runner
