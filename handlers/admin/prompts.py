"""Typed answers in the admin chat: asked with force_reply, taken as replies to the question.

In a group Telegram gives a bot in privacy mode (every bot, unless its owner turns it off) the
replies to its own messages and commands, not plain text. So each question that waits for a
typed answer (a reason, a tracking number, an amount, a form field, a file) is sent with
force_reply: the admin's app opens a reply to it, and the answer reaches the bot. The question
names the admin who started the step (a text mention) and is selective, so in a group with
several admins only that admin's app is forced.

The step remembers which messages asked it (the runtime reports each one's id once sent, see
`prompted`): an answer that replies to any other message, such as an older question about
another order, changes nothing. Plain text, which only a bot that reads the whole group gets,
is taken as before.
"""
from __future__ import annotations

import html
import secrets
from typing import Any

from handlers.events import ForceReply
from handlers.turn import Turn
from services.conversation import State

KEPT = 5  # questions of one step that an answer may reply to (the first one and re-asks)


def mention(turn: Turn) -> str:
    """The acting admin as a text mention (notifies them; `selective` targets them)."""
    user = turn.event.user
    return f'<a href="tg://user?id={user.id}">{html.escape(user.first_name)}</a>'


def begin(turn: Turn, step: str, **data: Any) -> None:
    """Open a step that asks a typed question. The same button pressed again before the answer
    (a double click) reopens the step the press left: the question already asked stays
    answerable, and the one asked now joins it."""
    for state in (turn.state, turn.left):
        if state is not None and state.name == step and all(
                state.data.get(key) == value for key, value in data.items()):
            if state is not turn.state:
                turn.state, turn.state_changed = state, True
            return
    turn.go(step, **data)


def ask(turn: Turn, question: str, placeholder: str) -> None:
    """Ask the current step's question: the admin replies with the answer."""
    if not asking(turn):  # a new question: earlier ones (other fields, orders) no longer count
        turn.remember(asked=f"{turn.state.name}:{secrets.token_hex(4)}", prompts=[])
    turn.remember(hint=placeholder[:64])
    turn.send(turn.t("admin.prompt", who=mention(turn), question=question),
              ForceReply(placeholder[:64], True, str(turn.state.data["asked"])))


def ask_again(turn: Turn, problem: str) -> None:
    """Say what was wrong and ask the same question again (the admin's reply bar reopens)."""
    ask(turn, problem, str(turn.state.data.get("hint") or "…"))


def asking(turn: Turn) -> bool:
    """The admin's current step waits for a typed answer to a question it asked."""
    asked = str(turn.state.data.get("asked") or "")
    return bool(turn.state.name) and asked.startswith(f"{turn.state.name}:")


def answers(turn: Turn) -> bool:
    """True when the message answers this step's question; else say so (nothing changes)."""
    replied = turn.event.reply_to_message_id
    if replied is None or replied in turn.state.data.get("prompts", []):
        return True
    ask_again(turn, turn.t("admin.not_this_question"))
    return False


def prompted(state: State, step: str, message_id: int) -> bool:
    """Note that `message_id` asks `state`'s step (False when the admin has moved on)."""
    if not state.name or state.data.get("asked") != step or not step.startswith(f"{state.name}:"):
        return False
    state.data["prompts"] = [*state.data.get("prompts", []), message_id][-KEPT:]
    return True
