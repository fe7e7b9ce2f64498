"""Opening the SQL database and bringing its schema to the newest migration.

SQLite (the embedded default) gets WAL, enforced foreign keys and write-locking
transactions on every connection; PostgreSQL is used as it comes. `migrate` runs Alembic's upgrade to
head inside the process, so `anxin up`, the services and the tests all build
the schema the same way and an existing database is upgraded in place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS: Final = Path(__file__).parent / "migrations"
HEAD: Final = "0002"
"""The newest migration's revision (a test holds it to Alembic's own answer)."""

ATTEMPTS: Final = 3
"""Transactions lost to a concurrent writer are retried this many times in all."""

T = TypeVar("T")


def open_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL; a SQLite file's folder is created if missing."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: sqlite3.Connection, _record: object) -> None:
        connection.isolation_level = None  # transactions begin below, not in the driver
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=10000")

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        # Take the write lock at BEGIN: a transaction that reads an alert, decides and
        # writes it back must not interleave with another writer (SQLite has no
        # SELECT ... FOR UPDATE), and waiting at BEGIN cannot deadlock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for our migrations, bound to `engine` (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is there already.

    A database already at `HEAD` is recognised with one query, without importing
    Alembic: its ~11 MB would stay in every service for good (the gateway's memory).
    """
    if revision(engine) == HEAD:
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def revision(engine: Engine) -> str | None:
    """The database's migration revision; None before the first migration."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar_one_or_none()
    except (OperationalError, ProgrammingError):  # no alembic_version table yet
        return None


def in_transaction(engine: Engine, attempt: Callable[[Session], T]) -> T:
    """Run `attempt` in a transaction, again (up to `ATTEMPTS`) if a concurrent writer won:
    a unique key taken meanwhile (two processes opening the same alert) or a lock lost."""
    for tries in range(1, ATTEMPTS + 1):
        try:
            with Session(engine) as session, session.begin():
                return attempt(session)
        except (IntegrityError, OperationalError):
            if tries == ATTEMPTS:
                raise
    raise AssertionError("unreachable")
