"""Stripe's settings: keys from the environment only, the shop's currency checked against the
methods, and no live key behind a link customers cannot open (nor in the offline demo)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import AppConfig, ConfigError, load_config
from bot.public_links import check_public_links
from tests.test_cli import TOKEN, assert_one_line_error, shopbot

LIVE = "sk_live_51Hx" + "a" * 24
TEST = "sk_test_51Hx" + "b" * 24
HOOK = "whsec_" + "c" * 32
STRIPE_ONLY = "payments:\n  methods: [stripe, cod]\n"


def config_with(tmp_path: Path, yaml: str = STRIPE_ONLY, **env: str) -> AppConfig:
    """The settings of a config.yaml holding `yaml`, with `env` as the environment."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml, encoding="utf-8")
    return load_config(path, env=env)


@pytest.mark.parametrize(("config", "shown"), [
    (STRIPE_ONLY, "is not set"),  # the default: links to http://127.0.0.1:8080
    (STRIPE_ONLY + "web:\n  public_url: http://shop.example.com\n", "must be an https://"),
    (STRIPE_ONLY + "web:\n  public_url: https://127.0.0.1:8443\n", "loopback or private"),
    (STRIPE_ONLY + "web:\n  public_url: https://shop.local\n", "only this network knows"),
])
def test_a_live_key_behind_a_link_nobody_can_open_stops_the_start(
    tmp_path: Path, config: str, shown: str
) -> None:
    result = shopbot(tmp_path, "run", config=config, BOT_TOKEN=TOKEN,
                     SHOPBOT_STRIPE_API_KEY=LIVE, SHOPBOT_STRIPE_WEBHOOK_SECRET=HOOK)
    assert_one_line_error(result, 2, "config error: web.public_url: ", shown, "live Stripe key")
    assert LIVE not in result.stderr and not (tmp_path / "data").exists()


def test_the_offline_demo_takes_test_keys_only(tmp_path: Path) -> None:
    result = shopbot(tmp_path, "run", config=STRIPE_ONLY,
                     SHOPBOT_STRIPE_API_KEY=LIVE, SHOPBOT_STRIPE_WEBHOOK_SECRET=HOOK)
    assert_one_line_error(result, 2, "config error: SHOPBOT_STRIPE_API_KEY: ", "test key only")
    check_public_links(config_with(tmp_path, SHOPBOT_STRIPE_API_KEY=TEST,
                                   SHOPBOT_STRIPE_WEBHOOK_SECRET=HOOK))  # no error


@pytest.mark.parametrize(("key", "url"), [
    (LIVE, "https://shop.example.com"), ("rk_live_" + "d" * 24, "https://8.8.8.8/shop"),
    (TEST, None),  # test mode: links on this machine are fine (a Stripe CLI forwards webhooks)
])
def test_a_public_https_address_or_a_test_key_passes(tmp_path: Path, key: str,
                                                     url: str | None) -> None:
    config = config_with(tmp_path, BOT_TOKEN=TOKEN, SHOPBOT_STRIPE_API_KEY=key,
                         SHOPBOT_STRIPE_WEBHOOK_SECRET=HOOK)
    config = config.model_copy(update={"web": config.web.model_copy(update={"public_url": url})})
    check_public_links(config)  # no error


@pytest.mark.parametrize(("yaml", "env", "error"), [
    (STRIPE_ONLY, {"SHOPBOT_STRIPE_WEBHOOK_SECRET": HOOK},
     "config error: SHOPBOT_STRIPE_API_KEY: is required when payments.methods has 'stripe'"),
    (STRIPE_ONLY, {"SHOPBOT_STRIPE_API_KEY": TEST},
     "config error: SHOPBOT_STRIPE_WEBHOOK_SECRET: is required"),
    ("payments:\n  stripe:\n    api_key: " + TEST + "\n", {},
     "config error: payments.stripe.api_key: secrets go in the SHOPBOT_STRIPE_API_KEY "
     "environment variable"),
    ("payments:\n  stripe:\n    webhook_secret: " + HOOK + "\n", {},
     "secrets go in the SHOPBOT_STRIPE_WEBHOOK_SECRET environment variable"),
    (STRIPE_ONLY + "shop:\n  currency: CHF\n", {},
     "config error: shop.currency: alipay cannot charge in CHF"),
    (STRIPE_ONLY + "shop:\n  currency: KWD\n", {},
     "config error: shop.currency: Stripe is not set up here for KWD"),
    (STRIPE_ONLY + "orders:\n  payment_deadline_minutes: 1440\n", {},
     "config error: orders.payment_deadline_minutes: must be at most 1320"),
    (STRIPE_ONLY + "  stripe:\n    payment_method_types: [card, paypal]\n", {},
     "payments.stripe.payment_method_types"),
])
def test_wrong_stripe_settings_are_one_line_errors(tmp_path: Path, yaml: str,
                                                   env: dict[str, str], error: str) -> None:
    env = {"SHOPBOT_STRIPE_API_KEY": TEST, "SHOPBOT_STRIPE_WEBHOOK_SECRET": HOOK} | env
    if "SHOPBOT_STRIPE_API_KEY" in error and "required" in error:
        env.pop("SHOPBOT_STRIPE_API_KEY")
    if "SHOPBOT_STRIPE_WEBHOOK_SECRET: is required" in error:
        env.pop("SHOPBOT_STRIPE_WEBHOOK_SECRET")
    with pytest.raises(ConfigError) as caught:
        config_with(tmp_path, yaml, **env)
    assert error in str(caught.value)
    assert TEST not in str(caught.value) and HOOK not in str(caught.value)


def test_a_card_only_shop_may_charge_in_thb_and_the_provider_is_built(tmp_path: Path) -> None:
    from bot.app import payment_providers
    from services.payments.stripe import StripeProvider

    yaml = STRIPE_ONLY + "  stripe:\n    payment_method_types: [card]\nshop:\n  currency: THB\n"
    config = config_with(tmp_path, yaml, SHOPBOT_STRIPE_API_KEY=TEST,
                         SHOPBOT_STRIPE_WEBHOOK_SECRET=HOOK)
    provider = payment_providers(config).get("stripe")
    assert isinstance(provider, StripeProvider) and provider.methods == ("card",)
    assert not provider.live
