"""Shared fixtures: a database of each backend, the services wired to a fake clock, a small shop."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.clock import FakeClock
from services.container import Services, build_services
from services.context import ServiceContext
from services.database import Database
from services.payments.cod import CashOnDelivery
from services.payments.providers import ProviderRegistry
from services.payments.sandbox import SandboxProvider
from services.rules import Region, ShopRules
from services.shipping.carriers import CarrierRegistry, ManualCarrier
from services.shipping.sandbox_carrier import SandboxCarrier
from tests.databases import open_test_database
from tests.shop import ShopData, seed_shop

ADMIN_CHAT = -100500
PAYMENT_SECRET = "test-secret"

TEST_RULES = ShopRules(
    currency="CNY",
    admin_chat_id=ADMIN_CHAT,
    important_threshold=100_000,
    regions=(
        Region("SH", ("Shanghai", "上海"), 31.23, 121.47),
        Region("GD", ("Guangdong", "广东"), 23.13, 113.26),
        Region("BJ", ("Beijing", "北京"), 39.90, 116.40),
    ),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Every database test runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database with every table."""
    async with open_test_database(backend, tmp_path) as database:
        yield database


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def rules() -> ShopRules:
    """The shop's rules for tests (override with dataclasses.replace in a test)."""
    return TEST_RULES


def make_context(db: Database, rules: ShopRules, clock: FakeClock) -> ServiceContext:
    """Services' dependencies with the sandbox payment provider and carriers."""
    return ServiceContext(
        db=db,
        rules=rules,
        payments=ProviderRegistry([SandboxProvider(PAYMENT_SECRET, "http://pay.test"),
                                   CashOnDelivery()]),
        carriers=CarrierRegistry([SandboxCarrier(clock), ManualCarrier()]),
        clock=clock,
    )


@pytest.fixture
async def shop(svc: Services) -> ShopData:
    """The small test shop (tests/shop.py), seeded in the test database."""
    return await seed_shop(svc.ctx.db)


@pytest.fixture
def svc(db: Database, rules: ShopRules, clock: FakeClock) -> Services:
    """The services layer over the test database."""
    return build_services(make_context(db, rules, clock))
