"""Long polling that confirms an update to Telegram only once it is handled.

Telegram counts an update as confirmed when getUpdates is called with a higher offset, and
never sends it again. Polling that confirms what it has merely received (as the frameworks'
pollers do) loses the updates in flight when the process stops. This poller asks again from
the oldest update still in flight instead: Telegram keeps resending that one and those after
it, the poller skips the ones it is already handling, and an update whose handling failed is
tried again, by this process or, after a restart, by the next.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

U = TypeVar("U")
LONG_POLL = 10  # seconds Telegram may hold a getUpdates open when nothing is in flight (as aiogram)
RECHECK = 0.05  # with updates in flight: seconds between looks for new ones
RETRIES = (0.5, 1.0, 2.0)  # a failed update is tried again after these pauses, then dropped
DRAIN_TIMEOUT = 10.0  # seconds a stop waits for the updates in flight
ERROR_PAUSE = 1.0  # after a failed getUpdates (network, 5xx)

Fetch = Callable[[int | None, int], Awaitable[Sequence[U]]]


class Poller(Generic[U]):
    """Fetches updates with `fetch(offset, timeout)` and hands each to `handle` in a task of
    its own; `update_id` reads an update's id."""

    def __init__(self, fetch: Fetch[U], handle: Callable[[U], Awaitable[None]],
                 update_id: Callable[[U], int]) -> None:
        self.fetch = fetch
        self.handle = handle
        self.update_id = update_id
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.next_offset: int | None = None  # all updates below it are handled
        self.handled_ahead: set[int] = set()  # handled, above an update still in flight
        self.abandoned: set[int] = set()  # cut short by a stop: Telegram must resend them
        self._stopping = asyncio.Event()
        self._fetching: asyncio.Task[Sequence[U]] | None = None

    def _offset(self) -> int | None:
        """Where the next getUpdates starts: the oldest update not handled yet."""
        unhandled = self.in_flight.keys() | self.abandoned
        return min(unhandled) if unhandled else self.next_offset

    async def run(self) -> None:
        """Poll until `stop`; then finish the updates in flight and confirm them."""
        while not self._stopping.is_set():
            if self.in_flight:
                await asyncio.wait(self.in_flight.values(), timeout=RECHECK,
                                   return_when=asyncio.FIRST_COMPLETED)
                if self._stopping.is_set():
                    break
            self._fetching = asyncio.ensure_future(
                self.fetch(self._offset(), 0 if self.in_flight else LONG_POLL))
            try:
                updates = await self._fetching
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    break
                raise
            except Exception as error:  # noqa: BLE001 - network, Telegram's 5xx, a 409 conflict
                log.warning("getUpdates failed: %s", error)
                await self._pause(ERROR_PAUSE)
                continue
            finally:
                self._fetching = None
            for update in updates:
                self._start(update)
        await self._drain()

    def _start(self, update: U) -> None:
        update_id = self.update_id(update)
        if (update_id in self.in_flight or update_id in self.handled_ahead
                or (self.next_offset is not None and update_id < self.next_offset)):
            return  # in hand already, or handled (Telegram resends from the oldest in flight)
        task = asyncio.create_task(self._handle(update), name=f"update-{update_id}")
        self.in_flight[update_id] = task
        task.add_done_callback(lambda done: self._done(update_id, done))

    async def _handle(self, update: U) -> None:
        for pause in (*RETRIES, None):
            try:
                await self.handle(update)
                return
            except Exception:
                if pause is None or self._stopping.is_set():
                    log.exception("update %s failed; dropped", self.update_id(update))
                    return
                log.exception("update %s failed; trying again in %.1f s",
                              self.update_id(update), pause)
                await asyncio.sleep(pause)

    def _done(self, update_id: int, task: asyncio.Task[None]) -> None:
        del self.in_flight[update_id]
        if task.cancelled():
            self.abandoned.add(update_id)
            return
        self.handled_ahead.add(update_id)
        lowest = min(self.in_flight.keys() | self.abandoned, default=None)
        confirmable = {u for u in self.handled_ahead if lowest is None or u < lowest}
        if confirmable:
            self.next_offset = max(max(confirmable) + 1, self.next_offset or 0)
            self.handled_ahead -= confirmable

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def stop(self) -> None:
        """Take no more updates (the open getUpdates is cut short)."""
        self._stopping.set()
        if self._fetching is not None:
            self._fetching.cancel()

    async def _drain(self) -> None:
        """Wait (a bounded time) for the updates in flight, then confirm what was handled."""
        if self.in_flight:
            log.info("finishing %d update(s) in flight", len(self.in_flight))
            _, pending = await asyncio.wait(list(self.in_flight.values()),
                                               timeout=DRAIN_TIMEOUT)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d update(s) not finished in %.0f s: Telegram will resend them",
                            len(pending), DRAIN_TIMEOUT)
                await asyncio.wait(pending)
        offset = self._offset()
        if offset is not None:
            try:  # confirm what was handled; what is left is resent to the next process
                await self.fetch(offset, 0)
            except Exception as error:  # noqa: BLE001 - the next process gets them again
                log.warning("could not confirm the handled updates: %s", error)
