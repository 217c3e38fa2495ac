"""At start-up: can the bot do its work in the admin chat and the support chat?

One WARNING log line per thing that will not work, so a merchant setting the bot up sees at once
what to fix in Telegram (README: "Going live with a real token"). What each chat needs:

- admin chat: the bot is in it and may send messages. Nothing more: answers reach it as replies
  to its questions (force_reply) even in privacy mode, and a bot deletes its own old cards
  without admin rights.
- support chat: a forum supergroup (one topic per customer), the bot an admin with "Manage
  topics" (an admin also reads the agents' plain messages in the topics).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from handlers.events import DeliveryError
from handlers.turn import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatRights:
    """A chat as the bot sees it, and what the bot may do there (getChat + getChatMember)."""

    title: str | None
    type: str
    is_forum: bool
    status: str  # creator, administrator, member, restricted, left, kicked
    can_send_messages: bool = True  # False only for a restricted member that may not
    can_manage_topics: bool = False  # an administrator's right


class SeesChats(Protocol):
    """What a runtime answers for the check; both raise DeliveryError."""

    async def me(self) -> tuple[int, str]:
        """The bot's user id and username."""
        ...

    async def chat_rights(self, chat_id: int, user_id: int) -> ChatRights:
        """The chat and that member's status in it."""
        ...


async def check_chats(runtime: SeesChats, settings: Settings) -> list[str]:
    """What will not work in the configured chats, one sentence each (logged as warnings)."""
    try:
        me = await runtime.me()
        problems = []
        if settings.admin_chat_id is not None:
            problems += await _chat_problems(runtime, me, "admin", settings.admin_chat_id)
        if settings.support_chat_id is not None:
            problems += await _chat_problems(runtime, me, "support", settings.support_chat_id)
    except DeliveryError as error:
        problems = [f"could not check the admin and support chats: {error.description}"]
    for line in problems:
        log.warning(line)
    return problems


async def _chat_problems(runtime: SeesChats, me: tuple[int, str], role: str,
                         chat_id: int) -> list[str]:
    bot_id, username = me
    where = f"{role}.chat_id {chat_id}"
    add = f"add @{username} to the group, then send /chatid there to see its id"
    try:
        chat = await runtime.chat_rights(chat_id, bot_id)
    except DeliveryError as error:
        return [f"{where}: the bot cannot see this chat ({error.description}): {add}"]
    if chat.status in ("left", "kicked"):
        return [f"{where}: the bot is not a member of {chat.title!r}: {add}"]
    if chat.status == "restricted" and not chat.can_send_messages:
        return [f"{where}: the bot may not send messages in {chat.title!r}: lift its restriction"]
    if role == "admin":
        return []
    problems = []
    if chat.type != "supergroup" or not chat.is_forum:
        problems.append(f"{where}: {chat.title!r} is not a forum (a topic per customer needs "
                        "one): in the group's settings turn on Topics")
    if chat.status != "administrator" or not chat.can_manage_topics:
        problems.append(f"{where}: the bot is not an admin with the right to manage topics in "
                        f"{chat.title!r}: make @{username} an admin with Manage topics")
    return problems
