"""Choosing warehouses for an order: by stock, then distance to the address region, then
priority."""
from __future__ import annotations

import math
from dataclasses import dataclass

from services.errors import OutOfStock
from services.rules import Region


@dataclass(frozen=True)
class WarehouseInfo:
    """What allocation needs to know of a warehouse."""

    id: int
    region: str
    latitude: float
    longitude: float
    priority: int


@dataclass(frozen=True)
class Need:
    """Units of one order line to place."""

    line_id: int
    product_id: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class Pick:
    """Units of one order line taken from one warehouse."""

    line_id: int
    product_id: int
    warehouse_id: int
    quantity: int


def distance_km(warehouse: WarehouseInfo, region: Region | None, region_name: str) -> float:
    """Great-circle distance from the warehouse to the region's centre (0 in the same region)."""
    if warehouse.region.casefold() == region_name.strip().casefold():
        return 0.0
    if region is None:
        return 0.0 if warehouse.region.casefold() == region_name.casefold() else 1.0
    if warehouse.region.casefold() == region.code.casefold() or warehouse.region.casefold() in (
        n.casefold() for n in region.names
    ):
        return 0.0
    lat1, lon1, lat2, lon2 = map(
        math.radians, (warehouse.latitude, warehouse.longitude, region.latitude, region.longitude)
    )
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        (lon2 - lon1) / 2
    ) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def rank(
    warehouses: list[WarehouseInfo], region: Region | None, region_name: str
) -> list[WarehouseInfo]:
    """Warehouses nearest first, then by priority (lower first), then id for a stable order."""
    return sorted(
        warehouses, key=lambda w: (round(distance_km(w, region, region_name), 1), w.priority, w.id)
    )


def plan(
    needs: list[Need], ranked: list[WarehouseInfo], available: dict[tuple[int, int], int]
) -> list[Pick]:
    """One warehouse that can serve every line if there is one; else split line by line."""
    for warehouse in ranked:
        if all(available.get((n.product_id, warehouse.id), 0) >= n.quantity for n in needs):
            return [Pick(n.line_id, n.product_id, warehouse.id, n.quantity) for n in needs]
    picks: list[Pick] = []
    left = dict(available)
    for need in needs:
        remaining = need.quantity
        for warehouse in ranked:
            take = min(left.get((need.product_id, warehouse.id), 0), remaining)
            if take > 0:
                picks.append(Pick(need.line_id, need.product_id, warehouse.id, take))
                left[(need.product_id, warehouse.id)] -= take
                remaining -= take
        if remaining > 0:
            total = sum(v for (p, _), v in available.items() if p == need.product_id)
            raise OutOfStock(sku=need.sku, available=max(total, 0))
    return picks
