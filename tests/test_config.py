"""Settings: config.yaml, environment overrides, and one-line errors naming the key."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import AppConfig, ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent


def config_from(tmp_path: Path, text: str = "", **env: str) -> AppConfig:
    """Load a config file holding `text` with only `env` as the environment."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env=env)


def error_from(tmp_path: Path, text: str = "", **env: str) -> str:
    """The one-line message of the ConfigError that loading raises."""
    with pytest.raises(ConfigError) as caught:
        config_from(tmp_path, text, **env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_shipped_config_yaml_says_exactly_the_defaults() -> None:
    assert load_config(REPO / "config.yaml", env={}) == AppConfig()


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yaml", env={})
    assert config.database.url == "sqlite+aiosqlite:///./data/shop.db"
    assert [w.region for w in config.warehouses] == ["shanghai", "guangdong"]
    assert len(config.regions) == 8


def test_shopbot_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("shop:\n  name: Tea House\n", encoding="utf-8")
    assert load_config(env={"SHOPBOT_CONFIG": str(path)}).shop.name == "Tea House"


def test_rules_carry_the_settings_as_durations_and_dataclasses(tmp_path: Path) -> None:
    text = "orders:\n  payment_deadline_minutes: 45\n  receipt_reminder_hours_before: 12\n"
    rules = config_from(tmp_path, text, SHOPBOT_ADMIN_CHAT_ID="-100123").to_rules()
    assert rules.payment_deadline == timedelta(minutes=45)
    assert rules.receipt_reminder_before == timedelta(hours=12)
    assert rules.auto_confirm_after == timedelta(days=7)
    assert rules.admin_chat_id == -100123
    assert rules.payment_methods == ("sandbox", "cod")
    assert rules.delivery("express") is not None and rules.delivery("express").fee == 2500
    assert rules.region("上海") is not None and rules.region("广州").code == "guangdong"


def test_return_addresses_reach_the_rules_by_warehouse(tmp_path: Path) -> None:
    rules = config_from(tmp_path, "").to_rules()  # the demo warehouses have them
    shanghai = rules.return_address("SH01")
    assert shanghai is not None and "Shanghai" in shanghai.en and "上海" in shanghai.zh
    bare = config_from(tmp_path, "warehouses:\n  - {code: W, name: A, region: shanghai,"
                                 " latitude: 1, longitude: 1}\n").to_rules()
    assert bare.return_address("W") is None and bare.return_addresses == ()


def test_the_shop_clock_and_the_carriers_reach_the_services(tmp_path: Path) -> None:
    default = AppConfig()
    assert default.shop.timezone == "Asia/Shanghai" and default.to_rules().timezone == "Asia/Shanghai"
    text = ("shop:\n  timezone: Europe/Berlin\ncarriers:\n"
            "  - {code: dhl, name_en: DHL Express, name_zh: DHL快递, transit_days: 4}\n")
    config = config_from(tmp_path, text)
    assert config.to_rules().timezone == "Europe/Berlin"
    (dhl,) = config.carrier_profiles()
    assert (dhl.code, dhl.name("en"), dhl.name("zh_CN"), dhl.transit, dhl.tracking) == (
        "dhl", "DHL Express", "DHL快递", timedelta(days=4), False)
    # The demo's: SF Express without tracking, a demo carrier with the simulated tracking.
    demo = {p.code: p for p in default.carrier_profiles()}
    assert demo["sf"].name("zh_CN") == "顺丰速运" and not demo["sf"].tracking
    assert demo["sandbox"].tracking and demo["sandbox"].name("en") == "Demo Express"


def test_paid_broadcast_is_the_shops_opt_in(tmp_path: Path) -> None:
    assert config_from(tmp_path, "").to_rules().paid_broadcast is False  # never by default
    text = "telegram:\n  allow_paid_broadcast: true\n"
    assert config_from(tmp_path, text).to_rules().paid_broadcast is True
    assert "allow_paid_broadcast" in error_from(tmp_path, "telegram:\n  allow_paid_broadcast: maybe\n")


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = config_from(
        tmp_path, "database:\n  url: sqlite+aiosqlite:///a.db\n",
        SHOPBOT_DATABASE_URL="postgresql+asyncpg://u@h/db", BOT_TOKEN="123456:AAE-x_y",
        SHOPBOT_ADMIN_USER_IDS="1, 2,3", SHOPBOT_LOG_LEVEL="debug", SHOPBOT_WEB_PORT="9000",
        SHOPBOT_REDIS_URL="redis://127.0.0.1:6379/0", SHOPBOT_FRAMEWORK="ptb",
        SHOPBOT_DATABASE_POOL_SIZE="8",
    )
    assert config.database.url == "postgresql+asyncpg://u@h/db"
    assert config.database.pool_size == 8
    assert config.telegram.token == "123456:AAE-x_y"
    assert config.admin.user_ids == (1, 2, 3)
    assert (config.logging.level, config.web.port) == ("DEBUG", 9000)
    assert config.redis.url == "redis://127.0.0.1:6379/0"
    assert config.telegram.framework == "ptb"


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    assert config_from(tmp_path, BOT_TOKEN="", SHOPBOT_WEB_PORT="").telegram.token is None


def test_webhook_mode_with_url_and_secret(tmp_path: Path) -> None:
    config = config_from(
        tmp_path, "telegram:\n  webhook:\n    public_url: https://shop.example.com\n",
        SHOPBOT_MODE="webhook", SHOPBOT_WEBHOOK_SECRET="s3cret-token",
    )
    assert config.telegram.mode == "webhook"
    assert config.telegram.webhook.secret_token == "s3cret-token"


ONE_LANGUAGE_RETURN_ADDRESS = """
warehouses:
  - {code: W, name: A, region: shanghai, latitude: 1, longitude: 1, return_address_en: 1 Road}
"""
EMPTY_RETURN_ADDRESS = """
warehouses:
  - {code: W, name: A, region: shanghai, latitude: 1, longitude: 1, return_address_en: '',
     return_address_zh: 路}
"""
TWO_WAREHOUSES_ONE_CODE = """
warehouses:
  - {code: W, name: A, region: shanghai, latitude: 1, longitude: 1}
  - {code: W, name: B, region: fujian, latitude: 1, longitude: 1}
"""


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("orders:\n  payment_deadline_minutes: -5\n", {},
         "config error: orders.payment_deadline_minutes: must be greater than 0 (got -5)"),
        ("", {"SHOPBOT_DATABASE_URL": "mysql://x"},
         "config error: SHOPBOT_DATABASE_URL: unsupported database 'mysql' (use sqlite or post"),
        ("database:\n  url: not a url\n", {}, "config error: database.url: not a database URL"),
        ("orders:\n  payment_deadlin_minutes: 5\n", {},
         "config error: orders.payment_deadlin_minutes: unknown key"),
        ("shiping: {}\n", {}, "config error: shiping: unknown key"),
        ("shipping:\n  regions: [mars]\n", {},
         "config error: shipping.regions[0]: not a code in regions (got 'mars')"),
        ("shipping:\n  countries: [china]\n", {},
         "config error: shipping.countries: not an ISO 3166-1 alpha-2 code (got 'china')"),
        ("", {"BOT_TOKEN": "not-a-token"}, "config error: BOT_TOKEN: must be a bot token"),
        ("shop:\n  currency: cny\n", {}, "config error: shop.currency: must be an ISO 4217 code"),
        ("shop:\n  languages: [en, fr]\n", {}, "config error: shop.languages[1]: must be 'en'"),
        ("shop:\n  languages: [zh_CN]\n", {}, "config error: shop.default_language:"),
        ("delivery_options:\n  - {code: a, name_en: A, name_zh: A, fee: -1}\n", {},
         "config error: delivery_options[0].fee: must be greater than or equal to 0 (got -1)"),
        (TWO_WAREHOUSES_ONE_CODE, {},
         "config error: warehouses[1].code: 'W' is used twice"),
        ("warehouses:\n  - {code: W, name: A, region: mars, latitude: 1, longitude: 1}\n", {},
         "config error: warehouses[0].region: not a code or name in regions (got 'mars')"),
        (ONE_LANGUAGE_RETURN_ADDRESS, {},
         "config error: warehouses[0].return_address_zh: is required with the other language's"),
        (EMPTY_RETURN_ADDRESS, {},
         "config error: warehouses[0].return_address_en: must have at least 1 character"),
        ("", {"SHOPBOT_ADMIN_USER_IDS": "1,x"}, "config error: SHOPBOT_ADMIN_USER_IDS:"),
        ("", {"SHOPBOT_WEB_PORT": "70000"}, "config error: SHOPBOT_WEB_PORT: must be less than"),
        ("database:\n  pool_size: 0\n", {},
         "config error: database.pool_size: must be greater than or equal to 1 (got 0)"),
        ("", {"SHOPBOT_DATABASE_POOL_SIZE": "many"}, "config error: SHOPBOT_DATABASE_POOL_SIZE:"),
        ("", {"SHOPBOT_MODE": "webhook"}, "config error: telegram.webhook.public_url: is required"),
        ("telegram:\n  webhook: {public_url: 'https://x.example'}\n", {"SHOPBOT_MODE": "webhook"},
         "config error: SHOPBOT_WEBHOOK_SECRET: is required in webhook mode"),
        ("payments:\n  methods: [sandbox, telegram]\n", {},
         "config error: SHOPBOT_TELEGRAM_PROVIDER_TOKEN: is required"),
        ("orders:\n  payment_reminder_minutes_before: 30\n", {},
         "config error: orders.payment_reminder_minutes_before: must be less than"),
        ("redis:\n  url: http://x\n", {}, "config error: redis.url: must be a redis://"),
        ("telegram:\n  token: '123:abc'\n", {},
         "config error: telegram.token: secrets go in the BOT_TOKEN environment variable"),
        ("shop:\n  timezone: Mars/Olympus\n", {},
         "config error: shop.timezone: must be an IANA time zone such as Asia/Shanghai (got 'Mars/Olympus')"),
        ("shop:\n  timezone: CST\n", {}, "config error: shop.timezone: must be an IANA time zone"),
        ("shop:\n  timezone: ../../etc/passwd\n", {}, "config error: shop.timezone: must be an IANA"),
        ("carriers: []\n", {}, "config error: carriers: "),
        ("carriers:\n  - {code: SF, name_en: SF, name_zh: 顺丰}\n", {},
         "config error: carriers[0].code: must be 1-16 of a-z 0-9 _"),
        ("carriers:\n  - {code: sf, name_en: SF, name_zh: ''}\n", {}, "config error: carriers[0].name_zh:"),
        ("carriers:\n  - {code: sf, name_en: SF, name_zh: 顺丰, transit_days: -1}\n", {},
         "config error: carriers[0].transit_days: must be greater than or equal to 0"),
        ("carriers:\n  - {code: sf, name_en: A, name_zh: 甲}\n  - {code: sf, name_en: B, name_zh: 乙}\n",
         {}, "config error: carriers[1].code: 'sf' is used twice"),
        ("carriers:\n  - {code: sf, name: SF}\n", {}, "config error: carriers[0].name_en: is required"),
        ("orders: 5\n", {}, "config error: orders: must be a section of keys (got 5)"),
        ("orders: [\n", {}, "invalid YAML at line 2"),
        ("- a list\n", {}, "must be a mapping of sections"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_key(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    assert expected in error_from(tmp_path, text, **env)


def test_secrets_and_database_urls_are_not_repeated_in_errors(tmp_path: Path) -> None:
    assert "hunter2" not in error_from(tmp_path, BOT_TOKEN="hunter2")
    message = error_from(tmp_path, SHOPBOT_DATABASE_URL="mysql://root:hunter2@db/shop")
    assert "hunter2" not in message

