"""The conversation core: one Event in, Replies out. Routes to the features, maps domain errors."""
from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Iterable
from types import ModuleType

from handlers import callbacks, payment, reply_codec
from handlers.admin import AdminConversation
from handlers.events import AnswerCallback, Event, ForceReply, Reply, SendText
from handlers.i18n import LANGUAGES, Translator, catalogue
from handlers.registry import registry_of
from handlers.support import SupportConversation
from handlers.turn import Settings, Turn
from services.container import Services
from services.conversation import AlreadyHandled, Handled, State
from services.errors import ServiceError

log = logging.getLogger(__name__)
SENT_KEPT = 10_000  # update ids this process remembers having answered


def _feature_modules() -> list[ModuleType]:
    """The customer features, in routing order (imported here so the core stays importable)."""
    from handlers import cart, catalog, checkout, orders, payment, returns, start
    from handlers.support import customer as support

    return [start, catalog, cart, checkout, payment, orders, returns, support]


def error_text(t: Translator, error: ServiceError) -> str:
    """The localized sentence for a domain error (most specific key first)."""
    field = error.params.get("field")
    reason = error.params.get("reason")
    what = error.params.get("what")
    keys = [f"error.{error.code}.{field}.{reason}", f"error.{error.code}.{field}",
            f"error.{error.code}.{what}", f"error.{error.code}"]
    known = catalogue(t.language) or catalogue("en")
    key = next((k for k in keys if k in known), "error.error")
    params = {k: v for k, v in error.params.items() if isinstance(v, (str, int, float))}
    if "available" in params:
        params.setdefault("sku", "")
    return t(key, **params)


class Conversation:
    """Runs a user's turn: once per update, with their stored state, in their language."""

    def __init__(self, services: Services, settings: Settings,
                 features: Iterable[ModuleType] | None = None) -> None:
        self.services = services
        self.settings = settings
        self.registry = registry_of(features if features is not None else _feature_modules())
        self.admin = AdminConversation(services, settings,
                                       [] if features is not None else None)
        self.support = SupportConversation(services, settings)
        self.sent: OrderedDict[int, None] = OrderedDict()  # updates answered by this process
        self.menu_words = {
            catalogue(lang).get(key, key): handler
            for key, handler in self.registry.menu.items() for lang in LANGUAGES
        }

    async def handle(self, event: Event) -> list[Reply]:
        """The replies to one event, its effects committed with the record that it was
        handled; a repeat of an update whose turn committed gets that turn's replies again
        (the process may have stopped before it sent them), unless this process sent them."""
        # Money first: written down in its own transaction before anything else can fail.
        if event.update_id in self.sent:
            log.info("update %s was answered already", event.update_id)
            return []
        if event.kind == "successful_payment" and (money := payment.telegram_event(event)):
            await self.services.payment_inbox.record(money)
        try:
            async with self.services.ctx.db.turn():
                return await self._turn(event)
        except AlreadyHandled:
            log.info("update %s was handled meanwhile by another delivery", event.update_id)
            return []

    async def _turn(self, event: Event) -> list[Reply]:
        conversation = self.services.conversation
        # One turn of a user at a time across processes (webhooks reach several at once): what
        # follows reads the state the user's previous turn committed.
        await self.services.ctx.db.serialize(event.user.id)
        if self.admin.accepts(event) or not (event.is_private or event.kind == "pre_checkout"):
            handled = await conversation.handled(event.update_id)
            if handled is not None:
                return self._again(event, handled)
            if self.support.accepts(event):  # the support forum: handlers/support
                replies = await self.support.handle(event)
            elif event.kind == "edited":
                replies = []  # only support follows edits
            elif self.admin.accepts(event):
                replies = await self.admin.handle(event)
            elif event.kind == "command" and event.command == "chatid":
                replies = [self._chat_id(event)]  # how a merchant finds a new group's id
            else:
                replies = []  # other groups (the support chat's business)
            await conversation.finish(event.update_id, reply_codec.encode(replies))
            return replies
        user = event.user
        start = await conversation.begin(event.update_id, user.id, user.full_name,
                                         user.username, user.language_code)
        if isinstance(start, Handled):
            return self._again(event, start)
        stored = State(start.state.name, copy.deepcopy(start.state.data))
        turn = Turn(event, self.services, start.customer,
                    Translator(start.customer.language, self.settings.timezone), start.state,
                    self.settings)
        try:
            await self._route(turn)
        except ServiceError as error:
            self._refuse(turn, error)
        if turn.state_changed and turn.state != stored:  # a write that changes nothing is skipped
            await conversation.save(user.id, turn.state)
        if event.callback_id and not any(isinstance(r, AnswerCallback) for r in turn.replies):
            turn.replies.append(AnswerCallback(event.callback_id))
        await conversation.finish(event.update_id, reply_codec.encode(turn.replies))
        return turn.replies

    async def delivered(self, event: Event, replies: list[Reply]) -> None:
        """The replies of the event's turn were sent: this process answers a repeat of the
        update with nothing (a repeat reaching another process, or this one after a restart,
        gets the stored replies: the first may have died before sending them)."""
        self.sent[event.update_id] = None
        while len(self.sent) > SENT_KEPT:
            self.sent.popitem(last=False)

    @staticmethod
    def _again(event: Event, handled: Handled) -> list[Reply]:
        log.info("update %s was handled before: its replies again", event.update_id)
        return reply_codec.decode(handled.replies)

    def _chat_id(self, event: Event) -> SendText:
        t = Translator(self.services.ctx.rules.admin_language, self.settings.timezone)
        return SendText(event.chat_id, t("admin.chat_id", id=event.chat_id), None, event.thread_id)

    async def prompted(self, event: Event, asked: ForceReply, message_id: int) -> None:
        """A question a turn asked went out as `message_id` (its answer will reply to it)."""
        if self.admin.accepts(event):
            await self.admin.prompted(event, asked, message_id)

    async def _route(self, turn: Turn) -> None:
        event, registry = turn.event, self.registry
        if event.kind in registry.events:
            return await registry.events[event.kind](turn)
        if event.kind == "command":
            handler = registry.commands.get(event.command or "")
            return await (handler or registry.commands["help"])(turn)
        if event.kind == "callback":
            pressed = callbacks.decode(event.callback_data)
            if pressed is None or pressed.action not in registry.actions:
                return turn.answer(turn.t("error.stale_button"), alert=True)
            return await registry.actions[pressed.action](turn, pressed)
        menu = self.menu_words.get(event.text.strip()) if event.kind == "message" else None
        if menu is not None:
            turn.reset()
            return await menu(turn)
        step = registry.steps.get(turn.state.name)
        if step is not None:
            return await step(turn)
        return await (registry.fallback or registry.commands["help"])(turn)

    def _refuse(self, turn: Turn, error: ServiceError) -> None:
        text = error_text(turn.t, error)
        if turn.event.callback_id:
            turn.answer(text[:200], alert=True)
        else:
            turn.send(text)
