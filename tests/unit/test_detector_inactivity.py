"""`inactivity`: three hours of daytime silence, by home-local hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from processors.detectors import inactivity
from tests.unit.activity_steps import (
    DAYS,
    MIN,
    SEC,
    ZONES,
    Step,
    actions,
    bed,
    context,
    door,
    local,
    motion,
    motion_clear,
    run,
)


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


def test_same_input_twice_gives_the_same_detection_ids() -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)

    def steps(t: datetime) -> list[Step]:  # made afresh each time (new seq numbers)
        return [motion(t), t + 180 * MIN, motion(t + 200 * MIN, "kitchen")]

    first = run(inactivity.DETECTOR, context(), steps(t))
    second = run(inactivity.DETECTOR, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
