"""Where features register their commands, buttons, conversation steps and menu words."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType

from handlers.callbacks import Callback
from handlers.turn import Handler, Turn

ActionHandler = Callable[[Turn, Callback], Awaitable[None]]


@dataclass
class Registry:
    """The routing table the router consults; filled by each feature's `register()`."""

    commands: dict[str, Handler] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    steps: dict[str, Handler] = field(default_factory=dict)
    menu: dict[str, Handler] = field(default_factory=dict)  # text key of a menu button -> handler
    events: dict[str, Handler] = field(default_factory=dict)  # pre_checkout, successful_payment ...
    # Input nothing else takes (no command, button, menu word or step): help by default.
    fallback: Handler | None = None

    def command(self, name: str, handler: Handler) -> None:
        """/name runs handler."""
        self.commands[name] = handler

    def action(self, name: str, handler: ActionHandler) -> None:
        """A button whose callback data starts with `name` runs handler."""
        self.actions[name] = handler

    def step(self, name: str, handler: Handler) -> None:
        """Input while the user is at conversation step `name` runs handler."""
        self.steps[name] = handler

    def menu_button(self, text_key: str, handler: Handler) -> None:
        """A main-menu (reply keyboard) button, matched by its text in any language."""
        self.menu[text_key] = handler

    def on(self, kind: str, handler: Handler) -> None:
        """Events of a kind (pre_checkout, successful_payment) run handler."""
        self.events[kind] = handler


def registry_of(features: Iterable[ModuleType]) -> Registry:
    """A routing table filled by each feature module's `register()`, in order."""
    registry = Registry()
    for feature in features:
        feature.register(registry)
    return registry
