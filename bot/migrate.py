"""Schema migrations: Alembic driven from code, with the URL from the settings."""
from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import migrations
from bot.db import normalize_url

if TYPE_CHECKING:  # Alembic is imported when a command needs it (not to read DatabaseSetupError)
    from alembic.config import Config

T = TypeVar("T")
# __path__, not __file__: an editable install made before migrations/__init__.py existed
# still maps it as a namespace package.
MIGRATIONS_DIR = Path(next(iter(migrations.__path__)))


class DatabaseSetupError(Exception):
    """The database could not be created, opened or migrated; str(error) is one line."""


def alembic_config(url: str, **engine_options: Any) -> Config:
    """An Alembic config for `url`, found by package path so an installed wheel works too."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    config.attributes["engine_options"] = engine_options
    return config


def upgrade_database(url: str, revision: str = "head", **engine_options: Any) -> None:
    """Bring the schema at `url` to `revision` (creating a SQLite file and its folder)."""
    from alembic import command

    prepare_sqlite_path(url)
    config = alembic_config(url, **engine_options)
    _outside_event_loop(lambda: command.upgrade(config, revision), url)


def downgrade_database(url: str, revision: str = "base", **engine_options: Any) -> None:
    """Take the schema at `url` back to `revision` (base drops every table)."""
    from alembic import command

    config = alembic_config(url, **engine_options)
    _outside_event_loop(lambda: command.downgrade(config, revision), url)


def current_revision(url: str, **engine_options: Any) -> str | None:
    """The revision the database at `url` is at, or None if it has never been migrated."""
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        return None  # reading would create an empty file
    return _outside_event_loop(lambda: asyncio.run(_read_revision(url, engine_options)), url)


async def _read_revision(url: str, engine_options: dict[str, Any]) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_async_engine(normalize_url(url), poolclass=NullPool, **engine_options)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    """The newest revision the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def prepare_sqlite_path(url: str) -> None:
    """Create the folder of a SQLite database file, or say in one line why it cannot be."""
    path = _sqlite_file(url)
    if path is None:
        return
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseSetupError(f"cannot create the folder {folder}: {error.strerror}") from None


def _outside_event_loop(work: Callable[[], T], url: str) -> T:
    """Run `work` (which starts its own event loop) here, or in a thread if a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _reporting(work, url)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_reporting, work, url).result()


def _reporting(work: Callable[[], T], url: str) -> T:
    try:
        return work()
    except (SQLAlchemyError, OSError) as error:
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise DatabaseSetupError(f"cannot open or migrate {where}: {reason}") from error
