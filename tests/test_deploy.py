"""deploy/: the files a shop runs scaled out agree with the code (images cannot be built here).

Every SHOPBOT_ variable they set is one the settings loader reads; the Dockerfile copies what
exists, runs as a user of its own and checks /health; compose runs the four services with the
bots in webhook mode on PostgreSQL and Redis; the systemd unit passes `systemd-analyze verify`
(but for the absent install path). nginx -t runs in tests/reliability/test_topology.py."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from bot.config_loader import ENV_OVERRIDES

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KNOWN = set(ENV_OVERRIDES) | {"BOT_TOKEN"}


def variables(text: str) -> set[str]:
    return set(re.findall(r"\b(SHOPBOT_[A-Z_]+)\b(?==|:)", text))


def test_compose_runs_the_bots_in_webhook_mode_behind_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert set(compose["services"]) == {"postgres", "redis", "bot", "nginx"}
    bot = compose["services"]["bot"]
    env = bot["environment"]
    assert env["SHOPBOT_MODE"] == "webhook" and bot["deploy"]["replicas"] >= 2
    assert env["SHOPBOT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["SHOPBOT_REDIS_URL"].startswith("redis://")
    assert set(env) <= KNOWN
    assert env["SHOPBOT_WEB_PORT"] == env["SHOPBOT_WEBHOOK_PORT"] == "8080"
    assert "bot:8080" in (DEPLOY / "nginx" / "shopbot.conf").read_text(encoding="utf-8")
    nginx = compose["services"]["nginx"]["volumes"][0]
    assert nginx.startswith("./nginx/shopbot.conf:")


def test_the_dockerfile_is_slim_non_root_and_checks_health() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.MULTILINE)
    assert re.search(r"^USER shopbot$", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/health" in text
    for source in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        for name in source.split():
            assert (ROOT / name).exists(), name
    assert variables(text) <= KNOWN


def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    unit = DEPLOY / "systemd" / "shopbot@.service"
    assert variables(unit.read_text(encoding="utf-8")) <= KNOWN
    if shutil.which("systemd-analyze") is None:
        return  # the variables are checked; verify needs systemd's tools
    instance = tmp_path / "shopbot@8081.service"
    instance.write_text(unit.read_text(encoding="utf-8"), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(instance)],
                            capture_output=True, text=True, check=False)
    problems = [line for line in result.stderr.splitlines()
                if line.strip() and "/opt/shopbot/.venv/bin/shopbot" not in line]
    assert problems == []


def test_nginx_passes_every_public_page_of_the_bot_to_it() -> None:
    """What Telegram and customers open goes through: the webhook, the sandbox provider's
    pages (/pay/) and Stripe's (the Pay link, the way back, its webhooks)."""
    from bot.paypage import PREFIX as PAY
    from bot.stripe_web import PREFIX as STRIPE

    site = (DEPLOY / "nginx" / "shopbot.conf").read_text(encoding="utf-8")
    proxied = set(re.findall(r"location (?:= )?(\S+) \{\s*proxy_pass http://shopbot;", site))
    webhook_path = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))[
        "telegram"]["webhook"]["path"]
    assert {webhook_path, PAY.rstrip("/") + "/", STRIPE.rstrip("/") + "/"} <= proxied
