"""`no_meal`: no kitchen activity by 11:00 home-local."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from processors.detectors import no_meal
from tests.unit.activity_steps import (
    DAYS,
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
    stove,
)


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


def test_same_input_twice_gives_the_same_detection_ids() -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)

    def steps(t: datetime) -> list[Step]:  # made afresh each time (new seq numbers)
        return [t - 9 * 60 * MIN, t + 2 * 60 * MIN]

    first = run(no_meal.DETECTOR, context(), steps(t))
    second = run(no_meal.DETECTOR, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
