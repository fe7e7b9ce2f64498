"""`bed_exit`: the bed left at night and not back within 30 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from processors.detectors import bed_exit
from tests.unit.activity_steps import (
    MIN,
    ZONES,
    Step,
    actions,
    bed,
    context,
    local,
    run,
)


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


def test_same_input_twice_gives_the_same_detection_ids() -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)

    def steps(t: datetime) -> list[Step]:  # made afresh each time (new seq numbers)
        return [bed(t + 14 * 60 * MIN, False), t + 15 * 60 * MIN]

    first = run(bed_exit.DETECTOR, context(), steps(t))
    second = run(bed_exit.DETECTOR, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
