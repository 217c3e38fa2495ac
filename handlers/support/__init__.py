"""The support forum: agents answer customers in their topics.

Everything here runs only in the configured support chat. An agent's message in a customer's
topic goes to the customer (copied, so media keeps its form), an edit edits the copy, a reply
stays a reply; a message starting with "!" (or /note) is a private note. Messages in General
are never relayed. Only configured agents act: anyone else's commands and buttons are refused
and change nothing.
"""
from __future__ import annotations

import logging

from handlers import callbacks
from handlers.events import Event, Reply
from handlers.i18n import Translator
from handlers.registry import registry_of
from handlers.support import agents
from handlers.turn import Settings, Turn
from services.container import Services
from services.conversation import State
from services.customers import CustomerView
from services.errors import ServiceError

log = logging.getLogger(__name__)


class SupportConversation:
    """Routes the support forum's events; refuses non-agents."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self.services = services
        self.settings = settings
        self.registry = registry_of([agents])

    @property
    def chat_id(self) -> int | None:
        """The support forum's id, if one is configured."""
        return self.services.support.rules.chat_id

    def accepts(self, event: Event) -> bool:
        """True for events in the support forum."""
        return self.chat_id is not None and event.chat_id == self.chat_id

    async def handle(self, event: Event) -> list[Reply]:
        """The replies to one event in the forum (the update was already claimed once)."""
        from handlers.router import error_text

        language = self.services.support.rules.language
        me = CustomerView(0, event.user.id, event.user.full_name, language, None)
        turn = Turn(event, self.services, me, Translator(language, self.settings.timezone),
                    State(), self.settings)
        if event.user.id not in self.services.support.rules.agents:
            return self._refuse(turn)
        try:
            await self._route(turn)
        except ServiceError as error:
            text = error_text(turn.t, error)
            turn.answer(text[:200], alert=True) if event.callback_id else turn.send(text)
        return turn.replies

    def _refuse(self, turn: Turn) -> list[Reply]:
        event = turn.event
        if event.kind not in ("command", "callback"):
            return []  # people talk in the forum; only attempts to act are refused
        log.warning("non-agent %s (%s) tried %s %r in the support chat", event.user.id,
                    event.user.username, event.kind, event.callback_data or event.text[:64])
        text = turn.t("support.not_agent")
        turn.answer(text, alert=True) if event.callback_id else turn.send(text)
        return turn.replies

    async def _route(self, turn: Turn) -> None:
        event, registry = turn.event, self.registry
        if event.kind == "callback":
            pressed = callbacks.decode(event.callback_data)
            if pressed is None or pressed.action not in registry.actions:
                return turn.answer(turn.t("error.stale_button"), alert=True)
            return await registry.actions[pressed.action](turn, pressed)
        if event.kind == "command":
            handler = registry.commands.get(event.command or "", registry.commands["help"])
            return await handler(turn)
        if event.kind in registry.events:
            return await registry.events[event.kind](turn)
        if registry.fallback is not None:
            await registry.fallback(turn)


__all__ = ["SupportConversation"]
