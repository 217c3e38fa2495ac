"""APScheduler jobs: a few fixed-id interval jobs, each a thin call of one service sweep.

No job per order: the order rows are the schedule, so a restart catches up by itself. Every
job also runs once right at start-up, and any process may run them (the sweeps are safe to run
twice at once, see services/orders/sweeps.py).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import metrics
from bot.config_sections import SchedulerConfig
from services.container import Services

log = logging.getLogger(__name__)

Sweep = Callable[[], Awaitable[int]]
# A handled update id is remembered this long: Telegram's redeliveries come well within it.
UPDATE_ID_KEPT = timedelta(days=1)


def jobs(services: Services, config: SchedulerConfig) -> dict[str, tuple[Sweep, float]]:
    """Job id -> (sweep, interval in seconds)."""
    sweeps = services.sweeps
    return {
        "expire_unpaid": (sweeps.expire_unpaid, config.expire_unpaid),
        "remind_unpaid": (sweeps.remind_unpaid, config.reminders),
        "remind_receipt": (sweeps.remind_receipt, config.reminders),
        "auto_complete": (sweeps.auto_complete, config.auto_complete),
        "archive_completed": (_archive_and_settle(services), config.archive),
        "poll_tracking": (services.tracking.poll, config.poll_tracking),
        "stock_back": (services.inventory.sweep_back_in_stock, config.stock_back),
        "support_unanswered": (services.support.sweep_unanswered, config.reminders),
        "money": (_money(services), config.money),
        "prune": (_prune(services, config), config.prune),
    }


def _money(services: Services) -> Sweep:
    """Refunds whose provider call was lost, and payments recorded but not applied."""
    async def sweep() -> int:
        refunds = await services.refunds.retry_pending()
        return refunds + await services.payment_inbox.retry_received()

    return sweep


def _prune(services: Services, config: SchedulerConfig) -> Sweep:
    """Sent messages past their keeping time; update ids past Telegram's redelivery window;
    invoices of Telegram's form as old (their orders keep what they bought)."""
    async def sweep() -> int:
        now = services.ctx.clock.now()
        kept = timedelta(days=config.keep_sent_messages_days)
        sent = await services.outbox.prune_sent(now - kept)
        forms = await services.checkout_form.prune(now - kept)
        return sent + forms + await services.conversation.prune(now - UPDATE_ID_KEPT)

    return sweep


def _archive_and_settle(services: Services) -> Sweep:
    """Archive what is past the settlement period, then send that period's statement."""
    async def sweep() -> int:
        archived = await services.sweeps.archive_completed()
        await services.settlements.announce_due()
        return archived

    return sweep


def start_scheduler(services: Services, config: SchedulerConfig) -> AsyncIOScheduler:
    """Register every sweep (replace_existing: one job per id, never one per order) and start."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    now = datetime.now(UTC)
    for job_id, (sweep, seconds) in jobs(services, config).items():
        scheduler.add_job(_logged(job_id, sweep), "interval", seconds=seconds, id=job_id,
                          replace_existing=True, max_instances=1, coalesce=True,
                          next_run_time=now, misfire_grace_time=max(1, int(seconds)))
    scheduler.start()
    return scheduler


def _logged(job_id: str, sweep: Sweep) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        start = time.perf_counter()
        try:
            moved = await sweep()
        except Exception:  # the next run tries again; the due rows are still due
            metrics.sweep_ran(job_id, time.perf_counter() - start, None)
            log.exception("%s failed", job_id)
            return
        metrics.sweep_ran(job_id, time.perf_counter() - start, moved)
        if moved:
            log.info("%s: %s done", job_id, moved)

    return job
