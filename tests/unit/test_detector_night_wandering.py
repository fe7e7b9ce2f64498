"""`night_wandering`: the front door at night with no indoor motion after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processors.detectors import night_wandering
from tests.unit.activity_steps import (
    MIN,
    SEC,
    ZONES,
    Step,
    actions,
    context,
    door,
    local,
    motion,
    run,
)


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


def test_same_input_twice_gives_the_same_detection_ids() -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)

    def steps(t: datetime) -> list[Step]:  # made afresh each time (new seq numbers)
        return [door(t + 14 * 60 * MIN), t + 14 * 60 * MIN + 10 * MIN]

    first = run(night_wandering.DETECTOR, context(), steps(t))
    second = run(night_wandering.DETECTOR, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
