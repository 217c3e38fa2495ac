"""The sections of the settings, one pydantic model each, with the defaults of config.yaml."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config_loader import ConfigError
from services.rules import ShopRules

# Development only, so the sandbox payment provider works out of the box; anything reachable
# from outside must set SHOPBOT_SANDBOX_PAYMENT_SECRET.
DEV_SANDBOX_SECRET = "dev-sandbox-secret-change-me"


def _shaped(pattern: str, description: str) -> AfterValidator:
    """A check that a text matches `pattern`, failing with "must be <description>"."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"must be {description}")
        return value

    return AfterValidator(check)


Currency = Annotated[str, _shaped(r"^[A-Z]{3}$", "an ISO 4217 code of 3 capital letters (CNY)")]
CountryCode = Annotated[str, _shaped(r"^[A-Z]{2}$", "a 2-letter capital country code (CN)")]
WebUrl = Annotated[str, _shaped(r"^https?://[^\s/]+", "an http:// or https:// URL")]
RedisUrl = Annotated[str, _shaped(r"^(rediss?|unix)://", "a redis://, rediss:// or unix:// URL")]
UrlPath = Annotated[str, _shaped(r"^/\S*$", "a URL path starting with /")]
# The Bot API accepts 1-256 of these characters as a webhook secret_token.
WebhookSecret = Annotated[str, _shaped(r"^[A-Za-z0-9_-]{1,256}$", "1-256 of A-Z a-z 0-9 _ -")]
BotToken = Annotated[
    str, _shaped(r"^\d+:[A-Za-z0-9_-]+$", "a bot token like 123456:ABC-def (from @BotFather)")
]
Port = Annotated[int, Field(ge=1, le=65535)]


def _known_zone(name: str) -> str:
    if name not in available_timezones():  # IANA's list: no path tricks, no "CST"
        raise ValueError(f"must be an IANA time zone such as Asia/Shanghai (got {name[:64]!r})")
    return name


TimeZone = Annotated[str, AfterValidator(_known_zone)]
Language = Literal["en", "zh_CN"]


# Checks that span fields raise ConfigError (pydantic lets it through) to name the exact key.
class Section(BaseModel):
    """A config section: a typo'd key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Section):
    """Where the data lives."""

    url: str = "sqlite+aiosqlite:///./data/shop.db"
    # PostgreSQL connections each process keeps open (SQLite ignores it): turns past this
    # many at once wait a moment for one rather than open and close connections of their own.
    pool_size: int = Field(default=20, ge=1, le=500)

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            raise ValueError(
                "not a database URL (e.g. sqlite+aiosqlite:///./data/shop.db)") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r} (use sqlite or postgresql)")
        return url


class WebhookConfig(Section):
    """The webhook HTTP server and the URL Telegram posts to."""

    host: str = "0.0.0.0"
    port: Port = 8443
    path: UrlPath = "/telegram/webhook"
    public_url: WebUrl | None = None
    secret_token: WebhookSecret | None = None


class TelegramConfig(Section):
    """Which runtime, which mode, which Bot API server, and the token (from BOT_TOKEN)."""

    framework: Literal["aiogram", "ptb"] = "ptb"
    mode: Literal["polling", "webhook"] = "polling"
    api_url: WebUrl | None = None
    webhook: WebhookConfig = WebhookConfig()
    token: BotToken | None = None
    # Customers' notifications as paid broadcasts: up to 1000/s, 0.1 Star each from the bot.
    allow_paid_broadcast: bool = False

    @model_validator(mode="after")
    def _webhook_ready(self) -> TelegramConfig:
        if self.mode == "webhook" and not self.webhook.public_url:
            raise ConfigError("telegram.webhook.public_url", "is required in webhook mode")
        if self.mode == "webhook" and not self.webhook.secret_token:
            raise ConfigError("SHOPBOT_WEBHOOK_SECRET", "is required in webhook mode")
        return self


class AdminConfig(Section):
    """The merchant's chat and the users allowed to administer the shop."""

    chat_id: int | None = None
    user_ids: tuple[int, ...] = ()
    language: Language = "en"


HoursText = Annotated[str, _shaped(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
                                   "hours like 09:00-21:00")]


class CannedConfig(Section):
    """A prepared answer: `/reply <key>` sends it in the customer's language."""

    en: str = Field(min_length=1, max_length=4096)
    zh_CN: str = Field(min_length=1, max_length=4096)


class SupportConfig(Section):
    """The support agents' forum, who the agents are, and what the desk promises."""

    chat_id: int | None = None
    agents: tuple[int, ...] = ()
    language: Language = "en"
    first_response_minutes: int = Field(default=15, ge=1, le=24 * 60)
    hours: HoursText | None = None
    canned: dict[Annotated[str, _shaped(r"^[a-z0-9_]{1,32}$", "a key of a-z 0-9 _")],
                 CannedConfig] = Field(default_factory=dict)


class ShopConfig(Section):
    """Who the shop is and how it speaks."""

    name: str = Field(default="Demo Shop", min_length=1)
    currency: Currency = "CNY"
    default_phone_region: CountryCode = "CN"
    languages: tuple[Language, ...] = Field(default=("en", "zh_CN"), min_length=1)
    default_language: Language = "en"
    media_dir: Path = Path("./data/media")
    timezone: TimeZone = "Asia/Shanghai"

    @model_validator(mode="after")
    def _default_is_spoken(self) -> ShopConfig:
        if self.default_language not in self.languages:
            problem = f"must be one of shop.languages (got {self.default_language!r})"
            raise ConfigError("shop.default_language", problem)
        return self


class CodConfig(Section):
    """Cash on delivery limits."""

    requires_completed_order: bool = True
    limit: int = Field(default=50_000, ge=0)


class OrdersConfig(Section):
    """Deadlines and thresholds of the order lifecycle."""

    payment_deadline_minutes: int = Field(default=30, gt=0)
    payment_reminder_minutes_before: int = Field(default=10, gt=0)
    auto_confirm_days: int = Field(default=7, gt=0)
    receipt_reminder_hours_before: int = Field(default=24, gt=0)
    return_window_days: int = Field(default=7, ge=0)
    settlement_period_days: int = Field(default=15, gt=0)
    ship_within_days: int = Field(default=2, gt=0)
    important_threshold: int = Field(default=100_000, ge=0)
    review_required: bool = True
    cod: CodConfig = CodConfig()

    @model_validator(mode="after")
    def _reminder_before_deadline(self) -> OrdersConfig:
        minutes = self.payment_deadline_minutes
        if self.payment_reminder_minutes_before >= minutes:
            problem = f"must be less than orders.payment_deadline_minutes ({minutes})"
            raise ConfigError("orders.payment_reminder_minutes_before", problem)
        return self


class CartConfig(Section):
    """Cart size limits."""

    max_line_quantity: int = Field(default=99, gt=0)
    max_lines: int = Field(default=30, gt=0)


class StripeConfig(Section):
    """Stripe Checkout (methods "stripe"): the keys come from the environment only."""

    # Offered on Stripe's page; each must be enabled in the Stripe dashboard too.
    payment_method_types: tuple[Literal["card", "alipay", "wechat_pay"], ...] = Field(
        default=("card", "alipay", "wechat_pay"), min_length=1)
    # Stripe's API address: only a local fake of it in tests and the offline demo.
    api_base: WebUrl | None = None
    api_key: str | None = Field(default=None, min_length=8)
    webhook_secret: str | None = Field(default=None, min_length=8)

    @property
    def live(self) -> bool:
        """True for a live secret or restricted key (real money)."""
        return (self.api_key or "").startswith(("sk_live_", "rk_live_"))


class ShippingConfig(Section):
    """Where the shop delivers (Telegram's payment form asks the bot about each address)."""

    countries: tuple[str, ...] = Field(default=("CN",), min_length=1)
    regions: tuple[str, ...] = ()  # codes of `regions`; empty: anywhere in those countries

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"not an ISO 3166-1 alpha-2 code (got {code!r})")
        return value


class PaymentsConfig(Section):
    """Enabled payment methods and their secrets (secrets from the environment only)."""

    methods: tuple[Literal["sandbox", "cod", "telegram", "stripe"], ...] = Field(
        default=("sandbox", "cod"), min_length=1
    )
    sandbox_secret: str = Field(default=DEV_SANDBOX_SECRET, min_length=8)
    telegram_provider_token: str | None = None
    stripe: StripeConfig = StripeConfig()

    @model_validator(mode="after")
    def _telegram_has_token(self) -> PaymentsConfig:
        if "telegram" in self.methods and not self.telegram_provider_token:
            problem = "is required when payments.methods has 'telegram'"
            raise ConfigError("SHOPBOT_TELEGRAM_PROVIDER_TOKEN", problem)
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError("payments.methods", "a method is listed twice")
        for key, value in (("SHOPBOT_STRIPE_API_KEY", self.stripe.api_key),
                           ("SHOPBOT_STRIPE_WEBHOOK_SECRET", self.stripe.webhook_secret)):
            if "stripe" in self.methods and not value:
                raise ConfigError(key, "is required when payments.methods has 'stripe'")
        return self


class WarehouseConfig(Section):
    """A place goods ship from."""

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    region: str = Field(min_length=1, max_length=64)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    priority: int = 100
    # Where customers send goods back from orders that shipped from here (both languages,
    # or neither: then the approval says the shop will tell them).
    return_address_en: str | None = Field(default=None, min_length=1, max_length=300)
    return_address_zh: str | None = Field(default=None, min_length=1, max_length=300)


class RegionConfig(Section):
    """A delivery region, the names customers may type for it, and its rough centre."""

    code: str = Field(min_length=1)
    names: tuple[str, ...] = ()
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class DeliveryOptionConfig(Section):
    """A way to deliver."""

    code: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    name_zh: str = Field(min_length=1)
    fee: int = Field(ge=0)
    days: int = Field(default=3, ge=0)
    allows_cod: bool = True


class CarrierConfig(Section):
    """A carrier the merchant can ship with, named in both languages."""

    # The code travels in button data and is stored with each shipment.
    code: Annotated[str, _shaped(r"^[a-z0-9_]{1,16}$", "1-16 of a-z 0-9 _ (e.g. sf)")]
    name_en: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=64)
    tracking: bool = False
    transit_days: int = Field(default=3, ge=0, le=60)


class SchedulerConfig(Section):
    """Seconds between the runs of each sweep, and how long sent messages are kept."""

    expire_unpaid: float = Field(default=60, gt=0)
    reminders: float = Field(default=60, gt=0)
    poll_tracking: float = Field(default=900, gt=0)
    auto_complete: float = Field(default=300, gt=0)
    archive: float = Field(default=3600, gt=0)
    stock_back: float = Field(default=60, gt=0)
    outbox: float = Field(default=1, gt=0)
    money: float = Field(default=10, gt=0)
    prune: float = Field(default=3600, gt=0)
    keep_sent_messages_days: int = Field(default=7, ge=1)


class RedisConfig(Section):
    """Shared state of several processes; null keeps it in memory."""

    url: RedisUrl | None = None


class WebConfig(Section):
    """The web server for payment callbacks, health and the sandbox chat page."""

    host: str = "127.0.0.1"
    port: Port = 8080
    public_url: WebUrl | None = None


class LoggingConfig(Section):
    """How much to log."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, level: Any) -> Any:
        return level.upper() if isinstance(level, str) else level


# The defaults equal config.yaml (a test keeps them so), so a missing file still gives a shop.
DEFAULT_WAREHOUSES = (
    WarehouseConfig(code="SH01", name="Shanghai Pudong", region="shanghai",
                    latitude=31.22, longitude=121.54, priority=10,
                    return_address_en="Returns desk, 1000 Zhangjiang Road, Pudong, Shanghai 201203",
                    return_address_zh="上海市浦东新区张江路 1000 号 退货处 201203"),
    WarehouseConfig(code="GZ01", name="Guangzhou Baiyun", region="guangdong",
                    latitude=23.16, longitude=113.27, priority=20,
                    return_address_en="Returns desk, 88 Airport Road, Baiyun, Guangzhou 510080",
                    return_address_zh="广州市白云区机场路 88 号 退货处 510080"),
)
DEFAULT_REGIONS = tuple(
    RegionConfig(code=code, names=tuple(names.split("|")), latitude=lat, longitude=lon)
    for code, names, lat, lon in (
        ("shanghai", "Shanghai|上海|上海市", 31.23, 121.47),
        ("beijing", "Beijing|北京|北京市", 39.90, 116.41),
        ("guangdong", "Guangdong|广东|广东省|Guangzhou|广州", 23.13, 113.26),
        ("zhejiang", "Zhejiang|浙江|浙江省|Hangzhou|杭州", 30.27, 120.15),
        ("jiangsu", "Jiangsu|江苏|江苏省|Nanjing|南京", 32.06, 118.80),
        ("sichuan", "Sichuan|四川|四川省|Chengdu|成都", 30.57, 104.07),
        ("hubei", "Hubei|湖北|湖北省|Wuhan|武汉", 30.59, 114.31),
        ("fujian", "Fujian|福建|福建省|Fuzhou|福州", 26.07, 119.30),
    )
)
DEFAULT_CARRIERS = (
    CarrierConfig(code="sf", name_en="SF Express", name_zh="顺丰速运", transit_days=2),
    CarrierConfig(code="sandbox", name_en="Demo Express", name_zh="演示快递", tracking=True,
                  transit_days=3),
    CarrierConfig(code="manual", name_en="Shop courier", name_zh="商家配送", transit_days=3),
)
DEFAULT_DELIVERY_OPTIONS = tuple(
    DeliveryOptionConfig(
        code=d.code, name_en=d.name_en, name_zh=d.name_zh, fee=d.fee, days=d.days,
        allows_cod=d.allows_cod,
    )
    for d in ShopRules().delivery_options
)
