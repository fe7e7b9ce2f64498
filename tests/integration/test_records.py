"""The relational schema on SQLite and on a real PostgreSQL: migrations build it exactly."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.registry import Home
from records.database import HEAD, alembic_config, migrate, open_engine, revision
from records.devices import DeviceRegistry
from records.errors import RegistryError
from records.schema import AlertRow, Base

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_migrations_build_exactly_the_declared_schema(records_engine: Engine) -> None:
    engine = records_engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_head_is_the_newest_migration_and_the_database_is_at_it(records_engine: Engine) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(records_engine))
    assert scripts.get_current_head() == HEAD
    assert revision(records_engine) == HEAD


def test_a_fresh_database_has_no_revision_until_migrated(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert revision(engine) is None
    migrate(engine)
    assert revision(engine) == HEAD
    engine.dispose()


def test_a_service_starting_on_a_migrated_database_does_not_load_alembic(
    tmp_path: Path,
) -> None:
    """Alembic's modules would stay in the gateway's memory for good (~11 MB)."""
    url = f"sqlite:///{tmp_path / 'anxin.db'}"
    engine = open_engine(url)
    migrate(engine)
    engine.dispose()
    check = (
        "import sys\n"
        "from records.database import migrate, open_engine\n"
        f"migrate(open_engine({url!r}))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'alembic'], 'alembic loaded'\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, cwd=Path(__file__).parents[2])


def test_a_database_from_the_first_migration_is_upgraded_in_place(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0001")
    with Session(engine) as session, session.begin():
        session.execute(
            text(
                "INSERT INTO homes (home_id, address, lat, lon, timezone, away, resident,"
                " emergency_contacts) VALUES ('h1', '', 22.5, 113.4, 'Asia/Shanghai', 0,"
                " '{}', '[]')"
            )
        )
    migrate(engine)
    assert revision(engine) == HEAD
    assert [home.home_id for home in DeviceRegistry(engine).homes()] == ["h1"]
    engine.dispose()


def test_migrating_twice_keeps_the_data(records_engine: Engine) -> None:
    engine = records_engine
    DeviceRegistry(engine).add_home(Home(home_id="h1", lat=22.5, lon=113.4))
    migrate(engine)
    assert [home.home_id for home in DeviceRegistry(engine).homes()] == ["h1"]


def test_the_database_refuses_a_second_open_alert_of_a_kind_in_a_home(
    records_engine: Engine,
) -> None:
    engine = records_engine
    DeviceRegistry(engine).add_home(Home(home_id="h1", lat=22.5, lon=113.4))

    def alert(alert_id: str, open_slot: str | None) -> AlertRow:
        return AlertRow(
            alert_id=alert_id,
            home_id="h1",
            kind="fall",
            severity="critical",
            service="medical",
            status="open" if open_slot else "resolved",
            open_slot=open_slot,
            opened_at=NOW,
            updated_at=NOW,
            body={},
        )

    with Session(engine) as session, session.begin():
        session.add_all([alert("a1", "h1/fall"), alert("a0", None), alert("a00", None)])
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(alert("a2", "h1/fall"))
    with Session(engine) as session:
        assert sorted(session.scalars(select(AlertRow.alert_id))) == ["a0", "a00", "a1"]


def test_a_device_needs_an_existing_home(records_engine: Engine) -> None:
    engine = records_engine
    with pytest.raises(RegistryError, match="home nowhere does not exist"):
        DeviceRegistry(engine).add_device(device_id="d1", home_id="nowhere", type="motion")
