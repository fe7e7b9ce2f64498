"""Healthy homes never contain an alert condition: checked on the events themselves."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from simulators.fleet import build_fleet
from simulators.stream import SimEvent, generate
from tests.unit.test_simulator_conditions import (
    ZONE,
    alarms,
    bad_room_climate,
    days_without_breakfast,
    daytime_silences,
    is_activity,
    long_bathroom_stays,
    low_batteries,
    news2_triggers,
    night_bed_exits,
    night_front_door_openings,
    silent_devices,
    unattended_stove,
)

START = datetime(2026, 11, 20, 16, tzinfo=UTC)  # midnight in Zhongshan
DAYS = 3
FLEET = build_fleet(24, seed=5)


@pytest.fixture(scope="module")
def home_days() -> dict[str, list[SimEvent]]:
    return {
        home.home_id: [
            item
            for item in generate(home, START, START + timedelta(days=DAYS), seed=5)
            if isinstance(item, SimEvent)
        ]
        for home in FLEET
    }


def _daytime_overlap(begin: datetime, end: datetime) -> timedelta:
    """How much of [begin, end) lies between 07:00 and 22:00 local."""
    total = timedelta(0)
    day = begin.astimezone(ZONE).date()
    while datetime.combine(day, time(7), tzinfo=ZONE) < end:
        opens = max(begin, datetime.combine(day, time(7), tzinfo=ZONE))
        closes = min(end, datetime.combine(day, time(22), tzinfo=ZONE))
        total += max(timedelta(0), closes - opens)
        day += timedelta(days=1)
    return total


class TestHealthyHomes:
    def test_no_three_hour_daytime_silence(self, home_days: dict[str, list[SimEvent]]) -> None:
        assert {
            home: daytime_silences(events)
            for home, events in home_days.items()
            if daytime_silences(events)
        } == {}

    def test_longest_daytime_gap_is_under_three_hours(
        self, home_days: dict[str, list[SimEvent]]
    ) -> None:
        longest = timedelta(0)
        for events in home_days.values():
            times = [e.ts for e in events if is_activity(e)]
            for last, following in itertools.pairwise(times):
                longest = max(longest, _daytime_overlap(last, following))
        assert timedelta(hours=1) < longest < timedelta(hours=3)

    def test_front_door_never_opens_at_night(self, home_days: dict[str, list[SimEvent]]) -> None:
        assert all(night_front_door_openings(events) == [] for events in home_days.values())

    def test_the_resident_goes_out_some_days(self, home_days: dict[str, list[SimEvent]]) -> None:
        opened = [
            e
            for events in home_days.values()
            for e in events
            if e.type == "door" and e.payload["data"] == {"door": "front", "open": True}
        ]
        assert len(opened) >= len(FLEET)

    def test_no_long_night_bed_exit(self, home_days: dict[str, list[SimEvent]]) -> None:
        assert all(night_bed_exits(events) == [] for events in home_days.values())

    def test_night_bathroom_visits_happen(self, home_days: dict[str, list[SimEvent]]) -> None:
        night_exits = [
            e
            for events in home_days.values()
            for e in events
            if e.type == "bed"
            and not e.payload["data"]["occupied"]
            and e.ts.astimezone(ZONE).hour < 5
        ]
        assert night_exits

    def test_bathroom_visits_stay_under_45_minutes(
        self, home_days: dict[str, list[SimEvent]]
    ) -> None:
        assert all(long_bathroom_stays(events) == [] for events in home_days.values())

    def test_stove_never_on_for_30_minutes_without_kitchen_motion(
        self, home_days: dict[str, list[SimEvent]]
    ) -> None:
        assert all(unattended_stove(events) == [] for events in home_days.values())

    def test_the_stove_is_used_daily(self, home_days: dict[str, list[SimEvent]]) -> None:
        for events in home_days.values():
            switched_on = [
                e
                for e in events
                if e.type == "power"
                and e.payload["data"]["on"]
                and e.payload["data"]["watts"] > 1000
            ]
            assert switched_on

    def test_vitals_never_reach_a_news2_trigger(self, home_days: dict[str, list[SimEvent]]) -> None:
        assert all(news2_triggers(events) == [] for events in home_days.values())

    def test_no_fall_sos_leak_or_smoke(self, home_days: dict[str, list[SimEvent]]) -> None:
        for events in home_days.values():
            assert alarms(events) == {"fall": [], "sos": [], "leak": [], "smoke": []}

    def test_breakfast_every_morning(self, home_days: dict[str, list[SimEvent]]) -> None:
        assert all(days_without_breakfast(events) == [] for events in home_days.values())

    def test_rooms_stay_between_16_and_30_degrees(
        self, home_days: dict[str, list[SimEvent]]
    ) -> None:
        assert all(bad_room_climate(events) == [] for events in home_days.values())

    def test_batteries_stay_above_15_percent(self, home_days: dict[str, list[SimEvent]]) -> None:
        assert all(low_batteries(events) == [] for events in home_days.values())

    def test_no_device_falls_silent(self, home_days: dict[str, list[SimEvent]]) -> None:
        homes = {home.home_id: home for home in FLEET}
        assert {
            home_id: silent_devices(events, homes[home_id])
            for home_id, events in home_days.items()
            if silent_devices(events, homes[home_id])
        } == {}

    def test_vitals_vary_with_the_time_of_day(self, home_days: dict[str, list[SimEvent]]) -> None:
        events = home_days[FLEET[0].home_id]
        night = [
            e.payload["data"]["heart_rate"]
            for e in events
            if e.type == "vitals" and 1 <= e.ts.astimezone(ZONE).hour < 5
        ]
        day = [
            e.payload["data"]["heart_rate"]
            for e in events
            if e.type == "vitals" and 9 <= e.ts.astimezone(ZONE).hour < 19
        ]
        assert sum(night) / len(night) < sum(day) / len(day) - 3
