"""Links the bot puts in buttons must open on a customer's phone, not only on the shop's server.

With a real token, messages go through real Telegram to people anywhere: a "Pay" button to
http://127.0.0.1:8080/... (the default web address) or to a private network opens nothing for
them. The sandbox payment provider builds its links from `web.public_url`, so with a token it is
allowed only behind a public https address. So is Stripe with a live key (real money; Stripe
also posts its webhooks there); the offline demo takes Stripe test keys only.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.config import AppConfig, ConfigError

# Names that never leave a machine or a local network (RFC 6761, RFC 6762, RFC 8375).
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def link_problem(url: str | None) -> str | None:
    """Why a customer could not open links under `url`, or None when they can."""
    if not url:
        return "is not set (the default is this machine's own address)"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https":
        return f"must be an https:// address customers can open (got {url!r})"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Telegram refuses button links to hosts without a dot (BUTTON_URL_INVALID).
        if host == "localhost" or "." not in host or host.endswith(PRIVATE_SUFFIXES):
            return f"names a host only this network knows (got {url!r})"
        return None
    if not address.is_global:
        return f"is a loopback or private address customers cannot open (got {url!r})"
    return None


def check_public_links(config: AppConfig) -> None:
    """With a real token, refuse the sandbox provider's links unless they are public; with a
    live Stripe key, refuse Stripe's unless they are: ConfigError."""
    stripe = config.payments.stripe
    if "stripe" in config.payments.methods and config.telegram.token is None and not (
            stripe.api_key or "").startswith(("sk_test_", "rk_test_")):
        raise ConfigError("SHOPBOT_STRIPE_API_KEY", "the offline demo (no BOT_TOKEN) takes a "
                          "Stripe test key only (sk_test_... or rk_test_...)")
    if "stripe" in config.payments.methods and stripe.live:
        problem = link_problem(config.web.public_url)
        if problem is not None:
            raise ConfigError("web.public_url", problem + ": with a live Stripe key, customers "
                              "pay real money through these links and Stripe posts webhooks "
                              "there; set a public https web.public_url")
    if config.telegram.token is None or "sandbox" not in config.payments.methods:
        return
    problem = link_problem(config.web.public_url)
    if problem is not None:
        raise ConfigError("web.public_url", problem + ": the sandbox payment provider's links "
                          "go to real customers through Telegram; set a public https "
                          "web.public_url, or leave sandbox out of payments.methods")
