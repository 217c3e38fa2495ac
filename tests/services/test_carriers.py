"""Carriers: tracking-number rules, sandbox events moving with the clock, the registry."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.clock import FakeClock
from services.errors import InvalidInput
from services.shipping import (
    Carrier,
    CarrierProfile,
    CarrierRegistry,
    ManualCarrier,
    SandboxCarrier,
    build_carriers,
    normalize_tracking_number,
)

SHIPPED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SHIPPED)


@pytest.fixture
def sandbox(clock: FakeClock) -> SandboxCarrier:
    return SandboxCarrier(clock)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  SF 1234 5678 ", "SF12345678"),
        ("YT-0001", "YT-0001"),
        ("a" * 40, "a" * 40),
        ("\tJD\u00a0001\n", "JD001"),
    ],
)
def test_tracking_number_is_normalized(raw: str, expected: str) -> None:
    assert normalize_tracking_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "x" * 200, "a" * 41, "AB#12", "SF123📦", "ＳＦ１２３", "SF_123", "顺丰123"],
)
def test_bad_tracking_number_is_refused(sandbox: SandboxCarrier, raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        sandbox.validate_tracking_number(raw)
    assert caught.value.params["field"] == "tracking_number"


async def test_sandbox_events_appear_as_time_passes(
    sandbox: SandboxCarrier, clock: FakeClock
) -> None:
    assert await sandbox.track("SF1", SHIPPED) == []

    clock.advance(hours=1)
    assert [e.code for e in await sandbox.track("SF1", SHIPPED)] == ["accepted"]

    clock.advance(hours=11)
    assert [e.code for e in await sandbox.track("SF1", SHIPPED)] == ["accepted", "in_transit"]

    clock.advance(hours=36)  # shipped + 2 days
    events = await sandbox.track("SF1", SHIPPED)
    assert [e.code for e in events][-1] == "out_for_delivery"

    clock.advance(hours=6)
    events = await sandbox.track("SF1", SHIPPED)
    assert [e.code for e in events] == ["accepted", "in_transit", "out_for_delivery", "delivered"]
    assert [e.occurred_at - SHIPPED for e in events] == [
        timedelta(hours=1), timedelta(hours=12), timedelta(days=2), timedelta(days=2, hours=6),
    ]
    assert events[-1].occurred_at == sandbox.expected_delivery(SHIPPED)
    assert all(e.description and e.location for e in events)


async def test_sandbox_tracking_is_deterministic(sandbox: SandboxCarrier, clock: FakeClock) -> None:
    clock.advance(days=5)
    assert await sandbox.track("SF1", SHIPPED) == await sandbox.track("SF1", SHIPPED)


async def test_exc_tracking_number_runs_into_a_problem_and_never_arrives(
    sandbox: SandboxCarrier, clock: FakeClock
) -> None:
    clock.advance(hours=23)
    assert [e.code for e in await sandbox.track("EXC42", SHIPPED)] == ["accepted", "in_transit"]

    clock.advance(hours=1)
    events = await sandbox.track("EXC42", SHIPPED)
    assert [e.code for e in events] == ["accepted", "in_transit", "exception"]
    assert events[-1].occurred_at == SHIPPED + timedelta(days=1)

    clock.advance(days=30)
    assert [e.code for e in await sandbox.track("EXC42", SHIPPED)][-1] == "exception"


async def test_manual_carrier_has_no_tracking(clock: FakeClock) -> None:
    manual = ManualCarrier()
    clock.advance(days=10)
    assert manual.has_tracking is False
    assert await manual.track("REF1", SHIPPED) == []
    assert manual.expected_delivery(SHIPPED) == SHIPPED + timedelta(days=3)


SF = CarrierProfile("sf", "SF Express", "顺丰速运", timedelta(days=2))
DEMO = CarrierProfile("sandbox", "Demo Express", "演示快递", timedelta(days=3), tracking=True)


def test_registry_finds_carriers_and_refuses_unknown_ones(clock: FakeClock) -> None:
    registry = build_carriers([SF, DEMO], clock)
    assert registry.codes() == ["sf", "sandbox"]
    assert registry.choices("en") == [("sf", "SF Express"), ("sandbox", "Demo Express")]
    assert registry.choices("zh_CN") == [("sf", "顺丰速运"), ("sandbox", "演示快递")]
    assert registry.get("sandbox").has_tracking is True and registry.get("sf").has_tracking is False
    assert "sf" in registry and len(registry) == 2
    assert all(isinstance(c, Carrier) for c in registry)
    with pytest.raises(InvalidInput) as caught:
        registry.get("dhl")
    assert caught.value.params["field"] == "carrier"


def test_configured_carriers_promise_their_own_transit_time(clock: FakeClock) -> None:
    registry = build_carriers([SF, DEMO], clock)
    assert registry.get("sf").expected_delivery(SHIPPED) == SHIPPED + timedelta(days=2)
    assert registry.get("sandbox").expected_delivery(SHIPPED) == SHIPPED + timedelta(days=3)


def test_a_carrier_is_named_in_the_readers_language_never_by_its_code(clock: FakeClock) -> None:
    registry = build_carriers([SF, DEMO], clock)
    assert registry.name("sf", "en") == "SF Express"
    assert registry.name("sf", "zh_CN") == "顺丰速运"
    assert registry.name("sandbox", "zh_CN") == "演示快递"
    # A parcel shipped with a carrier since removed from config.yaml: its code is all we know.
    assert registry.name("ems", "en") == "ems" and registry.name(None, "en") == ""


def test_registry_refuses_a_duplicate_code(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="registered twice"):
        CarrierRegistry([ManualCarrier(), ManualCarrier()])
