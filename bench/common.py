"""What every benchmark shares: databases, a statement counter, a seeded shop, tables, percentiles.

The benchmarks are scripts, not tests: each prints a small table and a reference measured in the
same run (this machine is noisy, so absolute times alone mean little).
"""
from __future__ import annotations

import asyncio
import math
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import models
from bot.db import create_database, normalize_url
from models import Category, Product, Stock, Warehouse
from services.clock import Clock, SystemClock
from services.container import Services, build_services
from services.context import ServiceContext
from services.database import Database
from services.payments.cod import CashOnDelivery
from services.payments.providers import ProviderRegistry
from services.payments.sandbox import SandboxProvider
from services.payments.telegram import TelegramPayments
from services.rules import Region, ShopRules
from services.shipping.carriers import CarrierRegistry, ManualCarrier
from services.shipping.sandbox_carrier import SandboxCarrier

POSTGRES_ENVS = ("SHOPBOT_BENCH_POSTGRES_URL", "SHOPBOT_TEST_POSTGRES_URL")
ADMIN_CHAT = -100777
RULES = ShopRules(
    currency="CNY", admin_chat_id=ADMIN_CHAT, important_threshold=10**12,
    payment_methods=("telegram", "sandbox", "cod"),
    regions=(Region("SH", ("Shanghai", "上海"), 31.23, 121.47),
             Region("GD", ("Guangdong", "广东"), 23.13, 113.26)),
)


def postgres_url() -> str | None:
    """The PostgreSQL server to benchmark on, if one is configured."""
    url = next((os.environ[name] for name in POSTGRES_ENVS if os.environ.get(name)), None)
    return normalize_url(url) if url else None


async def postgres_reachable() -> bool:
    """True when the configured PostgreSQL answers."""
    url = postgres_url()
    if url is None:
        return False
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except (OSError, Exception):  # noqa: BLE001 - any failure means "not here"
        return False
    finally:
        await engine.dispose()


def backends(requested: str) -> list[str]:
    """The backends to run: "sqlite", "postgres" or "all" (PostgreSQL only when reachable)."""
    wanted = ["sqlite", "postgres"] if requested == "all" else [requested]
    if "postgres" in wanted and not asyncio.run(postgres_reachable()):
        print(f"(PostgreSQL skipped: set {POSTGRES_ENVS[0]} to a reachable server)")
        wanted.remove("postgres")
    return wanted


@dataclass
class BenchDatabase:
    """A fresh database for one benchmark, with its engines (for statement counting)."""

    db: Database
    engines: list[AsyncEngine]
    backend: str


@asynccontextmanager
async def open_database(backend: str, **engine_options: Any) -> AsyncIterator[BenchDatabase]:
    """A new SQLite file or a new PostgreSQL schema with every table, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="shopbench-") as tmp:
            db, engines = create_database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                                          **engine_options)
            async with engines[0].begin() as conn:
                await conn.run_sync(models.Base.metadata.create_all)
            try:
                yield BenchDatabase(db, engines, backend)
            finally:
                for engine in engines:
                    await engine.dispose()
        return
    url = postgres_url()
    assert url is not None, "PostgreSQL is not configured"
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"pool_timeout": 120, **engine_options}  # the pool otherwise as `shopbot run`
    db, engines = create_database(url, connect_args={"server_settings": {"search_path": schema}},
                                  **options)
    try:
        async with engines[0].begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        yield BenchDatabase(db, engines, backend)
    finally:
        for engine in engines:
            await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@dataclass
class StatementCounter:
    """Counts SQL statements sent to the database (BEGIN included) with SQLAlchemy events.

    Every statement SQLAlchemy sends ("before_cursor_execute"; an executemany counts once),
    SQLite's BEGIN IMMEDIATE included (bot/db.py sends it as a statement). COMMIT and
    ROLLBACK are not counted (driver calls, not statements, on both backends).
    """

    engines: Sequence[AsyncEngine]
    count: int = 0
    by_verb: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for engine in self.engines:
            event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.count += 1
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

    def reset(self) -> None:
        """Start counting from zero."""
        self.count = 0
        self.by_verb.clear()

    def close(self) -> None:
        """Stop listening."""
        for engine in self.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", self._seen)


def bench_context(db: Database, clock: Clock | None = None,
                  rules: ShopRules = RULES) -> ServiceContext:
    """Services' dependencies: every payment provider, the sandbox and manual carriers."""
    clock = clock or SystemClock()
    return ServiceContext(
        db=db, rules=rules,
        payments=ProviderRegistry([SandboxProvider("bench-secret", "http://pay.bench"),
                                   CashOnDelivery(), TelegramPayments()]),
        carriers=CarrierRegistry([SandboxCarrier(clock), ManualCarrier()]),
        clock=clock)


def bench_services(db: Database, clock: Clock | None = None) -> Services:
    """All services over a benchmark database."""
    return build_services(bench_context(db, clock))


@dataclass(frozen=True)
class BenchShop:
    """Ids and names of the seeded catalogue."""

    categories: list[tuple[int, str]]  # (id, English name)
    products: dict[int, list[tuple[int, str]]]  # category id -> [(product id, English name)]
    warehouse: int


async def seed_catalogue(db: Database, categories: int = 4, per_category: int = 6,
                         on_hand: int = 1_000_000) -> BenchShop:
    """A shop with a few shelves of products and plenty of stock in one warehouse."""
    async with db.write() as s:
        wh = Warehouse(code="SH", name="Shanghai", region="Shanghai", latitude=31.23,
                       longitude=121.47, priority=1)
        s.add(wh)
        cats = [Category(slug=f"c{i}", name_en=f"Shelf {i}", name_zh=f"货架 {i}", position=i)
                for i in range(categories)]
        s.add_all(cats)
        await s.flush()
        made: dict[int, list[tuple[int, str]]] = {}
        for c in cats:
            products = [Product(sku=f"SKU-{c.id}-{j}", category_id=c.id,
                                name_en=f"{c.name_en} item {j}", name_zh=f"商品 {c.id}-{j}",
                                price=1000 + 100 * j, description_en="Benchmark goods",
                                description_zh="测试商品") for j in range(per_category)]
            s.add_all(products)
            await s.flush()
            s.add_all([Stock(product_id=p.id, warehouse_id=wh.id, on_hand=on_hand)
                       for p in products])
            made[c.id] = [(p.id, p.name_en) for p in products]
        return BenchShop([(c.id, c.name_en) for c in cats], made, wh.id)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`, 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in cells:
        out.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w)
                             for c, w in zip(row, widths, strict=True)))
    return "\n".join(out)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _numeric(cell: str) -> bool:
    return (cell.replace(",", "").replace(".", "").replace("%", "").replace("x", "")
            .lstrip("-").isdigit())


class Stopwatch:
    """Seconds since creation (perf_counter)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Elapsed seconds."""
        return time.perf_counter() - self.start
