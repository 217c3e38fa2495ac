"""What a person does and waits for in a sandbox chat, shared by the end-to-end tests."""
from __future__ import annotations

import time

from sandbox.client import CallbackAnswer, SandboxChat, SandboxMessage

WAIT = 10.0


async def new_message(chat: SandboxChat, contains: str) -> SandboxMessage:
    """The next bot message whose text or caption contains `contains`."""
    return await chat.wait_for_message(WAIT, lambda m: contains in (m.text or ""))


async def edited(chat: SandboxChat, message_id: int, contains: str) -> SandboxMessage:
    """The message once an edit has put `contains` into it (answers come before edits)."""
    deadline = time.monotonic() + WAIT
    while True:
        msg = next((m for m in chat.bot_messages if m.message_id == message_id), None)
        if msg is not None and contains in (msg.text or ""):
            return msg
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"message {message_id} never showed {contains!r}: {msg and msg.text!r}")
        await chat.state.wait_changed(remaining)


async def deleted(chat: SandboxChat, message_id: int) -> None:
    """Wait until the bot's message is gone from the chat."""
    deadline = time.monotonic() + WAIT
    while any(m.message_id == message_id for m in chat.bot_messages):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"message {message_id} was never deleted")
        await chat.state.wait_changed(remaining)


async def press(chat: SandboxChat, label: str, message_id: int | None = None) -> CallbackAnswer:
    """Press an inline button; the bot must answer it."""
    answer = await chat.click(label, message_id=message_id, timeout=WAIT)
    assert isinstance(answer, CallbackAnswer), f"{label!r} was not answered: {answer!r}"
    return answer
