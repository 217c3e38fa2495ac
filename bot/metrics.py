"""Prometheus metrics of one bot process (prometheus-client), served at /metrics by bot/health.py.

Each process counts its own work: Prometheus scrapes every process (deploy/README in README.md's
"Scaling out"), and sums. Counters and histograms are updated where the work happens (a line
each); the gauges that describe shared state (the outbox's backlog, the database pool) are
read when /metrics is asked for.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from services.container import Services

UPDATES = Counter("shopbot_updates", "Updates handled to the end (work committed, replies sent)",
                  ["kind"])
UPDATES_FAILED = Counter("shopbot_updates_failed",
                         "Updates whose work failed (nothing committed; Telegram sends them again)",
                         ["kind"])
TURN_SECONDS = Histogram("shopbot_turn_seconds",
                         "One update from its arrival to its replies sent, in seconds",
                         buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
OUTBOX_BACKLOG = Gauge("shopbot_outbox_backlog", "Outbox rows waiting to be sent")
OUTBOX_OLDEST = Gauge("shopbot_outbox_oldest_seconds",
                      "Age of the oldest outbox row waiting to be sent (0 when none waits)")
FLOODED = Counter("shopbot_telegram_429", "Bot API calls Telegram answered 429 Too Many Requests")
RETRY_AFTER = Counter("shopbot_telegram_retry_after_seconds",
                      "Seconds Telegram's 429 answers asked every sender to wait")
SWEEP_SECONDS = Histogram("shopbot_sweep_seconds", "Duration of one run of a scheduler sweep",
                          ["sweep"], buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
SWEEP_ROWS = Counter("shopbot_sweep_rows", "Rows (orders, messages, ...) a sweep moved",
                     ["sweep"])
SWEEP_FAILED = Counter("shopbot_sweep_failed", "Sweep runs that raised", ["sweep"])
DB_IN_USE = Gauge("shopbot_db_connections_in_use",
                  "Database connections checked out of this process's pool")
DB_POOL_SIZE = Gauge("shopbot_db_pool_size", "Connections this process's pool keeps open")


@contextmanager
def update_handled(kind: str) -> Iterator[None]:
    """Count an update of `kind` handled (or failed) and time it."""
    start = time.perf_counter()
    try:
        yield
    except BaseException:
        UPDATES_FAILED.labels(kind).inc()
        raise
    UPDATES.labels(kind).inc()
    TURN_SECONDS.observe(time.perf_counter() - start)


def flooded(retry_after: float) -> None:
    """Telegram answered 429 with this retry_after."""
    FLOODED.inc()
    RETRY_AFTER.inc(retry_after)


def sweep_ran(sweep: str, seconds: float, moved: int | None) -> None:
    """A sweep's run took `seconds` and moved `moved` rows (None: it failed)."""
    SWEEP_SECONDS.labels(sweep).observe(seconds)
    if moved is None:
        SWEEP_FAILED.labels(sweep).inc()
    else:
        SWEEP_ROWS.labels(sweep).inc(moved)


async def render(services: Services) -> tuple[bytes, str]:
    """The metrics page (with the gauges read now) and its content type."""
    waiting, oldest = await services.outbox.backlog()
    OUTBOX_BACKLOG.set(waiting)
    OUTBOX_OLDEST.set(oldest)
    factory = services.ctx.db.write_factory
    pool = getattr(factory.kw.get("bind"), "pool", None)
    DB_IN_USE.set(getattr(pool, "checkedout", lambda: 0)())
    DB_POOL_SIZE.set(getattr(pool, "size", lambda: 0)())
    return generate_latest(), CONTENT_TYPE_LATEST
