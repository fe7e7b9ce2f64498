"""Steps for the activity detectors' tests: readings and ticks at home-local times.

Times are written home-local and converted with the home's zone, so each table
runs in Asia/Shanghai and in Europe/London (across its daylight-saving changes
on 2026-03-29 and 2026-10-25); a few cases pin absolute UTC instants to show
that local hours follow the zone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.detector import Detector, DeviceProfile, HomeContext
from processors.rules import HomeRules

HOME = "home-1"
ZONES = ("Asia/Shanghai", "Europe/London")
# Ordinary days and London's change days (spring forward, fall back).
DAYS = ((2026, 11, 23), (2026, 3, 29), (2026, 10, 25))
_seq = itertools.count(1)

Step = Reading | datetime


def context(zone: str = "Asia/Shanghai", *, away: bool = False) -> HomeContext:
    return HomeContext(
        rules=HomeRules(home_id=HOME, timezone=zone, away=away),
        devices={"plug_1": DeviceProfile(device_id="plug_1", type="power", appliance="stove")},
    )


def local(zone: str, day: tuple[int, int, int], hour: int, minute: int = 0) -> datetime:
    """A home-local wall time as a UTC instant."""
    return datetime(*day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reading(ts: datetime, type_: str, data: dict[str, Any], device_id: str) -> Reading:
    telemetry = TELEMETRY_ADAPTER.validate_python(
        {"type": type_, "ts": ts, "seq": next(_seq), "data": data}
    )
    return Reading(home_id=HOME, device_id=device_id, received_at=ts, telemetry=telemetry)


def motion(ts: datetime, room: str = "living") -> Reading:
    return reading(ts, "motion", {"room": room, "motion": True}, f"pir_{room}")


def motion_clear(ts: datetime, room: str = "living") -> Reading:
    return reading(ts, "motion", {"room": room, "motion": False}, f"pir_{room}")


def door(ts: datetime, name: str = "front", is_open: bool = True) -> Reading:
    return reading(ts, "door", {"door": name, "open": is_open}, f"door_{name}")


def bed(ts: datetime, occupied: bool) -> Reading:
    return reading(ts, "bed", {"occupied": occupied}, "bed_1")


def stove(ts: datetime, on: bool) -> Reading:
    return reading(
        ts, "power", {"appliance": "stove", "watts": 1500.0 if on else 0.0, "on": on}, "plug_1"
    )


def run(detector: Detector[Any], home: HomeContext, steps: Sequence[Step]) -> list[Detection]:
    """Feed readings and ticks (bare datetimes) in order; every detection made."""
    state = detector.initial()
    made: list[Detection] = []
    for step in steps:
        if isinstance(step, datetime):
            state, detections = detector.on_tick(state, step, home)
        else:
            state, detections = detector.on_event(state, step, home)
        made += detections
    return made


def actions(detections: list[Detection]) -> list[str]:
    return [d.action for d in detections]


MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
