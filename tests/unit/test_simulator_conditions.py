"""CONTRACT §2 conditions read straight off generated events.

Written apart from `simulators/truth.py` on purpose: the simulator's tests
check its events with these, not with its own bookkeeping. Each function
returns the moments a condition starts to hold (default thresholds).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from simulators.fleet import FleetHome
from simulators.stream import SimEvent
from simulators.vitals import news2

ZONE = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _minute(moment: datetime) -> float:
    local = moment.astimezone(ZONE)
    return local.hour * 60 + local.minute + local.second / 60


def _data(event: SimEvent) -> dict[str, Any]:
    data: dict[str, Any] = event.payload["data"]
    return data


def is_activity(event: SimEvent) -> bool:
    if event.type == "motion":
        return _data(event)["motion"] is True
    return event.type in ("door", "bed")


def daytime_silences(events: Sequence[SimEvent]) -> list[datetime]:
    """Moments between 07:00 and 22:00 local with no motion, door or bed change for 3 h."""
    times = [event.ts for event in events if is_activity(event)]
    found = []
    for last, following in itertools.pairwise(times):
        moment = last + 3 * HOUR
        if moment >= following:
            continue
        if not 7 * 60 <= _minute(moment) < 22 * 60:
            local = moment.astimezone(ZONE)
            day = local.date() if local.hour < 7 else local.date() + timedelta(days=1)
            moment = datetime.combine(day, time(7), tzinfo=ZONE).astimezone(UTC)
        if moment < following:
            found.append(moment)
    return found


def night_front_door_openings(events: Sequence[SimEvent]) -> list[datetime]:
    """Front door opened between 23:00 and 06:00 local."""
    return [
        event.ts
        for event in events
        if event.type == "door"
        and _data(event) == {"door": "front", "open": True}
        and not 6 * 60 <= _minute(event.ts) < 23 * 60
    ]


def night_wanderings(events: Sequence[SimEvent]) -> list[datetime]:
    """Front door opened at night with no indoor motion within 10 minutes."""
    found = []
    for opened in night_front_door_openings(events):
        indoor = [
            event
            for event in events
            if event.type == "motion"
            and _data(event)["motion"]
            and opened < event.ts <= opened + 10 * MINUTE
        ]
        if not indoor:
            found.append(opened + 10 * MINUTE)
    return found


def night_bed_exits(events: Sequence[SimEvent]) -> list[datetime]:
    """Bed left between 23:00 and 06:00 local and not back within 30 minutes."""
    bed = [event for event in events if event.type == "bed"]
    found = []
    for index, event in enumerate(bed):
        if _data(event)["occupied"] or 6 * 60 <= _minute(event.ts) < 23 * 60:
            continue
        back = next((later.ts for later in bed[index + 1 :] if _data(later)["occupied"]), None)
        if back is None and events[-1].ts - event.ts < 30 * MINUTE:
            continue  # the events end too soon to tell
        if back is None or back - event.ts > 30 * MINUTE:
            found.append(event.ts + 30 * MINUTE)
    return found


def unattended_stove(events: Sequence[SimEvent]) -> list[datetime]:
    """Stove on with no kitchen motion for 30 minutes."""
    found = []
    on_since: datetime | None = None
    seen: datetime | None = None

    def check(now: datetime) -> None:
        nonlocal on_since
        assert on_since is not None
        quiet_since = max(on_since, seen) if seen is not None else on_since
        if now - quiet_since >= 30 * MINUTE:
            found.append(quiet_since + 30 * MINUTE)
            on_since = None

    for event in events:
        data = _data(event)
        if event.type == "motion" and data["room"] == "kitchen" and data["motion"]:
            if on_since is not None:
                check(event.ts)
            seen = event.ts
        elif event.type == "power" and data["appliance"] == "stove":
            if data["on"] and on_since is None:
                on_since = event.ts
            elif not data["on"] and on_since is not None:
                check(event.ts)
                on_since = None
    return found


def long_bathroom_stays(events: Sequence[SimEvent]) -> list[datetime]:
    """Bathroom occupied over 45 minutes: from its first motion to motion seen elsewhere."""
    found = []
    entered: datetime | None = None
    for event in events:
        if event.type != "motion" or not _data(event)["motion"]:
            continue
        in_bathroom = _data(event)["room"] == "bathroom"
        if in_bathroom and entered is None:
            entered = event.ts
        elif not in_bathroom and entered is not None:
            if event.ts - entered > 45 * MINUTE:
                found.append(entered + 45 * MINUTE)
            entered = None
    return found


def news2_triggers(events: Sequence[SimEvent]) -> list[datetime]:
    """Readings at which NEWS2 over fresh (<1 h) values reaches 5, or a parameter scores 3."""
    latest: dict[str, tuple[datetime, object]] = {}
    found = []
    for event in events:
        if event.type != "vitals":
            continue
        for name, value in _data(event).items():
            latest[name] = (event.ts, value)
        fresh = {name: value for name, (ts, value) in latest.items() if event.ts - ts < HOUR}
        total, single = news2(fresh)
        if total >= 5 or single >= 3:
            found.append(event.ts)
    return found


def alarms(events: Sequence[SimEvent]) -> dict[str, list[datetime]]:
    """Falls (confidence >= 0.6), SOS presses, wet leak sensors, smoke/CO alarms."""
    found: dict[str, list[datetime]] = {"fall": [], "sos": [], "leak": [], "smoke": []}
    for event in events:
        data = _data(event)
        if event.type == "fall" and float(data["confidence"]) >= 0.6:
            found["fall"].append(event.ts)
        elif event.type == "sos" and data["action"] == "press":
            found["sos"].append(event.ts)
        elif event.type == "leak" and data["wet"]:
            found["leak"].append(event.ts)
        elif event.type == "smoke" and data["alarm"]:
            found["smoke"].append(event.ts)
    return found


def days_without_breakfast(events: Sequence[SimEvent]) -> list[datetime]:
    """Local days (fully covered) with no kitchen motion, fridge door or stove by 11:00."""
    if not events:
        return []
    first, last = events[0].ts.astimezone(ZONE), events[-1].ts.astimezone(ZONE)
    day = first.date() if first.time() <= time(0, 5) else first.date() + timedelta(days=1)
    fed: set[object] = set()
    for event in events:
        data = _data(event)
        kitchen = (
            (event.type == "motion" and data["room"] == "kitchen" and data["motion"])
            or (event.type == "door" and data["door"] == "fridge")
            or (event.type == "power" and data["on"])
        )
        local = event.ts.astimezone(ZONE)
        if kitchen and local.hour < 11:
            fed.add(local.date())
    missing = []
    while datetime.combine(day, time(11), tzinfo=ZONE) <= last:
        if day not in fed:
            missing.append(datetime.combine(day, time(11), tzinfo=ZONE))
        day += timedelta(days=1)
    return missing


def bad_room_climate(events: Sequence[SimEvent]) -> list[datetime]:
    return [
        event.ts
        for event in events
        if event.type == "environment" and not 16 <= float(_data(event)["temperature"]) <= 30
    ]


def low_batteries(events: Sequence[SimEvent]) -> list[datetime]:
    return [
        event.ts
        for event in events
        if event.payload.get("battery") is not None and event.payload["battery"] < 15
    ]


def silent_devices(events: Sequence[SimEvent], home: FleetHome) -> list[str]:
    """Devices that went quiet for 3x their report interval inside the events' span."""
    if not events:
        return []
    begin, end = events[0].ts, events[-1].ts
    silent = []
    for device in home.devices:
        moments = [begin] + [e.ts for e in events if e.device_id == device.device_id] + [end]
        limit = timedelta(seconds=3 * device.report_interval_s)
        if any(b - a >= limit for a, b in itertools.pairwise(moments)):
            silent.append(device.device_id)
    return silent


class TestCheckersCatchWhatTheyLookFor:
    """The checkers themselves, on hand-made events."""

    @staticmethod
    def _event(ts: datetime, type_: str, data: dict[str, object]) -> SimEvent:
        return SimEvent(ts, "h", "d", {"type": type_, "ts": 0, "seq": 1, "data": data})

    def test_a_four_hour_silence_at_noon_is_found(self) -> None:
        noon = datetime(2026, 11, 23, 4, tzinfo=UTC)  # 12:00 local
        events = [
            self._event(noon, "door", {"door": "front", "open": True}),
            self._event(noon + 4 * HOUR, "door", {"door": "front", "open": False}),
        ]
        assert daytime_silences(events) == [noon + 3 * HOUR]

    def test_a_silence_overnight_counts_from_seven(self) -> None:
        evening = datetime(2026, 11, 23, 14, tzinfo=UTC)  # 22:00 local
        morning = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 local
        events = [
            self._event(evening, "bed", {"occupied": True}),
            self._event(morning, "bed", {"occupied": False}),
        ]
        assert daytime_silences(events) == [datetime(2026, 11, 23, 23, tzinfo=UTC)]

    def test_stove_on_without_kitchen_motion_is_found(self) -> None:
        on = datetime(2026, 11, 23, 4, tzinfo=UTC)
        events = [
            self._event(on, "power", {"appliance": "stove", "watts": 1800, "on": True}),
            self._event(on + 40 * MINUTE, "power", {"appliance": "stove", "watts": 0, "on": False}),
        ]
        assert unattended_stove(events) == [on + 30 * MINUTE]

    def test_night_door_without_motion_is_wandering(self) -> None:
        night = datetime(2026, 11, 23, 18, tzinfo=UTC)  # 02:00 local
        events = [self._event(night, "door", {"door": "front", "open": True})]
        assert night_wanderings(events) == [night + 10 * MINUTE]
