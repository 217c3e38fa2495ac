"""APScheduler jobs: a few fixed-id interval jobs, each a thin call of one service sweep."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config_sections import SchedulerConfig
from services.container import Services

log = logging.getLogger(__name__)


def jobs(services: Services, config: SchedulerConfig) -> dict[str, tuple[Callable[[], Awaitable[int]], float]]:
    """Job id -> (sweep, interval in seconds)."""
    sweeps = services.sweeps
    return {
        "expire_unpaid": (sweeps.expire_unpaid, config.expire_unpaid),
        "remind_unpaid": (sweeps.remind_unpaid, config.reminders),
        "remind_receipt": (sweeps.remind_receipt, config.reminders),
        "auto_complete": (sweeps.auto_complete, config.auto_complete),
        "archive_completed": (sweeps.archive_completed, config.archive),
        "poll_tracking": (services.tracking.poll, config.poll_tracking),
    }


def start_scheduler(services: Services, config: SchedulerConfig) -> AsyncIOScheduler:
    """Register every sweep (replace_existing: one job per id, never one per order) and start."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job_id, (sweep, seconds) in jobs(services, config).items():
        scheduler.add_job(_logged(job_id, sweep), "interval", seconds=seconds, id=job_id,
                          replace_existing=True, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def _logged(job_id: str, sweep: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        moved = await sweep()
        if moved:
            log.info("%s: %s orders", job_id, moved)

    return job
