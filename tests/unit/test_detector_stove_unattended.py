"""`stove_unattended`: the stove on for 30 minutes with nobody in the kitchen."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from processors.detectors import stove_unattended
from tests.unit.activity_steps import (
    MIN,
    ZONES,
    Step,
    actions,
    context,
    local,
    motion,
    reading,
    run,
    stove,
)


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


def test_same_input_twice_gives_the_same_detection_ids() -> None:
    t = local("Asia/Shanghai", (2026, 11, 23), 9)

    def steps(t: datetime) -> list[Step]:  # made afresh each time (new seq numbers)
        return [stove(t, True), t + 30 * MIN, stove(t + 40 * MIN, False)]

    first = run(stove_unattended.DETECTOR, context(), steps(t))
    second = run(stove_unattended.DETECTOR, context(), steps(t))
    assert first
    assert [d.detection_id for d in first] == [d.detection_id for d in second]
