"""`shopbot run`'s database work in a child process: the schema upgrade and, offline, the demo
shop (its pictures drawn, its rows written).

It runs on the other core while `shopbot run` imports its Telegram library (bot/startup.py),
and Alembic and Pillow never load into the bot. What the child needs comes on its stdin, as
JSON, never on a command line (the database URL may hold a password); its failure is one line
on its stderr and exit code 2, raised in the bot as DatabaseSetupError.
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.config import AppConfig
from bot.config_sections import WarehouseConfig
from bot.migrate import DatabaseSetupError, upgrade_database


async def prepare_in_child(config: AppConfig, demo: bool) -> None:
    """Upgrade the schema at config.database.url and, with `demo`, fill an empty shop with the
    demo shop, in a child process. Raises DatabaseSetupError with the child's one line."""
    job: dict[str, Any] = {"url": config.database.url}
    if demo:
        job["demo"] = {"media_dir": str(config.shop.media_dir),
                       "warehouses": [w.model_dump(mode="json") for w in config.warehouses]}
    # A session of its own: a terminal's Ctrl-C stops the bot, which waits for the child.
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.prepare", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)
    _, err = await child.communicate(json.dumps(job).encode())
    if child.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise DatabaseSetupError(lines[-1] if lines else f"exit code {child.returncode}")


async def _fill_demo(url: str, media_dir: Path, warehouses: list[WarehouseConfig]) -> None:
    from bot.db import create_database
    from services.demo import fill_demo_shop

    db, engines = create_database(url)
    try:
        await fill_demo_shop(db, media_dir, warehouses)
    finally:
        for engine in engines:
            await engine.dispose()


def main() -> int:
    """The child: the job from stdin; 0, or one line on stderr and 2."""
    # A stop during start-up (a service manager signals every process of the service) is the
    # bot's to handle: this short work finishes; the bot stops after it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    job = json.loads(sys.stdin.read())
    try:
        upgrade_database(job["url"])
        if "demo" in job:
            warehouses = [WarehouseConfig.model_validate(w) for w in job["demo"]["warehouses"]]
            asyncio.run(_fill_demo(job["url"], Path(job["demo"]["media_dir"]), warehouses))
    except DatabaseSetupError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
