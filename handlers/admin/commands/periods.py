"""Report periods as the merchant types them: today, 7d, 30d, month, or 2026-01-01..2026-01-31.

Periods are whole days in the shop's time zone; "7d" is the last seven days, today included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
_DAYS = re.compile(r"^(\d{1,3})d$")


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and how to name it (local dates, the last one included)."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date


def parse_period(text: str, now: datetime, timezone: str) -> Period | None:
    """The period the words name, in the shop's time zone; None when they name none."""
    zone = ZoneInfo(timezone)
    word = text.strip().lower()
    today = now.astimezone(zone).date()
    days = _DAYS.match(word)
    if word == "today":
        return _local(today, today, zone)
    if days and 1 <= int(days.group(1)) <= MAX_DAYS:  # the last N days, today included
        return _local(today - timedelta(days=int(days.group(1)) - 1), today, zone)
    if word == "month":
        return _local(today.replace(day=1), today, zone)
    found = _RANGE.match(word)
    if found is None:
        return None
    try:
        first = date.fromisoformat(found.group(1))
        last = date.fromisoformat(found.group(2) or found.group(1))
    except ValueError:
        return None  # 2026-02-30
    if last < first or (last - first).days >= MAX_DAYS or first.year < 2000:
        return None
    return _local(first, last, zone)


def _local(first: date, last: date, zone: ZoneInfo) -> Period:
    """Whole local days (the report is given `now` apart, so the future counts as nothing)."""
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return Period(start, end, first, last)
