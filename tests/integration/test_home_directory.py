"""The processors' home directory reloads only the homes that changed, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from devices.registry import Home
from processors.homes import HomeDirectory
from records.devices import DeviceRegistry
from records.homes import HomeStore
from records.schema import DeviceRow, HomeRow

pytestmark = pytest.mark.integration

HOMES = 30


def long_ago(engine: Engine) -> None:
    """Date every home and device an hour back, as if provisioned before the runner."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with Session(engine) as session, session.begin():
        session.execute(update(HomeRow).values(changed_at=an_hour_ago))
        session.execute(update(DeviceRow).values(created_at=an_hour_ago))


@pytest.fixture
def registry(records_engine: Engine) -> DeviceRegistry:
    registry = DeviceRegistry(records_engine)
    for n in range(HOMES):
        registry.add_home(Home(home_id=f"h{n}", lat=22.5, lon=113.4))
        registry.add_device(device_id=f"pir-{n}", home_id=f"h{n}", type="motion", room="hall")
    long_ago(records_engine)
    return registry


def test_a_refresh_reloads_only_the_homes_changed_or_given_a_device(
    registry: DeviceRegistry, records_engine: Engine
) -> None:
    directory = HomeDirectory(registry)
    assert directory.refresh() == HOMES  # the first loads everything
    assert directory.refresh() == 0  # nothing changed since

    HomeStore(records_engine).update("h3", {"away": True})
    registry.add_device(device_id="plug-7", home_id="h7", type="power", appliance="stove")
    registry.add_home(Home(home_id="h-new", lat=22.6, lon=113.4, timezone="Asia/Shanghai"))
    assert directory.context_for("h3").rules.away is False  # not until the next refresh

    assert directory.refresh() == 3
    assert directory.context_for("h3").rules.away is True
    assert set(directory.context_for("h7").devices) == {"pir-7", "plug-7"}
    assert directory.context_for("h-new").rules.timezone == "Asia/Shanghai"
    assert set(directory.context_for("h8").devices) == {"pir-8"}  # the others kept


def test_every_home_is_reloaded_once_an_hour(registry: DeviceRegistry) -> None:
    now = datetime.now(UTC)
    clock = [now]
    directory = HomeDirectory(registry, clock=lambda: clock[0])
    assert directory.refresh() == HOMES
    clock[0] = now + timedelta(minutes=59)
    assert directory.refresh() == 0
    clock[0] = now + timedelta(minutes=61)
    assert directory.refresh() == HOMES


def test_a_change_committed_just_before_the_last_refresh_is_not_missed(
    registry: DeviceRegistry, records_engine: Engine
) -> None:
    """Another process's clock, or its transaction committing late, may date a change
    before the refresh that did not see it: the look back overlaps."""
    now = datetime.now(UTC)
    clock = [now]
    directory = HomeDirectory(registry, clock=lambda: clock[0])
    directory.refresh()
    HomeStore(records_engine).update("h5", {"away": True})
    with Session(records_engine) as session, session.begin():
        earlier = now - timedelta(minutes=2)
        session.execute(update(HomeRow).where(HomeRow.home_id == "h5").values(changed_at=earlier))
    clock[0] = now + timedelta(minutes=1)
    assert directory.refresh() == 1
    assert directory.context_for("h5").rules.away is True


def test_a_flood_of_changes_is_one_full_reload(registry: DeviceRegistry) -> None:
    assert registry.changed_since(datetime.now(UTC) - timedelta(days=1), most=10) is None
    assert registry.changed_since(datetime.now(UTC)) == ([], [])
