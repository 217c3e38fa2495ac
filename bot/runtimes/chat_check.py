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

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberAdministrator, ChatMemberRestricted, User

from handlers.turn import Settings

log = logging.getLogger(__name__)


async def check_chats(bot: Bot, settings: Settings) -> list[str]:
    """What will not work in the configured chats, one sentence each (logged as warnings)."""
    try:
        me = await bot.get_me()
        problems = []
        if settings.admin_chat_id is not None:
            problems += await _chat_problems(bot, me, "admin", settings.admin_chat_id)
        if settings.support_chat_id is not None:
            problems += await _chat_problems(bot, me, "support", settings.support_chat_id)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
        problems = [f"could not check the admin and support chats: {error}"]
    for line in problems:
        log.warning(line)
    return problems


async def _chat_problems(bot: Bot, me: User, role: str, chat_id: int) -> list[str]:
    where = f"{role}.chat_id {chat_id}"
    add = f"add @{me.username} to the group, then send /chatid there to see its id"
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, me.id)
    except TelegramAPIError as error:
        return [f"{where}: the bot cannot see this chat ({error.message}): {add}"]
    if member.status in ("left", "kicked"):
        return [f"{where}: the bot is not a member of {chat.title!r}: {add}"]
    if isinstance(member, ChatMemberRestricted) and not member.can_send_messages:
        return [f"{where}: the bot may not send messages in {chat.title!r}: lift its restriction"]
    if role == "admin":
        return []
    problems = []
    if chat.type != "supergroup" or not chat.is_forum:
        problems.append(f"{where}: {chat.title!r} is not a forum (a topic per customer needs "
                        "one): in the group's settings turn on Topics")
    if not isinstance(member, ChatMemberAdministrator) or not member.can_manage_topics:
        problems.append(f"{where}: the bot is not an admin with the right to manage topics in "
                        f"{chat.title!r}: make @{me.username} an admin with Manage topics")
    return problems
