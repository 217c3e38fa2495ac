"""The shopbot command line.

Usage:
    shopbot run [--config PATH] [--host HOST] [--port PORT]   start the bot
    shopbot db upgrade [--config PATH]                        create or update the tables
    shopbot db current [--config PATH]                        show the schema revision
    shopbot demo-data [--config PATH]                         fill an empty shop with demo data
    shopbot --version

Every error is one line on stderr: exit code 2 for a wrong setting, usage or database,
1 when the bot cannot start.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import NoReturn

from bot.config import AppConfig, ConfigError, load_config
from bot.migrate import (
    DatabaseSetupError,
    current_revision,
    head_revision,
    prepare_sqlite_path,
    upgrade_database,
)

USAGE_ERROR = 2
CANNOT_START = 1


class UsageError(Exception):
    """The command line is wrong."""


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = OneLineParser(add_help=False)
    common.add_argument("--config", metavar="PATH",
                        help="settings file (default: $SHOPBOT_CONFIG or ./config.yaml)")
    parser = OneLineParser(prog="shopbot", description="A Telegram shop and support bot.")
    parser.add_argument("--version", action="version", version=f"shopbot {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", parents=[common], help="upgrade the database, start the bot")
    run.add_argument("--host", help="address of the web server (overrides web.host)")
    run.add_argument("--port", type=_port, help="port of the web server (overrides web.port)")
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND")
    db_commands.add_parser("upgrade", parents=[common], help="create or update the tables")
    db_commands.add_parser("current", parents=[common], help="show the schema revision")
    commands.add_parser("demo-data", parents=[common], help="fill an EMPTY shop with demo data")
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number 1-65535: {text!r}")
    return int(text)


def _version() -> str:
    try:
        return metadata.version("shopbot")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn known errors into one line and a code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None or (args.command == "db" and args.db_command is None):
            raise UsageError("choose a command: run, db upgrade, db current, demo-data "
                             "(see shopbot --help)")
        return COMMANDS[args.db_command if args.command == "db" else args.command](args)
    except (UsageError, ConfigError) as error:
        return _fail(str(error) if isinstance(error, ConfigError) else f"usage error: {error}")
    except DatabaseSetupError as error:
        return _fail(f"database error: {error}")
    except KeyboardInterrupt:
        return 130


def _fail(line: str, code: int = USAGE_ERROR) -> int:
    print(line, file=sys.stderr)
    return code


def _config(args: argparse.Namespace) -> AppConfig:
    return load_config(args.config)


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Create or update the tables of the configured database."""
    config = _config(args)
    upgrade_database(config.database.url)
    print(f"database {_shown(config.database.url)} is at revision {head_revision()} (latest)")
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    """Print the schema revision of the configured database."""
    config = _config(args)
    revision, head = current_revision(config.database.url), head_revision()
    if revision is None:
        print(f"database {_shown(config.database.url)} has no tables yet "
              "(run: shopbot db upgrade)")
    else:
        state = "latest" if revision == head else f"latest is {head}: run shopbot db upgrade"
        print(f"database {_shown(config.database.url)} is at revision {revision} ({state})")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Fill an empty catalog with the demo shop."""
    from services.demo import fill_demo_shop

    config = _config(args)
    upgrade_database(config.database.url)

    async def fill() -> str:
        from bot.db import create_database

        db, engines = create_database(config.database.url)
        try:
            summary = await fill_demo_shop(db, config.shop.media_dir, config.warehouses)
        finally:
            for engine in engines:
                await engine.dispose()
        if not summary.created:
            return "the catalog is not empty: demo data not added"
        return (f"demo shop added: {summary.categories} categories, {summary.products} products, "
                f"{summary.warehouses} warehouses, {summary.stock_rows} stock rows, "
                f"{summary.images} images in {config.shop.media_dir}")

    print(asyncio.run(fill()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the bot (bot/app.py): the database is upgraded there, after the offline page is
    up, while the Telegram library is imported in a thread (bot/startup.py)."""
    from bot.startup import StartupClock

    clock = StartupClock()
    config = _config(args)
    web = config.web.model_copy(update={k: v for k, v in (("host", args.host),
                                                          ("port", args.port)) if v})
    config = config.model_copy(update={"web": web})
    from bot.public_links import check_public_links

    check_public_links(config)  # before anything starts: a payment link nobody can open
    prepare_sqlite_path(config.database.url)  # a folder that cannot be made: before the page
    clock.mark("settings")
    from bot import app

    clock.mark("bot modules")
    app.run(config, clock)
    return 0


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS = {"run": cmd_run, "upgrade": cmd_upgrade, "current": cmd_current,
            "demo-data": cmd_demo_data}

if __name__ == "__main__":
    sys.exit(main())
