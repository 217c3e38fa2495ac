"""Shipping: carriers (tracking, expected delivery) and the printable shipping slip."""
from __future__ import annotations

from collections.abc import Iterable

from services.clock import Clock
from services.shipping.carriers import (
    TRACKING_CODES,
    Carrier,
    CarrierProfile,
    CarrierRegistry,
    ManualCarrier,
    TrackingEvent,
    normalize_tracking_number,
)
from services.shipping.sandbox_carrier import SandboxCarrier


def build_carriers(profiles: Iterable[CarrierProfile], clock: Clock,
                   pace: float = 1) -> CarrierRegistry:
    """The configured carriers: those with tracking follow the sandbox carrier's simulated
    parcels (no real carrier's tracking API is connected), at `pace` (the offline demo's is
    faster), the others are marked delivered by the merchant."""
    return CarrierRegistry(SandboxCarrier(clock, p, pace) if p.tracking else ManualCarrier(p)
                           for p in profiles)


__all__ = [
    "TRACKING_CODES", "Carrier", "CarrierProfile", "CarrierRegistry", "ManualCarrier",
    "SandboxCarrier", "TrackingEvent", "build_carriers", "normalize_tracking_number",
]
