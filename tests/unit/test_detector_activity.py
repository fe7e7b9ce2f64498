"""The fixed activity rules: inactivity, night wandering, bed exit, bathroom, meals, stove.

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

import pytest

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.detector import Detector, DeviceProfile, HomeContext
from processors.detectors import (
    bathroom_long,
    bed_exit,
    inactivity,
    night_wandering,
    no_meal,
    stove_unattended,
)
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


class TestInactivity:
    det = inactivity.DETECTOR

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize("day", DAYS)
    @pytest.mark.parametrize(("silence", "fires"), [(179, False), (180, True)])
    def test_three_hours_of_daytime_silence_opens(
        self, zone: str, day: tuple[int, int, int], silence: int, fires: bool
    ) -> None:
        start = local(zone, day, 9)
        made = run(self.det, context(zone), [motion(start), start + silence * MIN])
        assert actions(made) == (["open"] if fires else [])
        if fires:
            assert made[0].severity == "high"
            assert made[0].service == "wellbeing"
            assert made[0].at == start + 180 * MIN
            assert made[0].evidence[0].ts == start

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize(
        ("hour", "minute", "due"),
        [(5, 0, (10, 0)), (6, 59, (10, 0)), (7, 0, (10, 0)), (7, 1, (10, 1))],
    )
    def test_silence_before_day_start_counts_from_day_start(
        self, zone: str, hour: int, minute: int, due: tuple[int, int]
    ) -> None:
        day = (2026, 11, 23)
        deadline = local(zone, day, *due)
        made = run(
            self.det,
            context(zone),
            [motion(local(zone, day, hour, minute)), deadline - SEC, deadline],
        )
        assert [d.at for d in made] == [deadline]

    @pytest.mark.parametrize("zone", ZONES)
    def test_silence_crossing_day_end_stops_counting_and_resumes_next_morning(
        self, zone: str
    ) -> None:
        day, next_day = (2026, 11, 23), (2026, 11, 24)
        steps: list[Step] = [
            motion(local(zone, day, 20)),
            local(zone, day, 22),
            local(zone, day, 23, 30),
            local(zone, next_day, 3),
            local(zone, next_day, 7, 59),
        ]
        assert run(self.det, context(zone), steps) == []
        made = run(self.det, context(zone), [*steps, local(zone, next_day, 8)])
        assert [d.at for d in made] == [local(zone, next_day, 8)]

    @pytest.mark.parametrize(
        ("zone", "day", "due_utc"),
        [
            ("Europe/London", (2026, 3, 28), datetime(2026, 3, 28, 10, tzinfo=UTC)),
            ("Europe/London", (2026, 3, 29), datetime(2026, 3, 29, 9, tzinfo=UTC)),
            ("Europe/London", (2026, 10, 25), datetime(2026, 10, 25, 10, tzinfo=UTC)),
            ("Asia/Shanghai", (2026, 3, 29), datetime(2026, 3, 29, 2, tzinfo=UTC)),
        ],
    )
    def test_local_hours_follow_the_zone(
        self, zone: str, day: tuple[int, int, int], due_utc: datetime
    ) -> None:
        early = local(zone, day, 0, 30)
        made = run(self.det, context(zone), [motion(early), due_utc - SEC, due_utc])
        assert [d.at for d in made] == [due_utc]

    def test_silence_across_spring_forward_counts_true_hours(self) -> None:
        zone = "Europe/London"
        # 21:00 GMT on the 28th: one hour to 22:00, then 07:00 BST (06:00 UTC) + 2 h.
        made = run(
            self.det,
            context(zone),
            [
                motion(datetime(2026, 3, 28, 21, tzinfo=UTC)),
                datetime(2026, 3, 29, 7, 59, tzinfo=UTC),
                datetime(2026, 3, 29, 8, tzinfo=UTC),
            ],
        )
        assert [d.at for d in made] == [datetime(2026, 3, 29, 8, tzinfo=UTC)]

    def test_ticks_fire_for_a_home_that_never_sends_anything(self) -> None:
        zone = "Asia/Shanghai"
        day = (2026, 11, 23)
        made = run(self.det, context(zone), [local(zone, day, 7), local(zone, day, 10)])
        assert actions(made) == ["open"]
        assert made[0].evidence == ()

    @pytest.mark.parametrize(
        "activity",
        [
            lambda ts: motion(ts, "kitchen"),
            lambda ts: door(ts, "fridge", False),
            lambda ts: bed(ts, False),
        ],
    )
    def test_any_activity_cancels_the_silence_once(self, activity: Any) -> None:
        zone = "Asia/Shanghai"
        start = local(zone, (2026, 11, 23), 9)
        made = run(
            self.det,
            context(zone),
            [motion(start), start + 180 * MIN, start + 200 * MIN, activity(start + 210 * MIN)],
        )
        assert actions(made) == ["open", "cancel"]
        assert made[1].detection_id != made[0].detection_id

    def test_motion_clear_is_not_activity(self) -> None:
        start = local("Asia/Shanghai", (2026, 11, 23), 9)
        made = run(
            self.det,
            context(),
            [motion(start), motion_clear(start + 2 * MIN), start + 181 * MIN],
        )
        assert [d.at for d in made] == [start + 180 * MIN]

    def test_replayed_events_report_a_silence_without_ticks(self) -> None:
        start = local("Asia/Shanghai", (2026, 11, 23), 9)
        made = run(self.det, context(), [motion(start), motion(start + 240 * MIN)])
        assert actions(made) == ["open", "cancel"]
        assert made[0].at == start + 180 * MIN

    def test_late_reading_older_than_last_activity_changes_nothing(self) -> None:
        start = local("Asia/Shanghai", (2026, 11, 23), 9)
        made = run(
            self.det,
            context(),
            [motion(start), motion(start - 30 * MIN), start + 180 * MIN],
        )
        assert [d.at for d in made] == [start + 180 * MIN]

    def test_away_pauses(self) -> None:
        start = local("Asia/Shanghai", (2026, 11, 23), 9)
        made = run(self.det, context(away=True), [motion(start), start + 5 * 60 * MIN])
        assert made == []

    def test_one_detection_per_silence(self) -> None:
        start = local("Asia/Shanghai", (2026, 11, 23), 9)
        ticks = [start + minutes * MIN for minutes in range(180, 400, 5)]
        made = run(self.det, context(), [motion(start), *ticks])
        assert actions(made) == ["open"]


class TestNightWandering:
    det = night_wandering.DETECTOR

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize(
        ("hour", "minute", "fires"),
        [(22, 59, False), (23, 0, True), (5, 59, True), (6, 0, False), (2, 0, True)],
    )
    def test_front_door_at_night_without_indoor_motion(
        self, zone: str, hour: int, minute: int, fires: bool
    ) -> None:
        opened = local(zone, (2026, 10, 24) if hour >= 12 else (2026, 10, 25), hour, minute)
        made = run(self.det, context(zone), [door(opened), opened + 10 * MIN])
        assert actions(made) == (["open"] if fires else [])
        if fires:
            assert made[0].severity == "critical"
            assert made[0].service == "wellbeing"
            assert made[0].evidence[0].ts == opened

    @pytest.mark.parametrize(("after", "fires"), [(9 * MIN + 59 * SEC, False), (10 * MIN, True)])
    def test_tick_at_window_edge(self, after: timedelta, fires: bool) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(self.det, context(), [door(opened), opened + after])
        assert actions(made) == (["open"] if fires else [])

    @pytest.mark.parametrize(("after", "fires"), [(9 * MIN + 59 * SEC, False), (10 * MIN, True)])
    def test_indoor_motion_inside_window_means_nothing(self, after: timedelta, fires: bool) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(
            self.det,
            context(),
            [door(opened), motion(opened + after, "hall"), opened + 60 * MIN],
        )
        assert actions(made) == (["open"] if fires else [])

    def test_outdoor_motion_does_not_count(self) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(
            self.det, context(), [door(opened), motion(opened + MIN, "garden"), opened + 10 * MIN]
        )
        assert actions(made) == ["open"]

    def test_other_doors_and_closing_do_not_start_a_watch(self) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        steps: list[Step] = [
            door(opened, "fridge"),
            door(opened, "front", False),
            opened + 20 * MIN,
        ]
        assert run(self.det, context(), steps) == []

    def test_local_hours_follow_the_zone(self) -> None:
        instant = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # London 23:30, Shanghai 07:30
        steps: list[Step] = [door(instant), instant + 10 * MIN]
        assert actions(run(self.det, context("Europe/London"), steps)) == ["open"]
        assert run(self.det, context("Asia/Shanghai"), steps) == []

    def test_late_indoor_motion_inside_window_cancels(self) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(
            self.det, context(), [door(opened), opened + 11 * MIN, motion(opened + 3 * MIN, "hall")]
        )
        assert actions(made) == ["open", "cancel"]

    def test_away_pauses(self) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        assert run(self.det, context(away=True), [door(opened), opened + 30 * MIN]) == []

    def test_same_input_same_detection_id(self) -> None:
        opened = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        steps: list[Step] = [door(opened), opened + 12 * MIN]
        first, second = run(self.det, context(), steps), run(self.det, context(), steps)
        assert first[0].detection_id == second[0].detection_id


class TestBedExit:
    det = bed_exit.DETECTOR

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize(
        ("hour", "minute", "fires"),
        [(22, 59, False), (23, 0, True), (1, 30, True), (5, 59, True), (6, 0, False)],
    )
    def test_night_exit_window(self, zone: str, hour: int, minute: int, fires: bool) -> None:
        left = local(zone, (2026, 10, 24) if hour >= 12 else (2026, 10, 25), hour, minute)
        made = run(self.det, context(zone), [bed(left, False), left + 30 * MIN])
        assert actions(made) == (["open"] if fires else [])
        if fires:
            assert (made[0].severity, made[0].service) == ("high", "wellbeing")

    @pytest.mark.parametrize(("after", "fires"), [(29 * MIN, False), (30 * MIN, True)])
    def test_tick_at_threshold(self, after: timedelta, fires: bool) -> None:
        left = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(self.det, context(), [bed(left, False), left + after])
        assert actions(made) == (["open"] if fires else [])

    def test_back_within_window_means_nothing(self) -> None:
        left = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(
            self.det, context(), [bed(left, False), bed(left + 29 * MIN, True), left + 60 * MIN]
        )
        assert made == []

    def test_back_in_bed_cancels(self) -> None:
        left = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(
            self.det,
            context(),
            [bed(left, False), left + 30 * MIN, left + 40 * MIN, bed(left + 45 * MIN, True)],
        )
        assert actions(made) == ["open", "cancel"]

    def test_stale_occupied_before_the_exit_is_ignored(self) -> None:
        left = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        made = run(
            self.det, context(), [bed(left, False), bed(left - 5 * MIN, True), left + 30 * MIN]
        )
        assert actions(made) == ["open"]

    def test_away_pauses(self) -> None:
        left = local("Asia/Shanghai", (2026, 11, 23), 23, 30)
        assert run(self.det, context(away=True), [bed(left, False), left + 60 * MIN]) == []


class TestBathroomLong:
    det = bathroom_long.DETECTOR

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize(("after", "fires"), [(44 * MIN, False), (45 * MIN, True)])
    def test_stay_threshold(self, zone: str, after: timedelta, fires: bool) -> None:
        entered = local(zone, (2026, 11, 23), 10)
        steps: list[Step] = [
            motion(entered - 2 * MIN, "hall"),
            door(entered - MIN, "bathroom", True),
            door(entered - MIN + 5 * SEC, "bathroom", False),
            motion(entered, "bathroom"),
            motion(entered + 5 * MIN, "bathroom"),
            entered + after,
        ]
        made = run(self.det, context(zone), steps)
        assert actions(made) == (["open"] if fires else [])
        if fires:
            assert (made[0].severity, made[0].service) == ("high", "wellbeing")
            assert made[0].evidence[0].ts == entered

    def test_leaving_cancels(self) -> None:
        entered = local("Asia/Shanghai", (2026, 11, 23), 10)
        made = run(
            self.det,
            context(),
            [
                motion(entered, "bathroom"),
                entered + 45 * MIN,
                door(entered + 50 * MIN, "bathroom", True),
                motion(entered + 50 * MIN + 5 * SEC, "hall"),
            ],
        )
        assert actions(made) == ["open", "cancel"]

    def test_short_visit_means_nothing(self) -> None:
        entered = local("Asia/Shanghai", (2026, 11, 23), 2)
        made = run(
            self.det,
            context(),
            [motion(entered, "bathroom"), motion(entered + 6 * MIN, "bedroom"), entered + 60 * MIN],
        )
        assert made == []

    def test_bathroom_door_alone_neither_starts_nor_ends_a_stay(self) -> None:
        t = local("Asia/Shanghai", (2026, 11, 23), 10)
        assert run(self.det, context(), [door(t, "bathroom"), t + 60 * MIN]) == []
        made = run(
            self.det,
            context(),
            [motion(t, "bathroom"), door(t + 10 * MIN, "bathroom"), t + 45 * MIN],
        )
        assert actions(made) == ["open"]

    def test_stale_bathroom_motion_does_not_start_a_stay(self) -> None:
        t = local("Asia/Shanghai", (2026, 11, 23), 10)
        made = run(
            self.det, context(), [motion(t, "kitchen"), motion(t - MIN, "bathroom"), t + 60 * MIN]
        )
        assert made == []

    def test_late_sign_elsewhere_inside_the_stay_restarts_it(self) -> None:
        t = local("Asia/Shanghai", (2026, 11, 23), 10)
        steps: list[Step] = [
            motion(t, "bathroom"),
            motion(t + 20 * MIN, "bathroom"),
            motion(t + 10 * MIN, "kitchen"),  # arrives late: the resident was out at 10:10
            t + 64 * MIN,
        ]
        assert run(self.det, context(), steps) == []
        made = run(self.det, context(), [*steps, t + 65 * MIN])
        assert [d.at for d in made] == [t + 65 * MIN]

    def test_away_pauses(self) -> None:
        t = local("Asia/Shanghai", (2026, 11, 23), 10)
        assert run(self.det, context(away=True), [motion(t, "bathroom"), t + 60 * MIN]) == []


class TestNoMeal:
    det = no_meal.DETECTOR

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize("day", DAYS)
    @pytest.mark.parametrize(("hour", "minute", "fires"), [(10, 59, False), (11, 0, True)])
    def test_no_kitchen_activity_by_eleven(
        self, zone: str, day: tuple[int, int, int], hour: int, minute: int, fires: bool
    ) -> None:
        ticks = [local(zone, day, 0), local(zone, day, hour, minute)]
        made = run(self.det, context(zone), ticks)
        assert actions(made) == (["open"] if fires else [])
        if fires:
            assert (made[0].severity, made[0].service) == ("medium", "meal")
            assert made[0].at == local(zone, day, 11)

    @pytest.mark.parametrize(
        "activity",
        [
            lambda ts: motion(ts, "kitchen"),
            lambda ts: door(ts, "fridge", True),
            lambda ts: stove(ts, True),
        ],
    )
    @pytest.mark.parametrize(("hour", "minute"), [(0, 0), (10, 59)])
    def test_kitchen_activity_before_eleven_means_nothing(
        self, activity: Any, hour: int, minute: int
    ) -> None:
        day = (2026, 11, 23)
        made = run(
            self.det,
            context(),
            [
                local("Asia/Shanghai", day, 0),
                activity(local("Asia/Shanghai", day, hour, minute)),
                local("Asia/Shanghai", day, 11),
            ],
        )
        assert made == []

    def test_yesterdays_kitchen_activity_does_not_count(self) -> None:
        made = run(
            self.det,
            context(),
            [
                motion(local("Asia/Shanghai", (2026, 11, 22), 23, 59), "kitchen"),
                local("Asia/Shanghai", (2026, 11, 23), 11),
            ],
        )
        assert actions(made) == ["open"]

    def test_other_rooms_do_not_count(self) -> None:
        day = (2026, 11, 23)
        made = run(
            self.det,
            context(),
            [
                local("Asia/Shanghai", day, 0),
                motion(local("Asia/Shanghai", day, 8), "living"),
                door(local("Asia/Shanghai", day, 8), "front"),
                local("Asia/Shanghai", day, 11),
            ],
        )
        assert actions(made) == ["open"]

    def test_once_per_day_and_later_kitchen_activity_cancels(self) -> None:
        zone = "Asia/Shanghai"
        day, next_day = (2026, 11, 23), (2026, 11, 24)
        made = run(
            self.det,
            context(zone),
            [
                local(zone, day, 0),
                local(zone, day, 11),
                local(zone, day, 11, 30),
                motion(local(zone, day, 12), "kitchen"),
                motion(local(zone, day, 12, 30), "kitchen"),
                local(zone, day, 13),
                local(zone, next_day, 11),
            ],
        )
        assert actions(made) == ["open", "cancel", "open"]
        assert len({d.detection_id for d in made}) == 3

    @pytest.mark.parametrize(
        ("day", "due_utc"),
        [
            ((2026, 3, 28), datetime(2026, 3, 28, 11, tzinfo=UTC)),
            ((2026, 3, 29), datetime(2026, 3, 29, 10, tzinfo=UTC)),
        ],
    )
    def test_local_hours_follow_the_zone(
        self, day: tuple[int, int, int], due_utc: datetime
    ) -> None:
        home = context("Europe/London")
        midnight = local("Europe/London", day, 0)
        assert run(self.det, home, [midnight, due_utc - SEC]) == []
        assert actions(run(self.det, home, [midnight, due_utc])) == ["open"]

    @pytest.mark.parametrize(("hour", "minute"), [(0, 1), (8, 0), (15, 0)])
    def test_a_day_not_watched_from_midnight_is_not_judged(self, hour: int, minute: int) -> None:
        day = (2026, 11, 23)
        first = local("Asia/Shanghai", day, hour, minute)
        made = run(self.det, context(), [first, local("Asia/Shanghai", day, 16)])
        assert made == []

    def test_away_pauses(self) -> None:
        assert run(self.det, context(away=True), [local("Asia/Shanghai", (2026, 11, 23), 12)]) == []


class TestStoveUnattended:
    det = stove_unattended.DETECTOR

    @pytest.mark.parametrize("zone", ZONES)
    @pytest.mark.parametrize(("after", "fires"), [(29 * MIN, False), (30 * MIN, True)])
    def test_on_without_kitchen_motion(self, zone: str, after: timedelta, fires: bool) -> None:
        on = local(zone, (2026, 11, 23), 17)
        steps: list[Step] = [stove(on, True), stove(on + MIN, True), on + after]
        made = run(self.det, context(zone), steps)
        assert actions(made) == (["open"] if fires else [])
        if fires:
            assert (made[0].severity, made[0].service) == ("critical", "housekeeping")
            assert made[0].evidence[0].ts == on

    def test_kitchen_motion_restarts_the_thirty_minutes(self) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        steps: list[Step] = [stove(on, True), motion(on + 20 * MIN, "kitchen")]
        assert run(self.det, context(), [*steps, on + 49 * MIN]) == []
        made = run(self.det, context(), [*steps, on + 50 * MIN])
        assert [d.at for d in made] == [on + 50 * MIN]

    def test_motion_elsewhere_does_not_count(self) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        made = run(
            self.det, context(), [stove(on, True), motion(on + 20 * MIN, "living"), on + 30 * MIN]
        )
        assert actions(made) == ["open"]

    @pytest.mark.parametrize(
        "clears",
        [lambda ts: stove(ts, False), lambda ts: motion(ts, "kitchen")],
    )
    def test_off_or_kitchen_motion_cancels(self, clears: Any) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        made = run(self.det, context(), [stove(on, True), on + 30 * MIN, clears(on + 35 * MIN)])
        assert actions(made) == ["open", "cancel"]

    def test_off_before_thirty_minutes_means_nothing(self) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        made = run(
            self.det, context(), [stove(on, True), stove(on + 29 * MIN, False), on + 60 * MIN]
        )
        assert made == []

    def test_stove_known_by_registry_appliance(self) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        plug = reading(on, "power", {"appliance": "hob", "watts": 900.0, "on": True}, "plug_1")
        assert actions(run(self.det, context(), [plug, on + 30 * MIN])) == ["open"]

    def test_other_appliances_are_ignored(self) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        kettle = reading(
            on, "power", {"appliance": "kettle", "watts": 2000.0, "on": True}, "plug_2"
        )
        assert run(self.det, context(), [kettle, on + 60 * MIN]) == []

    def test_away_pauses(self) -> None:
        on = local("Asia/Shanghai", (2026, 11, 23), 17)
        assert run(self.det, context(away=True), [stove(on, True), on + 60 * MIN]) == []


@pytest.mark.parametrize(
    ("detector", "steps"),
    [
        (
            inactivity.DETECTOR,
            lambda t: [motion(t), t + 180 * MIN, motion(t + 200 * MIN, "kitchen")],
        ),
        (
            night_wandering.DETECTOR,
            lambda t: [door(t + 14 * 60 * MIN), t + 14 * 60 * MIN + 10 * MIN],
        ),
        (bed_exit.DETECTOR, lambda t: [bed(t + 14 * 60 * MIN, False), t + 15 * 60 * MIN]),
        (bathroom_long.DETECTOR, lambda t: [motion(t, "bathroom"), t + 50 * MIN]),
        (no_meal.DETECTOR, lambda t: [t - 9 * 60 * MIN, t + 2 * 60 * MIN]),
        (
            stove_unattended.DETECTOR,
            lambda t: [stove(t, True), t + 30 * MIN, stove(t + 40 * MIN, False)],
        ),
    ],
)
def test_same_input_twice_gives_the_same_detection_ids(detector: Detector[Any], steps: Any) -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)
    first, second = run(detector, context(), steps(t)), run(detector, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
