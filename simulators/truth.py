"""Ground truth: which alert each injection should raise, and from when.

`start` is the earliest moment the CONTRACT §2 condition holds with its
default thresholds, read off the generated events themselves (not off the
scenario's intentions), so a detector can be scored on whether and how soon
it fired. For example, `inactivity` starts 3 h after the last motion, door or
bed change, `stove_unattended` 30 min after the stove went on or kitchen
motion was last seen, `news2` at the first reading whose NEWS2 (latest value
of each parameter younger than 1 h) reaches 5 or has a parameter scoring 3;
`details` says when it became critical.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from simulators.injections import InjectionKind
from simulators.render import HomeDevices, Raw
from simulators.routine import HOUR, MINUTE, SECOND, local_minute
from simulators.scenarios import Effect
from simulators.vitals import news2

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NIGHT: Final = (23 * 60, 6 * 60)
_DAY: Final = (7 * 60, 22 * 60)


def to_datetime(t: int) -> datetime:
    return EPOCH + timedelta(milliseconds=t)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("simulation times must be timezone-aware")
    return (moment - EPOCH) // timedelta(milliseconds=1)


class TruthRecord(BaseModel):
    """An alert a correct detector set should open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: InjectionKind = Field(description="CONTRACT §2 alert kind")
    home_id: Name
    start: datetime = Field(description="earliest moment the condition holds")
    device_id: Name | None = None
    injection: str = Field(description="the injection that caused it, in its text form")
    details: dict[str, Any] = Field(default_factory=dict)


def records_for(
    effect: Effect, events: Sequence[Raw], devices: HomeDevices, *, home_id: str, zone: ZoneInfo
) -> list[TruthRecord]:
    """The ground truth of one placed injection, read from the home's events around it."""
    kind = effect.injection.kind
    found: list[tuple[str, int, str | None, dict[str, Any]]] = []
    if kind in ("fall", "sos", "leak", "smoke"):
        point = _first(
            events,
            effect.points[0].device_id,
            effect.points[0].type,
            effect.at,
            effect.at + 2 * MINUTE,
            effect.points[0].data,
        )
        if point is not None:
            details = dict(point.data)
            if kind == "fall":
                details["room"] = effect.place
            if len(effect.points) > 1:
                details["cleared_at"] = to_datetime(effect.points[1].ts).isoformat()
            found.append((kind, point.ts, point.device_id, details))
    elif kind == "device_offline":
        assert effect.device_id is not None
        before = [
            event.ts
            for event in events
            if event.device_id == effect.device_id and event.ts < effect.at
        ]
        details = {"last_report_at": to_datetime(before[-1]).isoformat() if before else None}
        found.append((kind, effect.at, effect.device_id, details))
    elif kind == "news2":
        found += _news2(effect, events, devices)
    elif kind == "inactivity":
        found += _inactivity(effect, events, zone)
    elif kind == "bed_exit":
        found += _bed_exit(effect, events, devices, zone)
    elif kind == "night_wandering":
        found += _night_wandering(effect, events, devices, zone)
    elif kind == "stove_unattended":
        found += _stove(effect, events, devices)
    return [
        TruthRecord(
            kind=found_kind,
            home_id=home_id,
            start=to_datetime(start),
            device_id=device,
            injection=str(effect.injection),
            details={
                **details,
                "injected_at": to_datetime(effect.at).isoformat(),
                "moved": effect.moved,
            },
        )
        for found_kind, start, device, details in found
    ]


def _first(
    events: Sequence[Raw],
    device_id: str,
    type_: str,
    since: int,
    until: int,
    data: dict[str, Any] | None = None,
) -> Raw | None:
    for event in events:
        if (
            since <= event.ts < until
            and event.device_id == device_id
            and event.type == type_
            and (data is None or all(event.data.get(k) == v for k, v in data.items()))
        ):
            return event
    return None


def _is_activity(event: Raw) -> bool:
    """What the inactivity rule counts: motion seen, any door change, any bed change."""
    if event.type == "motion":
        return bool(event.data["motion"])
    return event.type in ("door", "bed")


def _within(minute: float, window: tuple[int, int]) -> bool:
    opens, closes = window
    return opens <= minute < closes if opens <= closes else minute >= opens or minute < closes


def _inactivity(effect: Effect, events: Sequence[Raw], zone: ZoneInfo) -> list[Any]:
    activity = [event.ts for event in events if _is_activity(event)]
    last = max((t for t in activity if t <= effect.at), default=None)
    resumed = min((t for t in activity if t > effect.at), default=None)
    if last is None or (resumed is not None and resumed - last < 3 * HOUR):
        return []
    start = last + 3 * HOUR
    if not _within(local_minute(start, zone), _DAY):
        return []
    details = {
        "last_activity_at": to_datetime(last).isoformat(),
        "resumed_at": to_datetime(resumed).isoformat() if resumed else None,
    }
    return [("inactivity", start, None, details)]


def _bed_left(
    effect: Effect, events: Sequence[Raw], devices: HomeDevices, zone: ZoneInfo, cause: str | None
) -> list[Any]:
    left = _first(events, devices.bed, "bed", effect.at, effect.at + MINUTE, {"occupied": False})
    if left is None or not _within(local_minute(left.ts, zone), _NIGHT):
        return []
    back = _first(events, devices.bed, "bed", left.ts, left.ts + 12 * HOUR, {"occupied": True})
    if back is not None and back.ts - left.ts <= 30 * MINUTE:
        return []
    details: dict[str, Any] = {
        "left_bed_at": to_datetime(left.ts).isoformat(),
        "back_at": to_datetime(back.ts).isoformat() if back else None,
    }
    if cause:
        details["caused_by"] = cause
    return [("bed_exit", left.ts + 30 * MINUTE, devices.bed, details)]


def _bed_exit(
    effect: Effect, events: Sequence[Raw], devices: HomeDevices, zone: ZoneInfo
) -> list[Any]:
    return _bed_left(effect, events, devices, zone, None)


def _night_wandering(
    effect: Effect, events: Sequence[Raw], devices: HomeDevices, zone: ZoneInfo
) -> list[Any]:
    front = devices.doors["front"]
    opened = _first(
        events, front, "door", effect.at, effect.at + 10 * MINUTE, {"door": "front", "open": True}
    )
    if opened is None or not _within(local_minute(opened.ts, zone), _NIGHT):
        return []
    indoor = [
        event
        for event in events
        if event.type == "motion"
        and event.data["motion"]
        and opened.ts < event.ts <= opened.ts + 10 * MINUTE
    ]
    if indoor:
        return []
    returned = _first(
        events,
        front,
        "door",
        opened.ts + SECOND,
        opened.ts + 12 * HOUR,
        {"door": "front", "open": True},
    )
    details = {
        "door_opened_at": to_datetime(opened.ts).isoformat(),
        "returned_at": to_datetime(returned.ts).isoformat() if returned else None,
    }
    wandering = [("night_wandering", opened.ts + 10 * MINUTE, front, details)]
    return wandering + _bed_left(effect, events, devices, zone, "night_wandering")


def _stove(effect: Effect, events: Sequence[Raw], devices: HomeDevices) -> list[Any]:
    on = _first(events, devices.stove, "power", effect.at, effect.at + 10 * MINUTE, {"on": True})
    if on is None:
        return []
    off = _first(events, devices.stove, "power", on.ts, on.ts + 12 * HOUR, {"on": False})
    off_ts = off.ts if off is not None else events[-1].ts
    kitchen = devices.motion["kitchen"]
    seen = on.ts
    for event in events:
        if (
            not on.ts <= event.ts < off_ts
            or event.device_id != kitchen
            or event.type != "motion"
            or not event.data["motion"]
        ):
            continue
        if event.ts - seen >= 30 * MINUTE:
            break
        seen = event.ts
    if min(off_ts, events[-1].ts) - seen < 30 * MINUTE:
        return []
    details = {
        "stove_on_at": to_datetime(on.ts).isoformat(),
        "stove_off_at": to_datetime(off.ts).isoformat() if off else None,
        "kitchen_motion_last_at": to_datetime(seen).isoformat(),
    }
    return [("stove_unattended", seen + 30 * MINUTE, devices.stove, details)]


def _news2(effect: Effect, events: Sequence[Raw], devices: HomeDevices) -> list[Any]:
    latest: dict[str, tuple[int, object]] = {}
    start = high = critical = None
    peak = 0
    for event in events:
        if event.device_id != devices.wearable or event.type != "vitals":
            continue
        for name, value in event.data.items():
            latest[name] = (event.ts, value)
        if event.ts < effect.at:
            continue
        fresh = {name: value for name, (ts, value) in latest.items() if event.ts - ts < HOUR}
        total, single = news2(fresh)
        peak = max(peak, total)
        if start is None and (total >= 5 or single >= 3):
            start = event.ts
        if high is None and total >= 5:
            high = event.ts
        if critical is None and total >= 7:
            critical = event.ts
    if start is None:
        return []
    details = {
        "onset_at": to_datetime(effect.at).isoformat(),
        "high_at": to_datetime(high).isoformat() if high else None,
        "critical_at": to_datetime(critical).isoformat() if critical else None,
        "peak_score": peak,
    }
    return [("news2", start, devices.wearable, details)]


def write_truth(path: Path, records: Iterable[TruthRecord], *, append: bool = False) -> int:
    """Write records as JSON lines; returns how many."""
    count = 0
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as sink:
        for record in records:
            sink.write(record.model_dump_json() + "\n")
            count += 1
    return count


def read_truth(path: Path) -> list[TruthRecord]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [TruthRecord.model_validate_json(line) for line in lines if line.strip()]
