"""The outbox sender: claims due rows, renders them, sends them through the rate-limited Bot.

Delivery guarantees, with the lease of services.outbox:
- a row is claimed (leased) in one transaction, sent, then marked sent in another: a crash at
  any point leaves it pending, and once its lease runs out it is claimed again, so nothing is
  lost; it is sent twice only if the crash fell between the send and the mark;
- while rows wait for their turn in the rate limiter their leases are renewed, so a slow
  batch is never taken over by another sender (which would send it a second time);
- every call goes through the runtime's rate-limited calls (bot.runtimes.telegram_calls): the
  same limiter as replies, 429 pauses, 5xx and network retries. What still fails (the
  project's DeliveryError, whichever framework) is sorted here:
  permanent errors (blocked, chat not found) are recorded on the row and never retried, the
  rest are retried later with a growing delay. A merchant alert that cannot be delivered is
  logged at ERROR, since nobody else will notice; a support message to a customer who blocked
  the bot at WARNING (the agents read a note in the topic).
Messages to one chat go out one at a time, in the order they were queued.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta

from handlers.events import Refused, RetryAfter
from handlers.notifications import Notifications, Send
from services.outbox import OutboxService, OutgoingMessage

log = logging.getLogger(__name__)
PERMANENT = ("chat not found", "bot was blocked", "user is deactivated", "bot was kicked",
             "not enough rights", "have no rights", "chat_write_forbidden", "peer_id_invalid")
# A bad request not known to be permanent (a rendering bug, say) is tried a few times only.
BAD_REQUEST_TRIES = 5
# A merchant alert still undelivered after this many tries is worth an ERROR in the logs.
ALERT_AFTER_TRIES = 3
MAX_DELAY = 300
STOP_GRACE = 2.0


class OutboxSender:
    """Sends what the services queued: retried on failure, never lost, sent once normally."""

    def __init__(self, outbox: OutboxService, send: Send,
                 notifications: Notifications, interval: float = 1.0, *,
                 concurrency: int = 50, lease: timedelta | None = None) -> None:
        self.outbox = outbox
        self.send = send  # a runtime's `render`: one reply out, its message id back
        self.notifications = notifications
        self.interval = interval
        self.concurrency = concurrency
        self.lease = lease or outbox.lease
        self._held: dict[int, datetime] = {}  # row id -> the lease we hold on it
        self._tasks: set[asyncio.Task[None]] = set()
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}
        self._done = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        """Send until stopped (`request_stop`) or cancelled, keeping up to `concurrency` rows
        in flight."""
        renewing = asyncio.create_task(self._renew_leases(), name="outbox-leases")
        self._stopping = False
        try:
            while not self._stopping:
                claimed = await self._claim_more()
                if not claimed and not self._stopping:
                    self._done.clear()
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
                    # cancellation that stops the sender when both land at once (a hang).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.interval):
                            await self._done.wait()
        finally:
            renewing.cancel()
            await self._stop_in_flight()

    def request_stop(self) -> None:
        """Let `run` end after the claim under way: the rows it takes are sent or handed back
        (a cancellation in the middle of a claim would lose its answer, and leave those rows
        leased to nobody until the lease ran out)."""
        self._stopping = True
        self._done.set()

    async def send_due(self, limit: int = 50) -> int:
        """Send one batch of due rows now and wait for it; returns how many were handled."""
        batch = await self.outbox.claim(limit, self.lease)
        await asyncio.gather(*(self._start(m) for m in batch))
        return len(batch)

    async def _claim_more(self) -> list[OutgoingMessage]:
        # Refill only when half the room is free: fewer, larger claims.
        room = self.concurrency - len(self._tasks)
        if room < max(1, self.concurrency // 2):
            return []
        try:
            claimed = await self.outbox.claim(room, self.lease)
        except Exception:  # the database may be back at the next tick
            log.exception("outbox: claiming rows failed")
            return []
        for message in claimed:
            task = asyncio.create_task(self._start(message), name=f"outbox-{message.id}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return claimed

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._done.set()

    async def _start(self, message: OutgoingMessage) -> None:
        """Send one row after the earlier rows to the same chat (the lock is first-come)."""
        if message.claimed_until is not None:
            self._held[message.id] = message.claimed_until
        lock, users = self._chats.get(message.chat_id, (asyncio.Lock(), 0))
        self._chats[message.chat_id] = (lock, users + 1)
        try:
            async with lock:
                await self._send(message)
        finally:
            self._held.pop(message.id, None)
            lock, users = self._chats[message.chat_id]
            if users <= 1:
                del self._chats[message.chat_id]
            else:
                self._chats[message.chat_id] = (lock, users - 1)

    async def _send(self, message: OutgoingMessage) -> None:
        try:
            deliverer = self.notifications.deliverer(message)
            if deliverer is not None:
                await deliverer.deliver(message, self.send)
            else:
                for reply in await self.notifications.compose(message):
                    message_id = await self.send(reply)
                    await self._after_send(message,
                                           self.notifications.sent(message, reply, message_id))
        except Refused as exc:
            if exc.forbidden or any(p in exc.description.lower() for p in PERMANENT) or (
                    message.attempts >= BAD_REQUEST_TRIES):
                await self._failed(message, exc.description, exc.forbidden)
            else:
                await self._retry(message, exc.description)
        except RetryAfter as exc:  # still 429 after the runtime's tries
            await self._retry(message, exc.description, timedelta(seconds=exc.seconds))
        except Exception as exc:  # noqa: BLE001 - any other failure is retried, never lost
            await self._retry(message, repr(exc))
        else:
            await self._after_send(message, self.outbox.mark_sent(message.id))

    async def _after_send(self, message: OutgoingMessage, bookkeeping: Awaitable[None]) -> None:
        """Record a delivered message; a failure here must not send it again."""
        try:
            await bookkeeping
        except Exception:  # the lease runs out and it is sent once more at worst
            log.exception("outbox %s was sent but could not be recorded", message.id)

    async def _retry(self, message: OutgoingMessage, error: str,
                     delay: timedelta | None = None) -> None:
        delay = delay or timedelta(seconds=min(2 ** message.attempts, MAX_DELAY))
        merchant = message.audience != "customer"
        level = (logging.ERROR if merchant and message.attempts >= ALERT_AFTER_TRIES
                 else logging.WARNING)
        log.log(level, "outbox %s to %s (%s), try %s failed: %s; next in %ss", message.id,
                message.chat_id, message.audience, message.attempts, error,
                int(delay.total_seconds()))
        with contextlib.suppress(Exception):  # if even this fails, the lease brings it back
            await self.outbox.retry_later(message.id, delay, error)

    async def _failed(self, message: OutgoingMessage, error: str, forbidden: bool = False) -> None:
        # A person who blocked the bot is their choice, not a fault to fix: a warning (support
        # leaves a note in the customer's topic). A merchant's chat that refuses is an error.
        person_left = forbidden and message.chat_id > 0
        level = (logging.INFO if message.audience == "customer"
                 else logging.WARNING if person_left else logging.ERROR)
        log.log(level, "outbox %s to %s (%s) undeliverable: %s", message.id, message.chat_id,
                message.audience, error)
        with contextlib.suppress(Exception):
            await self.outbox.mark_failed(message.id, error)

    async def _renew_leases(self) -> None:
        """Every third of a lease, extend the leases of the rows still in flight."""
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            by_lease: dict[datetime, list[int]] = {}
            for row_id, held in list(self._held.items()):
                by_lease.setdefault(held, []).append(row_id)
            for held, ids in by_lease.items():
                try:
                    until, renewed = await self.outbox.renew(ids, held, self.lease)
                except Exception:  # try again at the next beat
                    log.exception("outbox: renewing leases failed")
                    continue
                lost = 0
                for row_id in ids:
                    if row_id not in self._held:
                        continue  # finished meanwhile
                    if row_id in renewed:
                        self._held[row_id] = until
                    else:
                        lost += 1
                        del self._held[row_id]
                if lost:
                    log.warning("outbox: the lease of %s rows in flight ran out", lost)

    async def _stop_in_flight(self) -> None:
        """On stop: let sends under way finish briefly, then hand the rest back unsent."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
        held = dict(self._held)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        by_lease: dict[datetime, list[int]] = {}
        for row_id, until in held.items():
            by_lease.setdefault(until, []).append(row_id)
        for until, ids in by_lease.items():
            with contextlib.suppress(Exception):
                await self.outbox.release(ids, until)

