"""The HTTP edge's pure parts: telemetry query bounds, a home's last activity and device
health, the stream's memory of sent ids, and the input models' refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.model import Alert, Transition
from api.routes.stream import _Sent
from api.schemas.homes import HomeCreate, HomeUpdate
from api.schemas.status import device_health, last_activity
from api.schemas.telemetry import parse_every, telemetry_window
from devices.registry import Device
from gateway.timeseries import SeriesPoint
from processors.detection import Evidence

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class TestTelemetryWindow:
    def test_defaults_to_the_last_day(self) -> None:
        window = telemetry_window(None, None, None, now=NOW)
        assert (window.since, window.until, window.every) == (NOW - timedelta(hours=24), NOW, None)

    def test_since_alone_runs_to_now_and_until_alone_covers_the_day_before(self) -> None:
        assert telemetry_window(NOW - timedelta(hours=2), None, None, now=NOW).until == NOW
        until = NOW - timedelta(days=3)
        assert telemetry_window(None, until, None, now=NOW).since == until - timedelta(hours=24)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30s", timedelta(seconds=30)),
            ("5m", timedelta(minutes=5)),
            ("1h", timedelta(hours=1)),
            ("2d", timedelta(days=2)),
        ],
    )
    def test_every_reads_a_count_and_a_unit(self, text: str, expected: timedelta) -> None:
        assert parse_every(text) == expected

    @pytest.mark.parametrize("text", ["0m", "5", "m", "-1h", "1w", "1.5h", "5 m", "1234567s"])
    def test_every_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match="every"):
            parse_every(text)

    @pytest.mark.parametrize(
        ("since", "until", "every", "problem"),
        [
            (NOW, NOW, None, "before until"),
            (NOW, NOW - timedelta(seconds=1), None, "before until"),
            (NOW - timedelta(days=8), NOW, None, "without every"),
            (NOW - timedelta(days=401), NOW, "1d", "span"),
            (NOW - timedelta(days=2), NOW, "10s", "10,000 windows"),
            (NOW - timedelta(days=2), NOW, "32d", "every may be at most"),
            (datetime(1, 1, 1, tzinfo=UTC), NOW, "1d", "between 1970 and 2200"),
            (NOW, datetime(9999, 12, 31, tzinfo=UTC), "1d", "between 1970 and 2200"),
        ],
    )
    def test_spans_and_windows_are_bounded(
        self, since: datetime, until: datetime, every: str | None, problem: str
    ) -> None:
        with pytest.raises(ValueError, match=problem):
            telemetry_window(since, until, every, now=NOW)

    def test_exactly_ten_thousand_windows_is_allowed(self) -> None:
        window = telemetry_window(NOW - timedelta(minutes=10_000), NOW, "1m", now=NOW)
        assert window.every == timedelta(minutes=1)


def point(minutes_ago: int, **tags: str) -> SeriesPoint:
    return SeriesPoint(time=NOW - timedelta(minutes=minutes_ago), tags=tags, fields={})


class TestLastActivity:
    def test_nothing_read_means_no_activity(self) -> None:
        assert last_activity({}, None) is None

    def test_the_newest_of_door_bed_and_motion_seen(self) -> None:
        latest = {
            "door": point(30, device_id="door-1", door="front"),
            "bed": point(90, device_id="mat-1"),
            "vitals": point(1, device_id="watch"),  # not activity
        }
        activity = last_activity(latest, point(45, device_id="pir", room="kitchen"))
        assert activity is not None
        assert (activity.type, activity.device_id, activity.place) == ("door", "door-1", "front")
        later = last_activity(latest, point(5, device_id="pir", room="kitchen"))
        assert later is not None
        assert (later.type, later.place) == ("motion", "kitchen")


def alert(
    kind: str, *, details: dict[str, Any], evidence: tuple[str, ...] = (), status: str = "open"
) -> Alert:
    return Alert.model_validate(
        {
            "alert_id": f"a-{kind}",
            "home_id": "h1",
            "kind": kind,
            "severity": "low",
            "service": "technical",
            "status": status,
            "opened_at": NOW,
            "detected_at": NOW,
            "updated_at": NOW,
            "summary": kind,
            "details": details,
            "evidence": [Evidence(device_id=d, type="heartbeat", ts=NOW) for d in evidence],
            "history": [
                Transition(
                    at=NOW, event="opened", from_status=None, to_status="open", actor="detector:x"
                )
            ],
            "ack_deadline": NOW,
            "next_escalation_at": None,
        }
    )


def device(device_id: str) -> Device:
    return Device(
        device_id=device_id, home_id="h1", type="motion", room="hall", password_hash="$7$1$a$b"
    )


class TestDeviceHealth:
    def test_a_device_named_by_an_active_device_alert_is_not_ok(self) -> None:
        alerts = [
            alert("device_offline", details={"device_id": "pir-1"}),
            alert("low_battery", details={"battery": 9}, evidence=("pir-2",)),
            alert("device_offline", details={"device_id": "pir-3"}, status="resolved"),
            alert("sos", details={"device_id": "pir-4"}),  # about the resident, not the device
        ]
        health = {d: device_health(device(d), alerts) for d in ("pir-1", "pir-2", "pir-3", "pir-4")}
        assert {d: h.ok for d, h in health.items()} == {
            "pir-1": False,
            "pir-2": False,
            "pir-3": True,
            "pir-4": True,
        }
        assert [p.kind for p in health["pir-2"].problems] == ["low_battery"]
        assert "password_hash" not in health["pir-1"].model_dump()


class TestSentIds:
    def test_remembers_the_latest_ids_and_where_a_replay_starts(self) -> None:
        sent = _Sent(size=3)
        assert sent.floor is None
        for event_id in (10, 12, 11, 13):
            sent.add(event_id)
        assert 10 not in sent  # forgotten, oldest first
        assert all(event_id in sent for event_id in (11, 12, 13))
        assert sent.floor == 10


class TestInputModels:
    @pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/Argentina/Buenos_Aires"])
    def test_known_zones_pass(self, zone: str) -> None:
        assert HomeCreate(lat=1, lon=2, timezone=zone).timezone == zone

    @pytest.mark.parametrize(
        "zone", ["", "Asia/Atlantis", "/etc/localtime", "../zoneinfo/UTC", "utc "]
    )
    def test_unknown_zones_are_refused(self, zone: str) -> None:
        with pytest.raises(ValidationError, match="time zone"):
            HomeCreate(lat=1, lon=2, timezone=zone)

    def test_a_patch_knows_which_fields_were_sent(self) -> None:
        assert HomeUpdate.model_validate({"away": True}).changes() == {"away": True}
        assert HomeUpdate.model_validate({}).changes() == {}
        with pytest.raises(ValidationError, match="cannot be null"):
            HomeUpdate.model_validate({"address": None})
