"""The shop's rules as plain data: the composition root builds them from config.yaml."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta


@dataclass(frozen=True)
class DeliveryOption:
    """A way to deliver, with its fee in minor units and whether cash on delivery is possible."""

    code: str
    name_en: str
    name_zh: str
    fee: int
    days: int = 3
    allows_cod: bool = True


@dataclass(frozen=True)
class Region:
    """A delivery region and its rough centre, for the distance to a warehouse."""

    code: str
    names: tuple[str, ...]
    latitude: float
    longitude: float


@dataclass(frozen=True)
class ReturnAddress:
    """Where goods that left a warehouse are sent back, in both languages."""

    warehouse_code: str
    en: str
    zh: str


@dataclass(frozen=True)
class CannedReply:
    """A prepared answer agents send with `/reply <key>`, in the customer's language."""

    key: str
    en: str
    zh: str


@dataclass(frozen=True)
class SupportRules:
    """The support desk: its forum, its agents, its promise and its hours."""

    chat_id: int | None = None
    agents: frozenset[int] = frozenset()
    first_response: timedelta = timedelta(minutes=15)
    # Working hours in the shop's time zone; None: people answer at any hour.
    opens: time | None = None
    closes: time | None = None
    language: str = "en"  # of what the bot writes in the forum
    canned: tuple[CannedReply, ...] = ()

    def canned_reply(self, key: str) -> CannedReply | None:
        """The canned reply with this key, if configured."""
        return next((c for c in self.canned if c.key == key.lower()), None)


@dataclass(frozen=True)
class ShopRules:
    """Every business setting the services need."""

    currency: str = "CNY"
    admin_chat_id: int | None = None
    admin_language: str = "en"
    shop_name: str = "Shop"
    payment_deadline: timedelta = timedelta(minutes=30)
    payment_reminder_before: timedelta = timedelta(minutes=10)
    auto_confirm_after: timedelta = timedelta(days=7)
    receipt_reminder_before: timedelta = timedelta(days=1)
    return_window: timedelta = timedelta(days=7)
    settlement_period: timedelta = timedelta(days=15)
    ship_within: timedelta = timedelta(days=2)
    important_threshold: int = 100_000
    review_required: bool = True
    cod_requires_completed_order: bool = True
    cod_limit: int = 50_000
    max_line_quantity: int = 99
    max_cart_lines: int = 30
    default_phone_region: str = "CN"
    timezone: str = "Asia/Shanghai"  # IANA name: the shop's clock for dates people read
    payment_methods: tuple[str, ...] = ("sandbox", "cod")
    delivery_options: tuple[DeliveryOption, ...] = field(
        default_factory=lambda: (
            DeliveryOption("standard", "Standard delivery", "标准快递", 1000, 3, True),
            DeliveryOption("express", "Express delivery", "加急快递", 2500, 1, False),
            DeliveryOption("pickup", "Pick up at the shop", "到店自提", 0, 0, True),
        )
    )
    regions: tuple[Region, ...] = ()
    # Where the shop delivers: countries (ISO 3166-1 alpha-2) and, when given, only these
    # region codes in them (what Telegram's payment form is answered for each address).
    ship_countries: tuple[str, ...] = ("CN",)
    ship_regions: tuple[str, ...] = ()
    return_addresses: tuple[ReturnAddress, ...] = ()
    support: SupportRules = field(default_factory=SupportRules)
    # Customers' notifications sent with allow_paid_broadcast (Telegram Stars) at up to 1000/s.
    paid_broadcast: bool = False

    def return_address(self, warehouse_code: str) -> ReturnAddress | None:
        """The return address of a warehouse, if the shop set one."""
        return next((a for a in self.return_addresses if a.warehouse_code == warehouse_code), None)

    def delivery(self, code: str) -> DeliveryOption | None:
        """The delivery option with this code, if any."""
        return next((d for d in self.delivery_options if d.code == code), None)

    def serves(self, country_code: str, *places: str) -> bool:
        """True when the shop delivers to this country and (if it limits regions) to one of
        the regions the places name (a state, a city: "上海市", "Guangzhou")."""
        if country_code.upper() not in self.ship_countries:
            return False
        if not self.ship_regions:
            return True
        found = (self.region(p) or self.region(p.strip().rstrip("省市")) for p in places if p)
        return any(r is not None and r.code in self.ship_regions for r in found)

    def region(self, name: str) -> Region | None:
        """The region whose code or one of whose names matches (case-insensitive)."""
        key = name.strip().casefold()
        for region in self.regions:
            if key == region.code.casefold() or key in (n.casefold() for n in region.names):
                return region
        return None
