"""Opening the SQL database and bringing its schema to the newest migration.

SQLite (the embedded default) gets WAL and enforced foreign keys on every
connection; PostgreSQL is used as it comes. `migrate` runs Alembic's upgrade to
head inside the process, so `anxin up`, the services and the tests all build
the schema the same way and an existing database is upgraded in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

MIGRATIONS: Final = Path(__file__).parent / "migrations"


def open_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL; a SQLite file's folder is created if missing."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: object, _record: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for our migrations, bound to `engine` (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is there already."""
    command.upgrade(alembic_config(engine), "head")
