"""Typed settings: config.yaml (every key commented there) overlaid by environment variables."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from bot.config_loader import ConfigError, read_settings
from bot.config_sections import (
    DEFAULT_CARRIERS,
    DEFAULT_DELIVERY_OPTIONS,
    DEFAULT_REGIONS,
    DEFAULT_WAREHOUSES,
    AdminConfig,
    CarrierConfig,
    CartConfig,
    DatabaseConfig,
    DeliveryOptionConfig,
    LoggingConfig,
    OrdersConfig,
    PaymentsConfig,
    RedisConfig,
    RegionConfig,
    SchedulerConfig,
    Section,
    ShippingConfig,
    ShopConfig,
    SupportConfig,
    TelegramConfig,
    WarehouseConfig,
    WebConfig,
)
from services.rules import (
    CannedReply,
    DeliveryOption,
    Region,
    ReturnAddress,
    ShopRules,
    SupportRules,
)
from services.shipping.carriers import CarrierProfile

__all__ = ["AppConfig", "ConfigError", "load_config"]


def _unique(items: tuple[Any, ...], section: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.code in seen:
            raise ConfigError(f"{section}[{index}].code", f"{item.code!r} is used twice")
        seen.add(item.code)


class AppConfig(Section):
    """Every setting of the bot."""

    database: DatabaseConfig = DatabaseConfig()
    telegram: TelegramConfig = TelegramConfig()
    admin: AdminConfig = AdminConfig()
    support: SupportConfig = SupportConfig()
    shop: ShopConfig = ShopConfig()
    orders: OrdersConfig = OrdersConfig()
    cart: CartConfig = CartConfig()
    payments: PaymentsConfig = PaymentsConfig()
    shipping: ShippingConfig = ShippingConfig()
    warehouses: tuple[WarehouseConfig, ...] = Field(default_factory=lambda: DEFAULT_WAREHOUSES)
    regions: tuple[RegionConfig, ...] = Field(default_factory=lambda: DEFAULT_REGIONS)
    delivery_options: tuple[DeliveryOptionConfig, ...] = Field(
        default_factory=lambda: DEFAULT_DELIVERY_OPTIONS
    )
    carriers: tuple[CarrierConfig, ...] = Field(
        default_factory=lambda: DEFAULT_CARRIERS, min_length=1
    )
    scheduler: SchedulerConfig = SchedulerConfig()
    redis: RedisConfig = RedisConfig()
    web: WebConfig = WebConfig()
    logging: LoggingConfig = LoggingConfig()

    @model_validator(mode="after")
    def _consistent(self) -> AppConfig:
        _unique(self.warehouses, "warehouses")
        _unique(self.regions, "regions")
        _unique(self.delivery_options, "delivery_options")
        _unique(self.carriers, "carriers")
        rules = ShopRules(regions=tuple(_region(r) for r in self.regions))
        codes = {r.code for r in self.regions}
        for index, code in enumerate(self.shipping.regions):
            if code not in codes:
                raise ConfigError(f"shipping.regions[{index}]",
                                  f"not a code in regions (got {code!r})")
        for index, warehouse in enumerate(self.warehouses):
            if self.regions and rules.region(warehouse.region) is None:
                problem = f"not a code or name in regions (got {warehouse.region!r})"
                raise ConfigError(f"warehouses[{index}].region", problem)
            given = (warehouse.return_address_en, warehouse.return_address_zh)
            if (given[0] is None) != (given[1] is None):
                missing = "return_address_zh" if given[1] is None else "return_address_en"
                raise ConfigError(f"warehouses[{index}].{missing}",
                                  "is required with the other language's return address")
        if "stripe" in self.payments.methods:
            _stripe_fits(self)
        return self

    def to_rules(self) -> ShopRules:
        """The business settings the services take."""
        orders = self.orders
        return ShopRules(
            currency=self.shop.currency,
            admin_chat_id=self.admin.chat_id,
            admin_language=self.admin.language,
            shop_name=self.shop.name,
            payment_deadline=timedelta(minutes=orders.payment_deadline_minutes),
            payment_reminder_before=timedelta(minutes=orders.payment_reminder_minutes_before),
            auto_confirm_after=timedelta(days=orders.auto_confirm_days),
            receipt_reminder_before=timedelta(hours=orders.receipt_reminder_hours_before),
            return_window=timedelta(days=orders.return_window_days),
            settlement_period=timedelta(days=orders.settlement_period_days),
            ship_within=timedelta(days=orders.ship_within_days),
            important_threshold=orders.important_threshold,
            review_required=orders.review_required,
            cod_requires_completed_order=orders.cod.requires_completed_order,
            cod_limit=orders.cod.limit,
            max_line_quantity=self.cart.max_line_quantity,
            max_cart_lines=self.cart.max_lines,
            default_phone_region=self.shop.default_phone_region,
            timezone=self.shop.timezone,
            payment_methods=self.payments.methods,
            delivery_options=tuple(
                DeliveryOption(**d.model_dump()) for d in self.delivery_options
            ),
            regions=tuple(_region(r) for r in self.regions),
            ship_countries=self.shipping.countries,
            ship_regions=self.shipping.regions,
            return_addresses=tuple(
                ReturnAddress(w.code, w.return_address_en, w.return_address_zh)
                for w in self.warehouses if w.return_address_en and w.return_address_zh),
            support=self.support_rules(),
            paid_broadcast=self.telegram.allow_paid_broadcast,
        )

    def support_rules(self) -> SupportRules:
        """The support desk's settings as the services take them."""
        support = self.support
        opens = closes = None
        if support.hours:
            start, end = support.hours.split("-")
            opens, closes = time.fromisoformat(start), time.fromisoformat(end)
        return SupportRules(
            chat_id=support.chat_id, agents=frozenset(support.agents),
            first_response=timedelta(minutes=support.first_response_minutes),
            opens=opens, closes=closes, language=support.language,
            canned=tuple(CannedReply(key, c.en, c.zh_CN) for key, c in support.canned.items()))


    def carrier_profiles(self) -> tuple[CarrierProfile, ...]:
        """The carriers the merchant ships with, as the services take them."""
        return tuple(CarrierProfile(c.code, c.name_en, c.name_zh, timedelta(days=c.transit_days),
                                    c.tracking) for c in self.carriers)


def _region(region: RegionConfig) -> Region:
    return Region(region.code, region.names, region.latitude, region.longitude)


def load_config(
    path: str | Path | None = None, env: Mapping[str, str] = os.environ
) -> AppConfig:
    """Read config.yaml (or SHOPBOT_CONFIG), apply the environment, validate: or ConfigError."""
    if path is None:
        path = env.get("SHOPBOT_CONFIG") or "config.yaml"
    settings, sources = read_settings(Path(path), env)
    try:
        return AppConfig.model_validate(settings)
    except ValidationError as error:
        raise ConfigError.from_validation(error, sources) from None


def _stripe_fits(config: AppConfig) -> None:
    """Stripe can charge the shop's currency with the chosen methods, and a Checkout Session
    (at most 24 hours) outlives the payment deadline."""
    from services.payments.stripe import currency_problem

    problem = currency_problem(config.shop.currency, config.payments.stripe.payment_method_types)
    if problem:
        raise ConfigError("shop.currency", problem)
    if config.orders.payment_deadline_minutes > 22 * 60:
        raise ConfigError("orders.payment_deadline_minutes",
                          "must be at most 1320 (22 hours) with Stripe: a Checkout Session "
                          "lasts at most 24 hours")
