"""A home's status and time series over HTTP, and the audit trail their reads leave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from records.homes import EmergencyContact, Resident
from tests.integration.api_helpers import module_rig, open_alert, reading_line, store_lines
from tests.integration.api_rig import ApiRig, api_rig

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """One rig for the module's refusal tests (a refused call changes nothing)."""
    yield from module_rig(request, tmp_path_factory)


START = datetime.now(UTC).replace(microsecond=0)


def minutes_ago(n: float) -> datetime:
    """A time `n` minutes before the tests began (fixed, so it reads the same twice)."""
    return START - timedelta(minutes=n)


def provision(rig: ApiRig) -> None:
    registry = rig.context.registry
    for device_id, kind, room in (
        ("watch-1", "vitals", None),
        ("pir-kitchen", "motion", "kitchen"),
        ("pir-hall", "motion", "hall"),
        ("door-front", "door", "entrance"),
        ("mat-1", "bed", "bedroom"),
    ):
        registry.add_device(device_id=device_id, home_id="h1", type=kind, room=room)  # type: ignore[arg-type]
    rig.context.homes.set_people(
        "h1",
        Resident(name="Wang Fang", birth_year=1938, conditions=("COPD",)),
        (EmergencyContact(name="Wang Lei", phone="+86 138 0000 0000", relation="son"),),
    )


def test_status_shows_readings_activity_device_health_and_open_alerts(rig: ApiRig) -> None:
    provision(rig)
    store_lines(
        rig,
        [
            reading_line("h1", "watch-1", "vitals", {"heart_rate": 80}, at=minutes_ago(50), seq=1),
            reading_line(
                "h1", "watch-1", "vitals", {"heart_rate": 96, "spo2": 93}, at=minutes_ago(5), seq=2
            ),
            reading_line(
                "h1",
                "door-front",
                "door",
                {"door": "front", "open": True},
                at=minutes_ago(40),
                seq=1,
            ),
            reading_line(
                "h1",
                "pir-kitchen",
                "motion",
                {"room": "kitchen", "motion": True},
                at=minutes_ago(20),
                seq=1,
            ),
            # the newest motion reading is "no motion": last activity is still the kitchen's
            reading_line(
                "h1",
                "pir-hall",
                "motion",
                {"room": "hall", "motion": False},
                at=minutes_ago(10),
                seq=1,
            ),
            reading_line("h2", "other", "vitals", {"heart_rate": 150}, at=minutes_ago(1), seq=1),
        ],
    )
    sos = open_alert(rig, "h1", "sos")
    offline = open_alert(
        rig, "h1", "device_offline", device_id="mat-1", details={"device_id": "mat-1"}
    )
    open_alert(rig, "h2", "leak")

    answer = rig.client.get("/api/v1/homes/h1/status", headers=rig.headers("mei"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["home_id"] == "h1"
    assert body["resident"] == {"name": "Wang Fang", "birth_year": 1938, "conditions": ["COPD"]}
    assert body["emergency_contacts"][0]["relation"] == "son"
    vitals = body["latest"]["vitals"]
    assert vitals["fields"]["heart_rate"] == 96
    assert vitals["fields"]["spo2"] == 93
    assert vitals["tags"]["device_id"] == "watch-1"
    assert set(body["latest"]) == {"vitals", "door", "motion"}
    assert body["latest"]["motion"]["tags"]["room"] == "hall"
    activity = body["last_activity"]
    assert (activity["type"], activity["device_id"], activity["place"]) == (
        "motion",
        "pir-kitchen",
        "kitchen",
    )
    assert datetime.fromisoformat(activity["at"]) == minutes_ago(20)
    health = {device["device_id"]: device for device in body["devices"]}
    assert sorted(health) == ["door-front", "mat-1", "pir-hall", "pir-kitchen", "watch-1"]
    assert health["mat-1"]["ok"] is False
    assert [p["alert_id"] for p in health["mat-1"]["problems"]] == [offline]
    assert health["watch-1"]["ok"] is True
    assert "password_hash" not in health["watch-1"]
    assert health["pir-kitchen"]["room"] == "kitchen"
    assert sorted(a["alert_id"] for a in body["open_alerts"]) == sorted([sos, offline])
    assert {a["home_id"] for a in body["open_alerts"]} == {"h1"}


def test_status_of_a_home_with_nothing_yet(rig: ApiRig) -> None:
    answer = rig.client.get("/api/v1/homes/h2/status", headers=rig.headers("ann"))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["latest"], body["last_activity"], body["devices"], body["open_alerts"]) == (
        {},
        None,
        [],
        [],
    )


def test_telemetry_returns_readings_or_window_means(rig: ApiRig) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    lines = [
        reading_line(
            "h1",
            "watch-1",
            "vitals",
            {"heart_rate": 60 + n},
            at=start + timedelta(minutes=10 * n),
            seq=n + 1,
        )
        for n in range(12)  # two hours, every ten minutes
    ]
    lines.append(
        reading_line(
            "h1", "watch-1", "vitals", {"heart_rate": 200}, at=start - timedelta(hours=1), seq=100
        )
    )
    store_lines(rig, lines)
    since = start.isoformat()
    until = (start + timedelta(hours=2)).isoformat()

    raw = rig.client.get(
        "/api/v1/homes/h1/telemetry",
        params={"type": "vitals", "since": since, "until": until},
        headers=rig.headers("mei"),
    )
    assert raw.status_code == 200, raw.text
    assert [p["fields"]["heart_rate"] for p in raw.json()] == [60 + n for n in range(12)]

    hourly = rig.client.get(
        "/api/v1/homes/h1/telemetry",
        params={"type": "vitals", "since": since, "until": until, "every": "1h"},
        headers=rig.headers("ann"),
    )
    assert hourly.status_code == 200, hourly.text
    windows = hourly.json()
    assert [datetime.fromisoformat(p["time"]) for p in windows] == [
        start,
        start + timedelta(hours=1),
    ]
    assert [p["fields"]["heart_rate"] for p in windows] == [62.5, 68.5]

    default = rig.client.get(
        "/api/v1/homes/h1/telemetry", params={"type": "vitals"}, headers=rig.headers("ann")
    )
    assert len(default.json()) == 13  # the last 24 h by default

    other_type = rig.client.get(
        "/api/v1/homes/h1/telemetry", params={"type": "bed"}, headers=rig.headers("ann")
    )
    assert other_type.json() == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "type"),
        ({"type": "blood"}, "type"),
        ({"type": "vitals", "every": "0m"}, "every"),
        ({"type": "vitals", "every": "-5m"}, "every"),
        ({"type": "vitals", "every": "5 minutes"}, "every"),
        ({"type": "vitals", "every": "1s"}, "10,000 windows"),
        ({"type": "vitals", "every": "60d"}, "every may be at most"),
        ({"type": "vitals", "since": "2026-11-24T08:00:00"}, "since"),
        ({"type": "vitals", "since": "yesterday"}, "since"),
        ({"type": "vitals", "since": "0001-01-01T00:00:00+14:00"}, "between 1970 and 2200"),
        ({"type": "vitals", "until": "0001-01-01T00:00:00Z"}, "between 1970 and 2200"),
        (
            {
                "type": "vitals",
                "since": "2026-11-24T08:00:00+08:00",
                "until": "2026-11-24T07:00:00+08:00",
            },
            "before until",
        ),
        (
            {"type": "vitals", "since": "2026-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
            "without every",
        ),
        (
            {
                "type": "vitals",
                "since": "2020-01-01T00:00:00Z",
                "until": "2026-03-01T00:00:00Z",
                "every": "1d",
            },
            "span",
        ),
    ],
)
def test_bad_telemetry_queries_are_422_naming_the_problem(
    shared: ApiRig, params: dict[str, str], problem: str
) -> None:
    answer = shared.client.get(
        "/api/v1/homes/h1/telemetry", params=params, headers=shared.headers("ann")
    )
    assert answer.status_code == 422
    assert problem in answer.text


def test_health_reads_are_audited_and_the_admin_reads_the_trail(rig: ApiRig) -> None:
    alert_id = open_alert(rig, "h1", "fall")
    assert rig.client.get("/api/v1/homes/h1/status", headers=rig.headers("mei")).status_code == 200
    assert (
        rig.client.get(
            "/api/v1/homes/h1/telemetry", params={"type": "vitals"}, headers=rig.headers("ann")
        ).status_code
        == 200
    )
    assert (
        rig.client.get(f"/api/v1/alerts/{alert_id}", headers=rig.headers("mei")).status_code == 200
    )
    # refused reads leave no trace of the home's data
    assert rig.client.get("/api/v1/homes/h1/status", headers=rig.headers("li")).status_code == 404

    trail = rig.client.get("/api/v1/audit", params={"home_id": "h1"}, headers=rig.headers("root"))
    assert trail.status_code == 200, trail.text
    entries = trail.json()
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("mei", "read_alert"),
        ("ann", "read_telemetry"),
        ("mei", "read_status"),
    ]
    assert all(e["target"] == "h1" for e in entries)
    assert "type=vitals" in entries[1]["detail"]
    ids = [e["audit_id"] for e in entries]
    assert ids == sorted(ids, reverse=True)

    by_actor = rig.client.get("/api/v1/audit", params={"actor": "mei"}, headers=rig.headers("root"))
    assert {e["action"] for e in by_actor.json()} == {"read_alert", "read_status"}
    page = rig.client.get(
        "/api/v1/audit",
        params={"home_id": "h1", "before": ids[0], "limit": 1},
        headers=rig.headers("root"),
    )
    assert [e["audit_id"] for e in page.json()] == [ids[1]]
    # reading the trail is itself on the trail
    mine = rig.client.get("/api/v1/audit", params={"actor": "root"}, headers=rig.headers("root"))
    assert [e["action"] for e in mine.json()][:3] == ["read_audit"] * 3
