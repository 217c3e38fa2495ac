"""The shopbot command line, run for real in a subprocess: help, errors, db, demo data."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import models
from bot.migrate import head_revision

REPO = Path(__file__).resolve().parent.parent


def shopbot(
    cwd: Path, *args: str, config: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` in `cwd` with a clean environment plus `env`."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("SHOPBOT_") and k != "BOT_TOKEN"}
    # The source tree first, whatever an older editable install maps.
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    if config is not None:
        (cwd / "config.yaml").write_text(config, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=clean | env,
        capture_output=True, text=True, timeout=120, check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *parts: str) -> None:
    """Failed with `code` and exactly one line on stderr containing every part, no traceback."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert all(part in lines[0] for part in parts), lines[0]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = shopbot(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("run", "db", "demo-data"):
        assert command in result.stdout


def test_version(tmp_path: Path) -> None:
    result = shopbot(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.startswith("shopbot ")


@pytest.mark.parametrize(
    ("config", "env", "parts"),
    [
        (None, {"SHOPBOT_DATABASE_URL": "mysql://x"},
         ("config error: SHOPBOT_DATABASE_URL:", "unsupported database 'mysql'")),
        ("orders:\n  payment_deadline_minutes: -5\n", {},
         ("config error: orders.payment_deadline_minutes: must be greater than 0 (got -5)",)),
        ("shop:\n  nmae: Typo\n", {}, ("config error: shop.nmae: unknown key",)),
        (None, {"BOT_TOKEN": "12345"}, ("config error: BOT_TOKEN: must be a bot token",)),
        ("telegram:\n  mode: [\n", {}, ("config error:", "invalid YAML")),
        (None, {"SHOPBOT_FRAMEWORK": "telebot"},
         ("config error: SHOPBOT_FRAMEWORK: must be 'aiogram' or 'ptb' (got 'telebot')",)),
    ],
)
def test_a_wrong_setting_stops_run_with_one_line_and_code_2(
    tmp_path: Path, config: str | None, env: dict[str, str], parts: tuple[str, ...]
) -> None:
    assert_one_line_error(shopbot(tmp_path, "run", config=config, **env), 2, *parts)


TOKEN = "123456:AAE-real_token"


@pytest.mark.parametrize(
    ("config", "env", "shown"),
    [
        (None, {}, "is not set"),  # the defaults: links to http://127.0.0.1:8080
        ("web:\n  public_url: http://shop.example.com\n", {}, "must be an https:// address"),
        ("web:\n  public_url: https://127.0.0.1:8443\n", {}, "loopback or private"),
        ("web:\n  public_url: https://192.168.1.20\n", {}, "loopback or private"),
        ("web:\n  public_url: https://10.0.0.5/shop\n", {}, "loopback or private"),
        ("web:\n  public_url: https://[::1]:8443\n", {}, "loopback or private"),
        ("web:\n  public_url: https://localhost:8443\n", {}, "only this network knows"),
        ("web:\n  public_url: https://shop.local\n", {}, "only this network knows"),
        ("web:\n  public_url: https://myshop\n", {}, "only this network knows"),
    ],
)
def test_a_real_token_refuses_sandbox_payment_links_nobody_can_open(
    tmp_path: Path, config: str | None, env: dict[str, str], shown: str
) -> None:
    result = shopbot(tmp_path, "run", config=config, BOT_TOKEN=TOKEN, **env)
    assert_one_line_error(result, 2, "config error: web.public_url: ", shown,
                          "leave sandbox out of payments.methods")
    assert not (tmp_path / "data").exists()  # refused before anything was created


@pytest.mark.parametrize(("url", "methods"), [
    ("https://shop.example.com", ("sandbox", "cod")), ("https://8.8.8.8/pay", ("sandbox",)),
    ("https://SHOP.Example.com.", ("sandbox",)), (None, ("cod",)), (None, ("telegram", "cod")),
])
def test_a_public_https_address_or_no_sandbox_provider_passes(
    url: str | None, methods: tuple[str, ...]
) -> None:
    from bot.config import load_config
    from bot.public_links import check_public_links

    config = load_config(Path("/nonexistent.yaml"), env={
        "BOT_TOKEN": TOKEN, "SHOPBOT_TELEGRAM_PROVIDER_TOKEN": "284685063:TEST:x"})
    config = config.model_copy(update={
        "web": config.web.model_copy(update={"public_url": url}),
        "payments": config.payments.model_copy(update={"methods": methods})})
    check_public_links(config)  # no error


def test_config_option_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("cart:\n  max_lines: 0\n", encoding="utf-8")
    result = shopbot(tmp_path, "db", "upgrade", "--config", "bad.yaml")
    assert_one_line_error(result, 2, "config error: cart.max_lines: must be greater than 0")


@pytest.mark.parametrize(
    "args", [("nope",), (), ("db",), ("run", "--port", "http"), ("run", "--verbose")]
)
def test_a_wrong_command_line_is_one_line_and_code_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert_one_line_error(shopbot(tmp_path, *args), 2, "usage error:")


def test_db_upgrade_creates_the_folder_the_file_and_every_table(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "shop.db"
    result = shopbot(tmp_path, "db", "upgrade", SHOPBOT_DATABASE_URL=f"sqlite:///{path}")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert {name for (name,) in rows} == set(models.Base.metadata.tables) | {"alembic_version"}
    current = shopbot(tmp_path, "db", "current", SHOPBOT_DATABASE_URL=f"sqlite:///{path}")
    assert f"at revision {head_revision()} (latest)" in current.stdout


def test_db_current_before_any_upgrade(tmp_path: Path) -> None:
    result = shopbot(tmp_path, "db", "current")
    assert result.returncode == 0 and "no tables yet" in result.stdout
    assert not (tmp_path / "data" / "shop.db").exists()


def test_an_unwritable_database_path_is_one_line_and_code_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'shop.db'}"
    result = shopbot(tmp_path, "db", "upgrade", SHOPBOT_DATABASE_URL=url)
    assert_one_line_error(result, 2, "database error: cannot create the folder", "a-file")


def test_an_unreachable_database_server_is_one_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody:secret@127.0.0.1:1/shop"
    result = shopbot(tmp_path, "db", "upgrade", SHOPBOT_DATABASE_URL=url)
    assert_one_line_error(result, 2, "database error:", "127.0.0.1:1")
    assert "secret" not in result.stderr


def test_run_with_an_unreachable_database_server_is_one_line(tmp_path: Path) -> None:
    """`shopbot run` upgrades the schema in a child process (bot.prepare.prepare_in_child):
    its failure is still one line and code 2, the password hidden, nothing else started."""
    url = "postgresql+asyncpg://nobody:secret@127.0.0.1:1/shop"
    result = shopbot(tmp_path, "run", "--port", "1", SHOPBOT_DATABASE_URL=url,
                     BOT_TOKEN="123456:ABC-not-real",
                     config="web:\n  public_url: https://shop.example.com\n")
    assert_one_line_error(result, 2, "database error: cannot open or migrate", "127.0.0.1:1")
    assert "secret" not in result.stderr and result.stdout == ""


def test_demo_data_fills_an_empty_shop_once(tmp_path: Path) -> None:
    first = shopbot(tmp_path, "demo-data")
    assert first.returncode == 0, first.stderr
    assert "4 categories, 20 products, 2 warehouses" in first.stdout
    second = shopbot(tmp_path, "demo-data")
    assert second.returncode == 0 and "not empty" in second.stdout
    with sqlite3.connect(tmp_path / "data" / "shop.db") as connection:
        counts = [connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("categories", "products", "warehouses")]
    assert counts == [4, 20, 2]
    assert len(list((tmp_path / "data" / "media").glob("*.png"))) == 20


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_without_a_token_serves_the_demo_shop_on_a_local_sandbox(tmp_path: Path) -> None:
    import json
    import signal
    import time
    import urllib.request

    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_") and k != "BOT_TOKEN"}
    clean["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--port", str(port)], cwd=tmp_path,
                            env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "local Telegram sandbox" in line, line
        api = line.split(" at ", 1)[1].split()[0]

        def call(path: str, body: dict[str, object] | None = None) -> object:
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(api + path, data=data,
                                             headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())["result"]

        user = call("/sandbox/users", {"first_name": "Li"})
        uid = user["id"]  # type: ignore[index]
        call(f"/sandbox/chats/{uid}/messages", {"text": "/start", "user_id": uid})
        deadline = time.monotonic() + 20
        texts: list[str] = []
        while time.monotonic() < deadline and not any("Welcome" in t for t in texts):
            time.sleep(0.2)
            texts = [m.get("text", "") for m in call(f"/sandbox/chats/{uid}/messages")]  # type: ignore[union-attr]
        assert any("Welcome to" in t for t in texts), texts
        assert (tmp_path / "data" / "shop.db").exists()
        assert len(list((tmp_path / "data" / "media").glob("*.png"))) == 20  # demo shop filled
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
