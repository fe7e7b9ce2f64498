"""The relational schema on SQLite and on a real PostgreSQL: migrations build it exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.registry import Home
from records.database import migrate
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
