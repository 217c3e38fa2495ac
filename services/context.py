"""What every service receives from the composition root: the database, the rules, the clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.clock import Clock, SystemClock
from services.database import Database
from services.rules import ShopRules

if TYPE_CHECKING:
    from services.payments.providers import ProviderRegistry
    from services.shipping.carriers import CarrierRegistry


@dataclass(frozen=True)
class ServiceContext:
    """Dependencies shared by the services; built once in bot/app.py (or by a test)."""

    db: Database
    rules: ShopRules
    payments: ProviderRegistry
    carriers: CarrierRegistry
    clock: Clock = field(default_factory=SystemClock)
