"""Shipping: carriers (tracking, expected delivery) and the printable shipping slip."""
from __future__ import annotations

from services.clock import Clock
from services.shipping.carriers import (
    TRACKING_CODES,
    Carrier,
    CarrierRegistry,
    ManualCarrier,
    TrackingEvent,
    normalize_tracking_number,
)
from services.shipping.sandbox_carrier import SandboxCarrier


def default_carriers(clock: Clock) -> CarrierRegistry:
    """The carriers every installation has: the sandbox carrier and manual delivery."""
    return CarrierRegistry([SandboxCarrier(clock), ManualCarrier()])


__all__ = [
    "TRACKING_CODES", "Carrier", "CarrierRegistry", "ManualCarrier", "SandboxCarrier",
    "TrackingEvent", "default_carriers", "normalize_tracking_number",
]
