"""The learned activity baseline: `unusual_inactivity` flags silences unusual for the resident.

A regular routine (up at 06:30, about in the home every 3-25 min until bed at
21:30) is learned for some days, in Asia/Shanghai and in Europe/London across
its autumn clock change, and then a silence is judged by ticks every 5 minutes.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.detector import HomeContext
from processors.detectors import inactivity, unusual_inactivity
from processors.detectors.unusual_inactivity import (
    BINS,
    UnusualInactivityState,
    bin_index,
    threshold_minutes,
)
from processors.rules import HomeRules

HOME = "home-1"
DET = unusual_inactivity.DETECTOR
ROOMS = ("living", "kitchen", "hall", "bedroom", "bathroom")
# Shanghai has no clock change; London falls back on 2026-10-25, inside the learning.
FIRST_DAY = {"Asia/Shanghai": date(2026, 11, 1), "Europe/London": date(2026, 10, 15)}
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
_seq = itertools.count(1)


def context(zone: str, *, away: bool = False) -> HomeContext:
    return HomeContext(rules=HomeRules(home_id=HOME, timezone=zone, away=away))


def local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(
        UTC
    )


def reading(ts: datetime, type_: str, data: dict[str, Any], device_id: str) -> Reading:
    telemetry = TELEMETRY_ADAPTER.validate_python(
        {"type": type_, "ts": ts, "seq": next(_seq), "data": data}
    )
    return Reading(home_id=HOME, device_id=device_id, received_at=ts, telemetry=telemetry)


def motion(ts: datetime, room: str) -> Reading:
    return reading(ts, "motion", {"room": room, "motion": True}, f"pir_{room}")


def door(ts: datetime, name: str, is_open: bool) -> Reading:
    return reading(ts, "door", {"door": name, "open": is_open}, f"door_{name}")


def bed(ts: datetime, occupied: bool) -> Reading:
    return reading(ts, "bed", {"occupied": occupied}, "bed_1")


def routine_day(
    zone: str, day: date, rng: random.Random, until: int = 21 * 60 + 30
) -> list[Reading]:
    """A regular day: out of bed at 06:30, moving every 3-25 min, back in bed at 21:30."""
    events = [bed(local(zone, day, 6, 30), False)]
    minute = 6 * 60 + 30 + rng.uniform(1, 5)
    while minute < min(until, 21 * 60 + 25):
        # Wall-clock minutes, so the routine keeps its hours on a clock-change day.
        hour, rest = divmod(int(minute), 60)
        at = local(zone, day, hour, rest)
        events.append(motion(at, rng.choice(ROOMS)))
        minute += rng.uniform(3, 25)
    if until >= 21 * 60 + 30:
        events.append(bed(local(zone, day, 21, 30), True))
    return events


def learn(zone: str, days: int, home: HomeContext | None = None) -> tuple[Any, date]:
    """State after `days` days of routine (with a tick each half hour); the next day."""
    home = home or context(zone)
    rng = random.Random(42)
    state = DET.initial()
    day = FIRST_DAY[zone]
    for _ in range(days):
        steps: list[Reading | datetime] = list(routine_day(zone, day, rng))
        steps += [local(zone, day, 0) + timedelta(minutes=30 * i) for i in range(48)]
        steps.sort(key=lambda s: s if isinstance(s, datetime) else s.telemetry.ts)
        for step in steps:
            if isinstance(step, datetime):
                state, made = DET.on_tick(state, step, home)
            else:
                state, made = DET.on_event(state, step, home)
            assert made == [], "a regular routine raises nothing"
        day += timedelta(days=1)
    return state, day


def ticks(state: Any, start: datetime, end: datetime, home: HomeContext) -> list[Detection]:
    made: list[Detection] = []
    now = start
    while now <= end:
        state, detections = DET.on_tick(state, now, home)
        made += detections
        now += 5 * MIN
    return made


def feed(state: Any, events: list[Reading], home: HomeContext) -> Any:
    for event in events:
        state, made = DET.on_event(state, event, home)
        assert made == []
    return state


@pytest.mark.parametrize("zone", list(FIRST_DAY))
class TestLearnedBaseline:
    def test_morning_silence_fires_before_the_fixed_rule(self, zone: str) -> None:
        home = context(zone)
        state, day = learn(zone, 14)
        morning = routine_day(zone, day, random.Random(1), until=8 * 60)
        state = feed(state, morning, home)
        last = morning[-1].telemetry.ts
        made = ticks(state, last, last + 90 * MIN, home)
        assert [d.action for d in made] == ["open"]
        found = made[0]
        assert (found.kind, found.severity, found.service) == (
            "unusual_inactivity",
            "medium",
            "wellbeing",
        )
        assert last < found.at <= last + 90 * MIN
        fixed = inactivity.daytime_deadline(last, home.rules)
        assert fixed is not None
        assert found.at < fixed
        assert found.evidence[0].ts == last
        assert found.details["days_learned"] == 14

    def test_the_same_silence_at_night_does_not_fire(self, zone: str) -> None:
        home = context(zone)
        state, day = learn(zone, 14)
        # A toilet visit at 01:00, back in bed at 01:10, then 90 min of sleep.
        visit = [
            bed(local(zone, day, 1), False),
            motion(local(zone, day, 1, 1), "bathroom"),
            bed(local(zone, day, 1, 10), True),
        ]
        state = feed(state, visit, home)
        last = visit[-1].telemetry.ts
        assert ticks(state, last, last + 90 * MIN, home) == []

    @pytest.mark.parametrize(("days", "fires"), [(3, False), (6, False), (7, True)])
    def test_needs_seven_days_of_history(self, zone: str, days: int, fires: bool) -> None:
        home = context(zone)
        state, day = learn(zone, days)
        morning = routine_day(zone, day, random.Random(1), until=8 * 60)
        state = feed(state, morning, home)
        last = morning[-1].telemetry.ts
        made = ticks(state, last, last + 170 * MIN, home)
        assert [d.action for d in made] == (["open"] if fires else [])

    def test_activity_cancels_once(self, zone: str) -> None:
        home = context(zone)
        state, day = learn(zone, 14)
        morning = routine_day(zone, day, random.Random(1), until=8 * 60)
        state = feed(state, morning, home)
        last = morning[-1].telemetry.ts
        for now in (last + 60 * MIN, last + 80 * MIN, last + 100 * MIN):
            state, made = DET.on_tick(state, now, home)
        state, made = DET.on_event(state, motion(last + 101 * MIN, "kitchen"), home)
        assert [d.action for d in made] == ["cancel"]

    def test_a_silence_after_the_front_door_is_not_judged(self, zone: str) -> None:
        home = context(zone)
        state, day = learn(zone, 14)
        morning = routine_day(zone, day, random.Random(1), until=8 * 60)
        last = morning[-1].telemetry.ts
        out = [door(last + MIN, "front", True), door(last + MIN + 8 * SEC, "front", False)]
        state = feed(state, [*morning, *out], home)
        assert ticks(state, last, last + 170 * MIN, home) == []

    def test_away_pauses(self, zone: str) -> None:
        state, day = learn(zone, 14)
        home = context(zone)
        morning = routine_day(zone, day, random.Random(1), until=8 * 60)
        state = feed(state, morning, home)
        last = morning[-1].telemetry.ts
        assert ticks(state, last, last + 170 * MIN, context(zone, away=True)) == []

    def test_same_input_twice_gives_the_same_detection_id(self, zone: str) -> None:
        runs: list[list[str]] = []
        for _ in range(2):
            home = context(zone)
            state, day = learn(zone, 8)
            morning = routine_day(zone, day, random.Random(1), until=8 * 60)
            state = feed(state, morning, home)
            last = morning[-1].telemetry.ts
            runs.append([d.detection_id for d in ticks(state, last, last + 170 * MIN, home)])
        assert runs[0]
        assert runs[0] == runs[1]


class TestBaselineState:
    def test_state_is_bounded_and_round_trips_as_json(self) -> None:
        zone = "Asia/Shanghai"
        state, _ = learn(zone, 8)
        assert len(state.counts) == len(state.means) == len(state.variances) == BINS
        again = UnusualInactivityState.model_validate_json(state.model_dump_json())
        assert again == state

    def test_learned_thresholds_are_short_by_day_and_long_by_night(self) -> None:
        zone = "Asia/Shanghai"
        state, day = learn(zone, 14)
        rules = context(zone).rules
        morning = threshold_minutes(state, bin_index(local(zone, day, 9), rules))
        night = threshold_minutes(state, bin_index(local(zone, day, 2), rules))
        assert morning is not None
        assert night is not None
        assert 30 <= morning < 90
        assert night > 180

    def test_bins_are_local_time(self) -> None:
        instant = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
        assert bin_index(instant, context("Asia/Shanghai").rules) == 9 * 4
        assert bin_index(instant, context("Europe/London").rules) == 1 * 4
        assert (
            bin_index(datetime(2026, 7, 1, 1, 0, tzinfo=UTC), context("Europe/London").rules) == 8
        )

    def test_nothing_fires_without_history(self) -> None:
        zone = "Asia/Shanghai"
        home = context(zone)
        state = DET.initial()
        day = date(2026, 11, 23)
        state, _ = DET.on_event(state, motion(local(zone, day, 8), "living"), home)
        assert ticks(state, local(zone, day, 8), local(zone, day, 11), home) == []
