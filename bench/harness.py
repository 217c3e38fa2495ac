"""Bots under measurement for bench/updates.py: the full shop bot on each runtime (aiogram,
python-telegram-bot) and a bare aiogram echo bot, each in process (Telegram's JSON fed to the
runtime, a transport that records instead of sending) or over HTTP (polling the sandbox Bot API
server), and the simulated customers that drive them.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.request import BaseRequest, RequestData

from bot.ratelimit import Budget, Limits, RateLimiter, counts_as_message
from bot.runtimes.aiogram_calls import LimitedCalls
from sandbox.client import SandboxUser

TOKEN = "123456:BENCH-token"
# The sandbox's limits are off: our limiter must not pace either (the e2e harness does the same).
UNLIMITED = Limits(10_000, 10_000, 10_000, 10_000, 600_000, 10_000)
WAIT = 60.0
PHONE = "+8613800138000"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


@dataclass
class Shown:
    """A bot message on a customer's screen: its text, buttons and invoice."""

    message_id: int
    text: str = ""
    inline: list[tuple[str, str]] = field(default_factory=list)  # (text, callback_data)
    reply: list[tuple[str, bool]] = field(default_factory=list)  # (text, request_contact)
    invoice: tuple[str, str, int] | None = None  # (payload, currency, amount)


def _shown(message_id: int, name: str, params: dict[str, Any]) -> Shown:
    """What a send or edit puts on screen, read from the call's JSON parameters."""
    shown = Shown(message_id, params.get("text") or params.get("caption") or "")
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    shown.inline = [(b["text"], b.get("callback_data") or "")
                    for row in markup.get("inline_keyboard", ()) for b in row]
    shown.reply = [(b["text"], bool(b.get("request_contact")))
                   for row in markup.get("keyboard", ()) for b in row]
    if name == "sendInvoice":
        prices = params["prices"]
        prices = json.loads(prices) if isinstance(prices, str) else prices
        shown.invoice = (params["payload"], params["currency"], sum(p["amount"] for p in prices))
    return shown


def call_kind(method: str) -> str:
    """"new" (a message put into a chat: what Telegram's send limits count), "edit", "other"."""
    if counts_as_message(method):
        return "new"
    return "edit" if method.startswith("editMessage") else "other"


class Screens:
    """What each chat shows, kept from the bot's calls, and the answer Telegram would give."""

    def __init__(self) -> None:
        self.screens: dict[int, dict[int, Shown]] = {}
        self.calls = 0
        self.kinds: Counter[str] = Counter()  # calls by call_kind
        self._ids = itertools.count(1)

    def answer(self, name: str, params: dict[str, Any]) -> Any:
        """The `result` of a call: a Message for sends and edits, the bot for getMe, else True."""
        self.calls += 1
        self.kinds[call_kind(name)] += 1
        chat = str(params.get("chat_id", ""))  # aiogram sends every form value as a string
        if name == "getMe":
            return BOT_USER
        edits = ("editMessageText", "editMessageMedia")
        if name == "deleteMessage" and chat.lstrip("-").isdigit():
            self.screens.get(int(chat), {}).pop(int(params["message_id"]), None)
            return True
        if (not (name.startswith("send") or name in edits)
                or not chat.lstrip("-").isdigit()):
            return True
        chat_id = int(chat)
        screen = self.screens.setdefault(chat_id, {})
        message_id = int(params["message_id"]) if name in edits else next(self._ids)
        if name == "editMessageMedia":  # the caption is the media's
            media = params["media"]
            media = json.loads(media) if isinstance(media, str) else media
            params = {**params, "caption": media.get("caption") or ""}
        screen[message_id] = shown = _shown(message_id, name, params)
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "chat": {"id": chat_id, "type": "private"},
                                   "text": shown.text}
        if name in ("sendPhoto", "editMessageMedia"):
            message["photo"] = [{"file_id": f"p{message_id}", "file_unique_id": f"p{message_id}",
                                 "width": 1, "height": 1}]
        return message


class RecordingSession(BaseSession):
    """An aiogram session that answers every call at once, as Telegram would: the request is
    serialised and the answer parsed as over HTTP, only the network is left out."""

    def __init__(self, screens: Screens | None = None) -> None:
        super().__init__()
        self.recorded = screens or Screens()

    async def close(self) -> None:
        """Nothing to close."""

    def stream_content(self, url: str, headers: dict[str, Any] | None = None,
                       timeout: int = 30, chunk_size: int = 65536,
                       raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        """Downloads are not part of the benchmark."""
        raise NotImplementedError

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:
        """The result Telegram would give, through aiogram's own response parsing."""
        files: dict[str, Any] = {}
        params = {key: value for key, item in method.model_dump(warnings=False).items()
                  if (value := self.prepare_value(item, bot, files)) is not None}
        content = json.dumps({"ok": True,
                              "result": self.recorded.answer(method.__api_method__, params)})
        return self.check_response(bot, method, 200, content).result


class RecordingRequest(BaseRequest):
    """The same for python-telegram-bot: a transport that answers as Telegram would."""

    def __init__(self, screens: Screens | None = None) -> None:
        self.recorded = screens or Screens()

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        """(200, Telegram's JSON answer) for the call named at the end of `url`."""
        params = request_data.parameters if request_data is not None else {}
        result = self.recorded.answer(url.rsplit("/", 1)[-1], params)
        return 200, json.dumps({"ok": True, "result": result}).encode()


# --- the journey ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One thing a customer does: "cmd", "text", "reply" (a menu button), "contact", "press"
    (an inline button by label, or by callback data prefix when `data`), or "pay" (two updates:
    pre_checkout_query and successful_payment)."""

    kind: str
    value: str = ""
    data: bool = False

    @property
    def updates(self) -> int:
        """How many updates the step sends."""
        return 2 if self.kind == "pay" else 1


def echo_steps(steps: list[Step]) -> list[Step]:
    """The same rhythm for the echo bot: messages stay messages, presses press its button."""
    out: list[Step] = []
    for step in steps:
        if step.kind == "press":
            out.append(Step("press", "echo"))
        else:
            out.extend([Step("text", "hello")] * step.updates)
    return out


class Customer:
    """A simulated person in a private chat; each action returns the latency of each update it
    sent, from sending to the bot's last reply."""

    async def command(self, text: str) -> list[float]:
        raise NotImplementedError

    async def send(self, text: str) -> list[float]:
        raise NotImplementedError

    async def press(self, label: str, data: bool = False) -> list[float]:
        raise NotImplementedError

    async def contact(self) -> list[float]:
        raise NotImplementedError

    async def pay(self) -> list[float]:
        raise NotImplementedError

    async def do(self, step: Step) -> list[float]:
        """Perform one journey step."""
        match step.kind:
            case "cmd":
                return await self.command(step.value)
            case "text":
                return await self.send(step.value)
            case "press" | "reply":
                return await self.press(step.value, step.data)
            case "pay":
                return await self.pay()
        raise ValueError(step.kind)


def find_button(screen: dict[int, Shown], label: str,
                data: bool) -> tuple[Shown, str, str, bool] | None:
    """(message, kind "inline"/"reply", text or data, request_contact) of the newest match."""
    for message_id in sorted(screen, reverse=True):
        shown = screen[message_id]
        for text, callback in shown.inline:
            if (callback.startswith(label) if data else label in text):
                return shown, "inline", callback, False
        if not data:
            for text, contact in shown.reply:
                if label in text:
                    return shown, "reply", text, contact
    return None


# --- in process -------------------------------------------------------------------------------
UPDATE_IDS = itertools.count(1)
USER_IDS = itertools.count(10_000)


class InProcess:
    """A bot fed Telegram's JSON directly (as a webhook's body), replying into a recorder."""

    def __init__(self, feed: Callable[[dict[str, Any]], Awaitable[Any]],
                 screens: Screens) -> None:
        self.feed = feed
        self.screens = screens
        # Shared by every bot of the run: they share the database, which drops an update id
        # it has seen and remembers each user.
        self.update_ids = UPDATE_IDS
        self.user_ids = USER_IDS

    def customer(self) -> InProcessCustomer:
        """A new person."""
        return InProcessCustomer(self, next(self.user_ids))


async def full_bot_in_process(conversation: Any, framework: str = "aiogram",
                              limiter: RateLimiter | None = None) -> InProcess:
    """The shop's runtime on `framework`, as production wires it (its rate limiter included:
    unlimited unless `limiter`), over a recording transport."""
    from bot.runtimes.base import FeedingRuntime

    screens = Screens()
    limiter = limiter or RateLimiter(UNLIMITED)
    runtime: FeedingRuntime[Any]
    if framework == "ptb":
        from bot.runtimes.ptb import PtbRuntime, make_bot

        runtime = PtbRuntime(make_bot(TOKEN, None, limiter, RecordingRequest(screens)),
                             conversation)
    else:
        from bot.runtimes.aiogram import AiogramRuntime

        session = RecordingSession(screens)
        session.middleware(LimitedCalls(limiter))
        runtime = AiogramRuntime(Bot(TOKEN, session=session), conversation)
    await runtime.open()
    return InProcess(runtime.feed_json, screens)


ECHO_KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="echo",
                                                                          callback_data="echo")]])


def echo_dispatcher(done: Callable[[int], None] | None = None) -> Dispatcher:
    """A bare aiogram echo bot: a text back for each message, an answer for each press."""
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message, bot: Bot) -> None:
        await bot.send_message(message.chat.id, message.text or "…", reply_markup=ECHO_KEYBOARD)
        if done:
            done(message.chat.id)

    @dp.callback_query()
    async def pressed(query: CallbackQuery, bot: Bot) -> None:
        await bot.answer_callback_query(query.id)
        if done:
            done(query.from_user.id)

    return dp


def echo_bot_in_process() -> InProcess:
    """The echo bot fed in process."""
    session = RecordingSession()
    bot = Bot(TOKEN, session=session)
    dp = echo_dispatcher()

    async def feed(update: dict[str, Any]) -> Any:
        return await dp.feed_raw_update(bot, update)
    return InProcess(feed, session.recorded)


class InProcessCustomer(Customer):
    """A person whose updates are fed straight to the bot, as Telegram's JSON."""

    def __init__(self, harness: InProcess, user_id: int) -> None:
        self.h = harness
        self.user_id = user_id
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False,
                                     "first_name": f"Buyer{user_id}", "language_code": "en"}
        self.chat = {"id": user_id, "type": "private"}
        self.message_ids = itertools.count(1_000_000)

    async def _feed(self, **fields: Any) -> list[float]:
        update = {"update_id": next(self.h.update_ids), **fields}
        started = time.perf_counter()
        await self.h.feed(update)
        return [time.perf_counter() - started]

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {"message_id": next(self.message_ids), "date": int(time.time()),
                "chat": self.chat, "from": self.user, **fields}

    async def command(self, text: str) -> list[float]:
        return await self.send(text)

    async def send(self, text: str) -> list[float]:
        return await self._feed(message=self._message(text=text))

    async def contact(self) -> list[float]:
        return await self._feed(message=self._message(contact={
            "phone_number": PHONE, "first_name": self.user["first_name"],
            "user_id": self.user_id}))

    async def press(self, label: str, data: bool = False) -> list[float]:
        found = find_button(self.h.screens.screens.get(self.user_id, {}), label, data)
        if found is None:
            raise AssertionError(f"no button {label!r} on screen")
        shown, kind, value, contact = found
        if kind == "reply":
            return await (self.contact() if contact else self.send(value))
        message = {"message_id": shown.message_id, "date": int(time.time()), "chat": self.chat,
                   "text": shown.text or "…"}
        return await self._feed(callback_query={
            "id": f"q{next(self.h.update_ids)}", "from": self.user, "chat_instance": "1",
            "message": message, "data": value})

    async def pay(self) -> list[float]:
        screen = self.h.screens.screens.get(self.user_id, {})
        invoice = next(s.invoice for _, s in sorted(screen.items(), reverse=True) if s.invoice)
        payload, currency, amount = invoice
        first = await self._feed(pre_checkout_query={
            "id": f"pc{next(self.h.update_ids)}", "from": self.user, "currency": currency,
            "total_amount": amount, "invoice_payload": payload})
        charge = f"tg-{self.user_id}-{next(self.h.update_ids)}"
        second = await self._feed(message=self._message(successful_payment={
            "currency": currency, "total_amount": amount, "invoice_payload": payload,
            "telegram_payment_charge_id": charge, "provider_payment_charge_id": f"p-{charge}"}))
        return first + second


# --- over HTTP, through the sandbox -----------------------------------------------------------
class TimedLimiter(RateLimiter):
    """A rate limiter that adds up how long callers waited in it (queued, not working)."""

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.queued = 0.0

    async def acquire(self, chat_id: int | str | None, spend: Budget = "message") -> None:
        """As RateLimiter, timed."""
        started = time.perf_counter()
        try:
            await super().acquire(chat_id, spend)
        finally:
            self.queued += time.perf_counter() - started


class Finished:
    """When the bot finished handling each user's updates (its last reply acknowledged)."""

    def __init__(self) -> None:
        self.times: dict[int, list[float]] = {}
        self.events: dict[int, asyncio.Event] = {}

    def __call__(self, user_id: int) -> None:
        self.times.setdefault(user_id, []).append(time.perf_counter())
        self.events.setdefault(user_id, asyncio.Event()).set()

    async def wait(self, user_id: int, count: int) -> list[float]:
        """The finish times once the user has `count` finished updates."""
        event = self.events.setdefault(user_id, asyncio.Event())
        deadline = time.perf_counter() + WAIT
        while len(self.times.get(user_id, [])) < count:
            event.clear()
            if len(self.times.get(user_id, [])) >= count:
                break
            await asyncio.wait_for(event.wait(), max(0.01, deadline - time.perf_counter()))
        return self.times[user_id]


def user_of(update: Any) -> int | None:
    """The private chat (= user) an update belongs to (an aiogram or a PTB Update)."""
    for part in (update.message, update.callback_query, update.pre_checkout_query):
        if part is not None and part.from_user is not None:
            return int(part.from_user.id)
    return None


def echo_bot_over_http(api_url: str, token: str, finished: Finished) -> tuple[Bot, Dispatcher]:
    """The echo bot polling the sandbox (no rate limiter: bare aiogram)."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    return bot, echo_dispatcher(finished)


class SandboxCustomer(Customer):
    """A sandbox user; an action's latency ends when the bot finished that update."""

    def __init__(self, user: SandboxUser, finished: Finished) -> None:
        self.user = user
        self.finished = finished
        self.seen = 0

    async def _act(self, action: Callable[[], Awaitable[Any]], updates: int = 1) -> list[float]:
        started = time.perf_counter()
        task = asyncio.ensure_future(action())
        self.seen += updates
        times = await self.finished.wait(self.user.user.id, self.seen)
        await task
        marks = [started, *times[self.seen - updates:self.seen]]
        return [b - a for a, b in itertools.pairwise(marks)]

    async def command(self, text: str) -> list[float]:
        return await self._act(lambda: self.user.command(text))

    async def send(self, text: str) -> list[float]:
        return await self._act(lambda: self.user.send(text))

    async def contact(self) -> list[float]:
        return await self._act(self.user.share_contact)

    async def press(self, label: str, data: bool = False) -> list[float]:
        target: Any = label
        if data:  # the button whose callback data starts so, on the newest message having one
            message = next(m for m in reversed(self.user.bot_messages)
                           if any(v.startswith(label) for v in m.callback_data.values()))
            text = next(k for k, v in message.callback_data.items() if v.startswith(label))
            target = re.compile(f"^{re.escape(text)}$")
        return await self._act(lambda: self.user.click(target, timeout=WAIT))

    async def pay(self) -> list[float]:
        return await self._act(self.user.pay, updates=2)
