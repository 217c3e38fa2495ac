"""A pretend carrier whose parcels move with the injected clock: tests and the offline demo.

A parcel takes two and a quarter days, like a real one; the offline demo runs the same journey
`DEMO_PACE` times faster (three minutes), so a person trying the shop sees it arrive.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.clock import Clock
from services.shipping.carriers import (
    CarrierProfile,
    TrackingCode,
    TrackingEvent,
    normalize_tracking_number,
)

# (code, offset from shipped_at, description, location): the whole journey of a parcel.
_JOURNEY: tuple[tuple[TrackingCode, timedelta, str, str], ...] = (
    ("accepted", timedelta(hours=1), "Parcel accepted by the carrier", "Sandbox depot"),
    ("in_transit", timedelta(hours=12), "In transit to the destination city", "Sandbox hub"),
    ("out_for_delivery", timedelta(days=2), "Out for delivery", "Local delivery station"),
    ("delivered", timedelta(days=2, hours=6), "Delivered", "Recipient's address"),
)
_EXCEPTION_AFTER = timedelta(days=1)
# Tracking numbers starting with this prefix run into a delivery problem and never arrive.
EXCEPTION_PREFIX = "EXC"
DEMO_PACE = 1080  # 54 hours in 3 minutes
SANDBOX = CarrierProfile("sandbox", "Sandbox Express", "沙盒快递", transit=_JOURNEY[-1][1],
                         tracking=True)


class SandboxCarrier:
    """Deterministic tracking: each event appears once the clock has passed its time."""

    has_tracking = True

    def __init__(self, clock: Clock, profile: CarrierProfile = SANDBOX, pace: float = 1) -> None:
        if pace <= 0:
            raise ValueError("pace must be positive")
        self._clock = clock
        self._pace = pace
        self.profile = profile
        self.code = profile.code

    def validate_tracking_number(self, raw: str) -> str:
        """The normalized tracking number."""
        return normalize_tracking_number(raw)

    async def track(self, tracking_number: str, shipped_at: datetime) -> list[TrackingEvent]:
        """The events whose time has come, oldest first."""
        now = self._clock.now()
        return [e for e in self._journey(tracking_number, shipped_at) if e.occurred_at <= now]

    def expected_delivery(self, shipped_at: datetime) -> datetime:
        """Shipping time plus the profile's transit time (by default: when "delivered" appears),
        at the carrier's pace."""
        return shipped_at + self.profile.transit / self._pace

    def _journey(self, tracking_number: str, shipped_at: datetime) -> list[TrackingEvent]:
        number = normalize_tracking_number(tracking_number)
        events = [TrackingEvent(c, d, loc, shipped_at + off / self._pace)
                  for c, off, d, loc in _JOURNEY]
        if not number.upper().startswith(EXCEPTION_PREFIX):
            return events
        problem = TrackingEvent(
            "exception", "Delivery problem: the parcel is held at the hub", "Sandbox hub",
            shipped_at + _EXCEPTION_AFTER / self._pace,
        )
        return [e for e in events if e.occurred_at < problem.occurred_at] + [problem]
