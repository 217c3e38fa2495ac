"""The merchant's admin chat: order cards, their buttons and the admin commands.

Everything here runs only in the configured admin chat, and only for configured admins; anyone
else gets a refusal, the attempt is logged, and nothing changes.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from types import ModuleType

from handlers import callbacks
from handlers.admin import prompts
from handlers.events import Event, ForceReply, Reply
from handlers.i18n import Translator
from handlers.registry import registry_of
from handlers.turn import Settings, Turn
from services.container import Services
from services.conversation import State
from services.customers import CustomerView
from services.errors import ServiceError

log = logging.getLogger(__name__)


def _feature_modules() -> list[ModuleType]:
    from handlers.admin import cards, commands, returns

    return [cards, commands, returns]


def state_key(user_id: int) -> int:
    """An admin's conversation state in the admin chat, apart from their state as a customer."""
    return -abs(user_id)


class AdminConversation:
    """Routes the admin chat's events; refuses non-admins."""

    def __init__(self, services: Services, settings: Settings,
                 features: Iterable[ModuleType] | None = None) -> None:
        self.services = services
        self.settings = settings
        self.registry = registry_of(features if features is not None else _feature_modules())

    def accepts(self, event: Event) -> bool:
        """True for events in the admin chat."""
        return (self.settings.admin_chat_id is not None
                and event.chat_id == self.settings.admin_chat_id)

    async def handle(self, event: Event) -> list[Reply]:
        """The replies to one admin-chat event (the update was already claimed once)."""
        from handlers.router import error_text

        language = self.services.ctx.rules.admin_language
        me = CustomerView(0, event.user.id, event.user.full_name, language, None)
        turn = Turn(event, self.services, me, Translator(language, self.settings.timezone),
                    await self.services.conversation.load(state_key(event.user.id)), self.settings)
        if event.user.id not in self.settings.admin_user_ids:
            return self._refuse(turn)
        try:
            await self._route(turn)
        except ServiceError as error:
            text = error_text(turn.t, error)
            if event.callback_id:
                turn.answer(text[:200], alert=True)
            elif prompts.asking(turn):
                prompts.ask_again(turn, text)  # a wrong answer: the same question, reply bar open
            else:
                turn.send(text)
        if turn.state_changed:
            await self.services.conversation.save(state_key(event.user.id), turn.state)
        return turn.replies

    async def prompted(self, event: Event, asked: ForceReply, message_id: int) -> None:
        """A question of this admin's step was sent as `message_id`: answers may reply to it."""
        key = state_key(event.user.id)
        state = await self.services.conversation.load(key)
        if prompts.prompted(state, asked.step, message_id):
            await self.services.conversation.save(key, state)

    def _refuse(self, turn: Turn) -> list[Reply]:
        event = turn.event
        if event.kind not in ("command", "callback") and not turn.state.name:
            return []  # people talk in the group; only attempts to act are refused
        log.warning("non-admin %s (%s) tried %s %r in the admin chat", event.user.id,
                    event.user.username, event.kind, event.callback_data or event.text[:64])
        turn.answer(turn.t("admin.not_admin"), alert=True) if event.callback_id else turn.send(
            turn.t("admin.not_admin"))
        return turn.replies

    async def _route(self, turn: Turn) -> None:
        event, registry = turn.event, self.registry
        if event.kind == "command":
            handler = registry.commands.get(event.command or "")
            if handler is not None:
                return await handler(turn)
            return await registry.commands["help"](turn) if "help" in registry.commands else None
        if event.kind == "callback":
            pressed = callbacks.decode(event.callback_data)
            if pressed is None or pressed.action not in registry.actions:
                return turn.answer(turn.t("error.stale_button"), alert=True)
            return await registry.actions[pressed.action](turn, pressed)
        step = registry.steps.get(turn.state.name)
        if step is not None and (not prompts.asking(turn) or prompts.answers(turn)):
            await step(turn)


__all__ = ["AdminConversation", "State", "state_key"]
