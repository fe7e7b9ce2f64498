"""Family bookings over HTTP: a schedule in the home's wall-clock time, what falls due
dispatched at once, and a cancel that calls off the visits not yet under way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from tests.integration.api_rig import ApiRig, api_rig
from tests.integration.dispatch_api import hire

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


def home_now(rig: ApiRig) -> datetime:
    profile = rig.context.homes.profile("h1")
    assert profile is not None
    return datetime.now(UTC).astimezone(ZoneInfo(profile.home.timezone))


def test_a_visit_due_within_the_lead_is_offered_at_once_and_called_off_with_its_booking(
    rig: ApiRig,
) -> None:
    hire(rig, "wen")
    mei = rig.headers("mei")
    soon = (home_now(rig) + timedelta(minutes=70)).replace(second=0, microsecond=0)
    schedule = {"kind": "once", "on": soon.date().isoformat(), "at": soon.strftime("%H:%M")}
    answer = rig.client.post(
        "/api/v1/homes/h1/bookings", json={"service": "meal", "schedule": schedule}, headers=mei
    )
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    assert (booking["active"], booking["created_by"]) == (True, "family:mei")
    assert booking["schedule"] == {**schedule, "at": schedule["at"] + ":00"}

    [visit] = rig.client.get("/api/v1/dispatches", headers=mei).json()
    assert (visit["booking_id"], visit["origin"], visit["status"]) == (
        booking["booking_id"],
        "booking",
        "offered",
    )
    assert datetime.fromisoformat(visit["scheduled_for"]) == soon
    assert visit["address"] == "1 Xinhua Road, Zhongshan"  # where the worker goes
    assert [
        d["dispatch_id"]
        for d in rig.client.get("/api/v1/dispatches", headers=rig.headers("wen")).json()
    ] == [visit["dispatch_id"]]

    cancelled = rig.client.post(f"/api/v1/bookings/{booking['booking_id']}/cancel", headers=mei)
    assert cancelled.status_code == 200
    assert cancelled.json()["active"] is False
    after = rig.client.get(f"/api/v1/dispatches/{visit['dispatch_id']}", headers=mei).json()
    assert (after["status"], after["cancel_reason"]) == ("cancelled", "booking cancelled")


def test_a_repeating_booking_starts_today_at_the_home_and_lists_newest_first(rig: ApiRig) -> None:
    mei, ann = rig.headers("mei"), rig.headers("ann")
    daily = {"service": "meal", "schedule": {"kind": "daily", "at": "11:30"}}
    weekly = {
        "service": "housekeeping",
        "schedule": {
            "kind": "weekly",
            "weekdays": ["mon", "thu"],
            "at": "09:00",
            "ends_on": "2099-12-31",
        },
    }
    first = rig.client.post("/api/v1/homes/h1/bookings", json=daily, headers=mei).json()
    assert first["schedule"]["starts_on"] == home_now(rig).date().isoformat()
    assert first["timezone"] == "Asia/Shanghai"
    second = rig.client.post("/api/v1/homes/h1/bookings", json=weekly, headers=ann).json()
    assert second["created_by"] == "dispatcher:ann"
    assert sorted(second["schedule"]["weekdays"]) == ["mon", "thu"]

    listed = rig.client.get("/api/v1/homes/h1/bookings", headers=mei).json()
    assert [b["booking_id"] for b in listed] == [second["booking_id"], first["booking_id"]]
    rig.client.post(f"/api/v1/bookings/{first['booking_id']}/cancel", headers=ann)
    active = rig.client.get(
        "/api/v1/homes/h1/bookings", params={"active": True}, headers=mei
    ).json()
    assert [b["booking_id"] for b in active] == [second["booking_id"]]
    assert rig.client.get("/api/v1/homes/h2/bookings", headers=rig.headers("li")).json() == []
