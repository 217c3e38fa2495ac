"""The support desk: conversations, relays queued in the outbox, take over, close, rating."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Customer, Order, SupportLink, SupportSession, SupportTopic
from services.context import ServiceContext
from services.errors import NotAllowed, NotFound
from services.notifications import SUPPORT, queue
from services.rules import SupportRules
from services.support.cards import build_card
from services.support.views import (
    CARD,
    CUSTOMER_NOTE,
    EDIT,
    RELAY_IN,
    RELAY_OUT,
    TEXT_OUT,
    TOPIC_NOTE,
    CardView,
    OpenResult,
    SessionView,
    SupportStats,
    TakeOver,
    TopicRef,
)

CREATING_LEASE = timedelta(seconds=60)  # one sender makes a topic; another may after this
LOW_RATING = 2  # ratings of 1 or 2 stars alert the agents
# An album arrives as one update per piece, within a moment: its relays wait this long, so
# the first one sent copies every piece at once (copyMessages keeps them an album).
ALBUM_WAIT = timedelta(seconds=2)


class SupportService:
    """Conversations between customers and agents; every message out goes through the outbox."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    @property
    def rules(self) -> SupportRules:
        """The desk's settings."""
        return self.ctx.rules.support

    # ---- the customer's side --------------------------------------------------------------
    async def open(self, telegram_id: int, order_id: int | None = None) -> OpenResult:
        """Start (or continue) the customer's conversation, about an order of theirs if given."""
        async with self.ctx.db.write() as s:
            topic = await self._topic_row(s, telegram_id)
            if topic.blocked:
                raise NotAllowed("blocked from support", what="support_blocked")
            if order_id is not None:
                order = await s.get(Order, order_id)
                if order is None or order.customer_id != topic.customer_id:
                    raise NotFound("not the customer's order", what="order")
            current = await self._current(s, telegram_id)
            if current is not None:
                if order_id is not None and order_id != current.order_id:
                    current.order_id = order_id
                    self._note(s, telegram_id, "asks_order", order_id=order_id)
                return OpenResult(current.id, False)
            now = self.ctx.clock.now()
            current = SupportSession(telegram_id=telegram_id, order_id=order_id, opened_at=now,
                                     agent_name="")
            s.add(current)
            await s.flush()
            self._queue(s, self._chat(), CARD, customer=telegram_id, session_id=current.id)
            return OpenResult(current.id, True)

    async def relay_in(self, telegram_id: int, message_id: int, reply_to: int | None,
                       album: str | None = None) -> bool:
        """Queue a customer's message for their topic; False when no conversation is open.
        A piece of an album waits a moment for the rest, to be copied with them as one."""
        async with self.ctx.db.write() as s:
            current = await self._current(s, telegram_id)
            if current is None:
                return False
            chat = self._chat()
            if await self._link(s, telegram_id, message_id, chat, telegram_id, album=album):
                current.waiting_since = current.waiting_since or self.ctx.clock.now()
                self._queue(s, chat, RELAY_IN, customer=telegram_id, message_id=message_id,
                            reply_to=await self._peer(s, telegram_id, reply_to), album=album,
                            delay=ALBUM_WAIT if album else None)
            return True

    async def end(self, telegram_id: int) -> bool:
        """The customer leaves the conversation; False when none was open."""
        async with self.ctx.db.write() as s:
            current = await self._current(s, telegram_id)
            if current is None:
                return False
            current.resolved_at = self.ctx.clock.now()
            current.waiting_since = None
            self._note(s, telegram_id, "customer_ended")
            return True

    async def rate(self, telegram_id: int, session_id: int, stars: int) -> bool:
        """The customer's rating of a closed conversation of theirs (once)."""
        if not 1 <= stars <= 5:
            return False
        async with self.ctx.db.write() as s:
            done = await s.execute(
                update(SupportSession).where(
                    SupportSession.id == session_id, SupportSession.telegram_id == telegram_id,
                    SupportSession.resolved_at.is_not(None), SupportSession.rating.is_(None))
                .values(rating=stars).execution_options(synchronize_session=False))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return False
            low = stars <= LOW_RATING
            self._note(s, telegram_id, "rated_low" if low else "rated", stars=stars)
            if low:  # an unhappy customer: every agent hears of it in General too
                self._note(s, telegram_id, "rated_low_general", stars=stars, general=True)
            return True

    async def in_support(self, telegram_id: int) -> bool:
        """True while the customer has a conversation open."""
        async with self.ctx.db.read() as s:
            return await self._current(s, telegram_id) is not None

    # ---- the agents' side ----------------------------------------------------------------
    async def relay_out(self, thread_id: int, message_id: int, reply_to: int | None,
                        album: str | None = None) -> bool:
        """Queue an agent's message in a topic for its customer (counts as an answer)."""
        async with self.ctx.db.write() as s:
            topic = await self._by_thread(s, thread_id)
            if topic is None:
                return False
            chat = self._chat()
            if await self._link(s, chat, message_id, topic.telegram_id, topic.telegram_id,
                                album=album):
                await self._answered(s, topic.telegram_id)
                self._queue(s, topic.telegram_id, RELAY_OUT, message_id=message_id,
                            reply_to=await self._peer(s, chat, reply_to), album=album,
                            delay=ALBUM_WAIT if album else None)
            return True

    async def album_to_copy(self, chat_id: int, album: str) -> list[int]:
        """The pieces of an album in this chat not copied yet, in order."""
        async with self.ctx.db.read() as s:
            return list((await s.scalars(select(SupportLink.message_id).where(
                SupportLink.chat_id == chat_id, SupportLink.media_group_id == album,
                SupportLink.peer_message_id.is_(None)).order_by(SupportLink.message_id))).all())

    async def send_text(self, thread_id: int, key: str) -> str:
        """Queue a canned reply for the topic's customer; the text they will read."""
        canned = self.rules.canned_reply(key)
        if canned is None:
            raise NotFound("no such canned reply", what="canned_reply")
        async with self.ctx.db.write() as s:
            topic = await self._by_thread(s, thread_id)
            if topic is None:
                raise NotFound("not a customer's topic", what="support_topic")
            customer = await s.get(Customer, topic.customer_id)
            text = canned.zh if customer is not None and customer.language == "zh_CN" else canned.en
            await self._answered(s, topic.telegram_id)
            self._queue(s, topic.telegram_id, TEXT_OUT, text=text)
            return text

    async def edit(self, chat_id: int, message_id: int, text: str, caption: bool) -> bool:
        """An edited message: queue the same edit of its copy (if it has one)."""
        async with self.ctx.db.write() as s:
            link = await s.scalar(select(SupportLink).where(
                SupportLink.chat_id == chat_id, SupportLink.message_id == message_id))
            if link is None or link.peer_message_id is None:
                return False
            self._queue(s, link.peer_chat_id, EDIT, message_id=link.peer_message_id,
                        text=text, caption=caption)
            return True

    async def take_over(self, telegram_id: int, agent_id: int, agent_name: str) -> TakeOver:
        """Claim the conversation: the first agent wins; the customer is told who joined."""
        async with self.ctx.db.write() as s:
            current = await self._current(s, telegram_id)
            if current is None:
                raise NotFound("no open conversation", what="support_session")
            won = await s.execute(
                update(SupportSession).where(SupportSession.id == current.id,
                                             SupportSession.agent_id.is_(None),
                                             SupportSession.resolved_at.is_(None))
                .values(agent_id=agent_id, agent_name=agent_name[:64])
                .execution_options(synchronize_session=False))
            if won.rowcount == 1:  # type: ignore[attr-defined]
                self._queue(s, telegram_id, CUSTOMER_NOTE, key="joined", name=agent_name[:64])
                return TakeOver(True, agent_id, agent_name[:64])
            await s.refresh(current)
            return TakeOver(False, current.agent_id, current.agent_name)

    async def release(self, telegram_id: int, agent_id: int) -> None:
        """The holder hands the conversation back to everyone."""
        async with self.ctx.db.write() as s:
            current = await self._held(s, telegram_id, agent_id)
            current.agent_id, current.agent_name = None, ""

    async def close(self, telegram_id: int, agent_id: int, agent_name: str) -> None:
        """Resolve the conversation (its holder, or anyone while nobody holds it); the customer
        is told and asked for a rating."""
        async with self.ctx.db.write() as s:
            current = await self._held(s, telegram_id, agent_id, free_ok=True)
            current.resolved_at = self.ctx.clock.now()
            current.waiting_since = None
            self._queue(s, telegram_id, CUSTOMER_NOTE, key="closed", session_id=current.id,
                        name=current.agent_name or agent_name[:64])

    async def block(self, thread_id: int, blocked: bool) -> int:
        """Block (or unblock) a topic's customer from support; blocking ends their conversation."""
        async with self.ctx.db.write() as s:
            topic = await self._by_thread(s, thread_id)
            if topic is None:
                raise NotFound("not a customer's topic", what="support_topic")
            topic.blocked = blocked
            current = await self._current(s, topic.telegram_id)
            if blocked and current is not None:
                current.resolved_at, current.waiting_since = self.ctx.clock.now(), None
            return topic.telegram_id

    async def customer_of(self, thread_id: int) -> int | None:
        """The customer whose topic this is."""
        async with self.ctx.db.read() as s:
            topic = await self._by_thread(s, thread_id)
            return topic.telegram_id if topic else None

    async def card(self, telegram_id: int) -> CardView:
        """What the topic's card shows."""
        async with self.ctx.db.read() as s:
            topic = await s.get(SupportTopic, telegram_id)
            if topic is None:
                raise NotFound("no topic", what="support_topic")
            latest = await s.scalar(select(SupportSession).where(
                SupportSession.telegram_id == telegram_id).order_by(SupportSession.id.desc())
                .limit(1))
            return await build_card(s, topic, _session_view(latest) if latest else None)

    # ---- the topic, for the sender ---------------------------------------------------------
    async def topic(self, telegram_id: int) -> TopicRef | None:
        """The customer's topic as it is now."""
        async with self.ctx.db.read() as s:
            row = await s.get(SupportTopic, telegram_id)
            return TopicRef(row.telegram_id, row.customer_id, row.thread_id, row.card_message_id,
                            row.blocked) if row else None

    async def claim_topic_creation(self, telegram_id: int) -> bool:
        """True for the one sender that may create the customer's topic now."""
        now = self.ctx.clock.now()
        async with self.ctx.db.write() as s:
            got = await s.execute(
                update(SupportTopic).where(
                    SupportTopic.telegram_id == telegram_id, SupportTopic.thread_id.is_(None),
                    (SupportTopic.creating_until.is_(None)) | (SupportTopic.creating_until <= now))
                .values(creating_until=now + CREATING_LEASE)
                .execution_options(synchronize_session=False))
            return bool(got.rowcount == 1)  # type: ignore[attr-defined]

    async def topic_created(self, telegram_id: int, thread_id: int) -> None:
        """Telegram made the topic."""
        await self._set_topic(telegram_id, thread_id=thread_id, creating_until=None,
                              card_message_id=None)

    async def topic_gone(self, telegram_id: int, thread_id: int) -> None:
        """Agents deleted or closed the topic: the next message makes a new one."""
        async with self.ctx.db.write() as s:
            await s.execute(update(SupportTopic).where(
                SupportTopic.telegram_id == telegram_id, SupportTopic.thread_id == thread_id)
                .values(thread_id=None, card_message_id=None, creating_until=None)
                .execution_options(synchronize_session=False))

    async def card_sent(self, telegram_id: int, message_id: int) -> None:
        """The card now sits in this message."""
        await self._set_topic(telegram_id, card_message_id=message_id)

    async def linked(self, chat_id: int, message_id: int, peer_chat_id: int,
                     peer_message_id: int) -> None:
        """A relayed message's copy was sent: store the pair both ways."""
        async with self.ctx.db.write() as s:
            link = await s.scalar(select(SupportLink).where(
                SupportLink.chat_id == chat_id, SupportLink.message_id == message_id))
            if link is None:
                return
            link.peer_message_id = peer_message_id
            await self._link(s, peer_chat_id, peer_message_id, chat_id, link.telegram_id,
                             message_id)

    async def note(self, telegram_id: int, key: str, **params: Any) -> None:
        """Queue the bot's line in a customer's topic (e.g. they blocked the bot)."""
        async with self.ctx.db.write() as s:
            self._note(s, telegram_id, key, **params)

    # ---- SLA and figures -------------------------------------------------------------------
    async def sweep_unanswered(self) -> int:
        """Alert the agents (the topic and General) of customers waiting past the promise."""
        now = self.ctx.clock.now()
        due = now - self.rules.first_response
        minutes = int(self.rules.first_response.total_seconds() // 60)
        async with self.ctx.db.write() as s:
            rows = list((await s.scalars(select(SupportSession).where(
                SupportSession.resolved_at.is_(None), SupportSession.waiting_since <= due,
                SupportSession.alerted_at.is_(None)).limit(100))).all())
            for row in rows:
                row.alerted_at = now
                self._note(s, row.telegram_id, "sla", minutes=minutes)
                self._note(s, row.telegram_id, "sla_general", minutes=minutes, general=True)
            return len(rows)

    async def stats(self, days: int | None = None) -> SupportStats:
        """Conversations (opened in the last `days` days, or ever), average times to first
        answer and to close, ratings."""
        query = select(SupportSession.opened_at, SupportSession.first_response_at,
                       SupportSession.resolved_at, SupportSession.rating)
        if days is not None:
            query = query.where(
                SupportSession.opened_at >= self.ctx.clock.now() - timedelta(days=days))
        async with self.ctx.db.read() as s:
            rows = (await s.execute(query)).all()
        firsts = [f - o for o, f, _, _ in rows if f is not None]
        closes = [r - o for o, _, r, _ in rows if r is not None]
        ratings = [r for *_, r in rows if r is not None]
        return SupportStats(len(rows), sum(1 for *_, r, _ in rows if r is None),
                            _mean(firsts), _mean(closes), len(ratings),
                            sum(ratings) / len(ratings) if ratings else None)

    # ---- inside ----------------------------------------------------------------------------
    def _chat(self) -> int:
        if self.rules.chat_id is None:
            raise NotAllowed("no support chat configured", what="support_off")
        return self.rules.chat_id

    def _queue(self, s: AsyncSession, chat_id: int, template: str,
               delay: timedelta | None = None, **params: Any) -> None:
        now = self.ctx.clock.now()
        queue(s, audience=SUPPORT, chat_id=chat_id, template=template, now=now,
              params=params, language=self.rules.language,
              available_at=now + delay if delay else None)

    def _note(self, s: AsyncSession, telegram_id: int, key: str, **params: Any) -> None:
        self._queue(s, self._chat(), TOPIC_NOTE, customer=telegram_id, key=key, **params)

    async def _topic_row(self, s: AsyncSession, telegram_id: int) -> SupportTopic:
        topic = await s.get(SupportTopic, telegram_id)
        if topic is not None:
            return topic
        customer_id = await s.scalar(select(Customer.id).where(Customer.telegram_id == telegram_id))
        if customer_id is None:
            raise NotFound("no such customer", what="customer")
        insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
        await s.execute(insert(SupportTopic).values(
            telegram_id=telegram_id, customer_id=customer_id, blocked=False,
            created_at=self.ctx.clock.now()).on_conflict_do_nothing(index_elements=["telegram_id"]))
        found = await s.get(SupportTopic, telegram_id)
        assert found is not None
        return found

    @staticmethod
    async def _current(s: AsyncSession, telegram_id: int) -> SupportSession | None:
        return await s.scalar(select(SupportSession).where(
            SupportSession.telegram_id == telegram_id, SupportSession.resolved_at.is_(None))
            .order_by(SupportSession.id.desc()).limit(1))

    async def _held(self, s: AsyncSession, telegram_id: int, agent_id: int,
                    free_ok: bool = False) -> SupportSession:
        current = await self._current(s, telegram_id)
        if current is None:
            raise NotFound("no open conversation", what="support_session")
        if current.agent_id != agent_id and not (free_ok and current.agent_id is None):
            raise NotAllowed("another agent holds it", what="support_not_holder",
                             name=current.agent_name)
        return current

    @staticmethod
    async def _by_thread(s: AsyncSession, thread_id: int) -> SupportTopic | None:
        return await s.scalar(select(SupportTopic).where(SupportTopic.thread_id == thread_id))

    async def _answered(self, s: AsyncSession, telegram_id: int) -> None:
        current = await self._current(s, telegram_id)
        if current is not None:
            current.first_response_at = current.first_response_at or self.ctx.clock.now()
            current.waiting_since, current.alerted_at = None, None

    async def _link(self, s: AsyncSession, chat_id: int, message_id: int, peer_chat_id: int,
                    telegram_id: int, peer_message_id: int | None = None,
                    album: str | None = None) -> bool:
        """Record a relayed message once: False when it was already (a repeated update)."""
        insert = postgresql.insert if self.ctx.db.is_postgres else sqlite.insert
        got = await s.scalar(insert(SupportLink).values(
            chat_id=chat_id, message_id=message_id, peer_chat_id=peer_chat_id,
            peer_message_id=peer_message_id, telegram_id=telegram_id,
            media_group_id=album[:64] if album else None)
            .on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
            .returning(SupportLink.id))
        return got is not None

    @staticmethod
    async def _peer(s: AsyncSession, chat_id: int, message_id: int | None) -> int | None:
        if message_id is None:
            return None
        return await s.scalar(select(SupportLink.peer_message_id).where(
            SupportLink.chat_id == chat_id, SupportLink.message_id == message_id))

    async def _set_topic(self, telegram_id: int, **values: Any) -> None:
        async with self.ctx.db.write() as s:
            await s.execute(update(SupportTopic).where(SupportTopic.telegram_id == telegram_id)
                            .values(**values).execution_options(synchronize_session=False))


def _session_view(row: SupportSession) -> SessionView:
    return SessionView(row.id, row.telegram_id, row.order_id, row.agent_id, row.agent_name,
                       row.resolved_at is not None)


def _mean(values: list[timedelta]) -> timedelta | None:
    return sum(values, timedelta()) / len(values) if values else None

