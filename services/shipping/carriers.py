"""Carriers: the interface every carrier offers, tracking-number rules and the registry."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from services.errors import InvalidInput

TrackingCode = Literal["accepted", "in_transit", "out_for_delivery", "delivered", "exception"]
TRACKING_CODES: tuple[TrackingCode, ...] = (
    "accepted", "in_transit", "out_for_delivery", "delivered", "exception",
)
MAX_TRACKING_LENGTH = 40
_TRACKING_CHARS = re.compile(r"[A-Za-z0-9-]+")


@dataclass(frozen=True)
class TrackingEvent:
    """One step of a parcel's journey as the carrier reports it."""

    code: TrackingCode
    description: str
    location: str
    occurred_at: datetime


def normalize_tracking_number(raw: str) -> str:
    """Strip all whitespace (people paste "SF 1234 5678 ") and check length and characters."""
    number = "".join(raw.split())
    if not number:
        raise InvalidInput("tracking number is empty", field="tracking_number")
    if len(number) > MAX_TRACKING_LENGTH:
        raise InvalidInput("tracking number is too long", field="tracking_number")
    # Explicit ASCII class: str.isalnum() would let full-width digits and other scripts through.
    if not _TRACKING_CHARS.fullmatch(number):
        raise InvalidInput("tracking number has invalid characters", field="tracking_number")
    return number


@dataclass(frozen=True)
class CarrierProfile:
    """How the shop presents a carrier (a `carriers` entry of config.yaml)."""

    code: str
    name_en: str
    name_zh: str
    transit: timedelta = timedelta(days=3)  # shipping to delivery, for the expected date
    tracking: bool = False  # followed by the (simulated) tracking of the sandbox carrier

    def name(self, language: str) -> str:
        """The carrier's name for a reader of `language`."""
        return self.name_zh if language == "zh_CN" and self.name_zh else self.name_en


MANUAL = CarrierProfile("manual", "Manual delivery", "商家配送")


@runtime_checkable
class Carrier(Protocol):
    """A delivery company: validates its tracking numbers and reports a parcel's events."""

    code: str
    profile: CarrierProfile
    has_tracking: bool

    def validate_tracking_number(self, raw: str) -> str:
        """The normalized tracking number, or InvalidInput(field="tracking_number")."""
        ...

    async def track(self, tracking_number: str, shipped_at: datetime) -> list[TrackingEvent]:
        """The events that have happened so far, oldest first."""
        ...

    def expected_delivery(self, shipped_at: datetime) -> datetime:
        """When the customer can expect the parcel, to tell them at shipping time."""
        ...


class ManualCarrier:
    """A carrier without tracking (courier, own van): the merchant marks the order delivered."""

    has_tracking = False

    def __init__(self, profile: CarrierProfile = MANUAL) -> None:
        self.profile = profile
        self.code = profile.code

    def validate_tracking_number(self, raw: str) -> str:
        """The normalized reference number (kept for the customer, never polled)."""
        return normalize_tracking_number(raw)

    async def track(self, tracking_number: str, shipped_at: datetime) -> list[TrackingEvent]:
        """Nothing to poll: there is no tracking."""
        return []

    def expected_delivery(self, shipped_at: datetime) -> datetime:
        """Shipping time plus the configured transit time."""
        return shipped_at + self.profile.transit


class CarrierRegistry:
    """The carriers the shop offers, by code, in the order they were given."""

    def __init__(self, carriers: Iterable[Carrier]) -> None:
        self._carriers: dict[str, Carrier] = {}
        for carrier in carriers:
            if carrier.code in self._carriers:
                raise ValueError(f"carrier {carrier.code!r} registered twice")
            self._carriers[carrier.code] = carrier

    def get(self, code: str) -> Carrier:
        """The carrier with this code, or InvalidInput(field="carrier") for an unknown one."""
        try:
            return self._carriers[code]
        except KeyError:
            raise InvalidInput(f"unknown carrier {code!r}", field="carrier") from None

    def __getitem__(self, code: str) -> Carrier:
        return self.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._carriers

    def __iter__(self) -> Iterator[Carrier]:
        return iter(self._carriers.values())

    def __len__(self) -> int:
        return len(self._carriers)

    def codes(self) -> list[str]:
        """Carrier codes, in registration order."""
        return list(self._carriers)

    def choices(self, language: str) -> list[tuple[str, str]]:
        """(code, name) pairs in `language`, e.g. for the merchant's carrier keyboard."""
        return [(c.code, c.profile.name(language)) for c in self._carriers.values()]

    def name(self, code: str | None, language: str) -> str:
        """A carrier's name in `language`; the stored code of one no longer configured."""
        carrier = self._carriers.get(code or "")
        return carrier.profile.name(language) if carrier is not None else code or ""
