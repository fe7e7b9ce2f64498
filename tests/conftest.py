"""Fixtures that start real servers: each on free loopback ports, data in a temp dir."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from anxin.testbed.influxdb import InfluxDB
from anxin.testbed.postgres import PostgreSQL
from anxin.testbed.tansu import Tansu
from records.database import migrate, open_engine


@pytest.fixture
def influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path / "influxdb")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[Tansu]:
    workdir = tmp_path / "tansu"
    workdir.mkdir()
    server = Tansu(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgreSQL]:
    """One PostgreSQL server for the session; each test takes its own database."""
    server = PostgreSQL()
    server.start()
    yield server
    server.stop()


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind Anxin supports: embedded SQLite and real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'anxin.db'}"
    server: PostgreSQL = request.getfixturevalue("postgres")
    return server.create_database(f"anxin_{next(_databases)}")


@pytest.fixture
def records_engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on each supported database, disposed after the test."""
    engine = open_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()
