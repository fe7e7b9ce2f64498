"""`bathroom_long`: a stay in the bathroom over 45 minutes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from processors.detectors import bathroom_long
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


def test_same_input_twice_gives_the_same_detection_ids() -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)

    def steps(t: datetime) -> list[Step]:  # made afresh each time (new seq numbers)
        return [motion(t, "bathroom"), t + 50 * MIN]

    first = run(bathroom_long.DETECTOR, context(), steps(t))
    second = run(bathroom_long.DETECTOR, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
