"""The detection bench: scoring against ground truth, and its plan of incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from anxin.bench.detect_plan import (
    DetectOptions,
    context_for,
    minutes,
    plan_injections,
    to_gateway_event,
)
from anxin.bench.scoring import EARLY, condition_end, max_delay, quantile, score
from devices.events import Reading, StatusChange
from processors.detection import Detection, detection_id
from simulators.events import SimEvent, StatusEvent
from simulators.fleet import build_fleet
from simulators.injections import KINDS
from simulators.stream import generate
from simulators.truth import TruthRecord

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def truth(kind: str, at: datetime, home: str = "h1", **details: Any) -> TruthRecord:
    return TruthRecord(
        kind=kind, home_id=home, start=at, injection=f"{kind}@{home}", details=details
    )


def det(kind: str, at: datetime, home: str = "h1", action: str = "open") -> Detection:
    return Detection(
        detection_id=detection_id(home, kind, action, at.isoformat()),
        home_id=home,
        kind=kind,
        action=action,
        severity="high",
        service="wellbeing",
        at=at,
        summary="test",
    )


class TestQuantile:
    @pytest.mark.parametrize(
        ("values", "q", "expected"),
        [([], 0.5, None), ([3.0], 0.99, 3.0), ([1.0, 3.0], 0.5, 2.0), ([0.0, 10.0], 0.99, 9.9)],
    )
    def test_interpolates_linearly(
        self, values: list[float], q: float, expected: float | None
    ) -> None:
        result = quantile(values, q)
        assert result == expected if expected is None else result == pytest.approx(expected)

    def test_refuses_a_quantile_outside_0_1(self) -> None:
        with pytest.raises(ValueError, match=r"0\.\.1"):
            quantile([1.0], 1.5)


class TestMatching:
    def test_a_detection_in_the_window_finds_the_record_with_its_delay(self) -> None:
        result = score([det("fall", T0 + 2 * MIN)], [truth("fall", T0)], home_days=1)
        fall = result.kinds["fall"]
        assert (fall.injected, fall.detected, fall.recall, fall.precision) == (1, 1, 1.0, 1.0)
        assert fall.delays_s() == [120.0]

    def test_a_detection_slightly_before_the_start_still_counts(self) -> None:
        result = score([det("sos", T0 - EARLY)], [truth("sos", T0)], home_days=1)
        assert result.kinds["sos"].detected == 1

    def test_a_late_detection_misses_the_record_and_is_a_false_alarm(self) -> None:
        late = T0 + max_delay("fall") + MIN
        result = score([det("fall", late)], [truth("fall", T0)], home_days=2)
        fall = result.kinds["fall"]
        assert (fall.detected, len(fall.missed), len(fall.false_alarms)) == (0, 1, 1)
        assert fall.precision == 0.0
        assert result.false_alarms_per_home_day == 0.5

    def test_the_wrong_home_does_not_count(self) -> None:
        result = score([det("leak", T0, home="h2")], [truth("leak", T0)], home_days=1)
        assert result.kinds["leak"].detected == 0
        assert len(result.kinds["leak"].false_alarms) == 1

    def test_repeats_within_the_window_are_the_same_alert(self) -> None:
        found = [det("stove_unattended", T0 + n * MIN) for n in range(5)]
        result = score(found, [truth("stove_unattended", T0)], home_days=1)
        stove = result.kinds["stove_unattended"]
        assert (stove.detected, len(stove.false_alarms), stove.opens) == (1, 0, 5)

    def test_repeated_false_opens_count_once_until_an_hour_apart(self) -> None:
        found = [det("bathroom_long", T0 + n * 10 * MIN) for n in range(6)]
        found.append(det("bathroom_long", T0 + 3 * 60 * MIN))
        result = score(found, [], home_days=1)
        assert len(result.kinds["bathroom_long"].false_alarms) == 2
        assert result.kinds["bathroom_long"].recall is None

    def test_cancels_and_duplicate_ids_are_ignored(self) -> None:
        opened = det("fall", T0)
        found = [opened, opened, det("fall", T0 + MIN, action="cancel")]
        result = score(found, [truth("fall", T0)], home_days=1)
        assert (result.kinds["fall"].opens, result.kinds["fall"].detected) == (1, 1)

    def test_detections_outside_the_scored_span_are_dropped(self) -> None:
        result = score([det("leak", T0 - 60 * MIN)], [], home_days=1, since=T0)
        assert result.false_alarms == 0

    def test_a_kind_never_detected_has_zero_recall(self) -> None:
        result = score([], [truth("smoke", T0), truth("smoke", T0 + 60 * MIN)], home_days=1)
        assert (result.kinds["smoke"].recall, result.kinds["smoke"].precision) == (0.0, None)

    def test_the_delay_quantiles_come_from_found_records(self) -> None:
        records = [truth("leak", T0), truth("leak", T0 + 60 * MIN)]
        found = [det("leak", T0 + 10 * MIN // 10), det("leak", T0 + 63 * MIN)]
        leak = score(found, records, home_days=1).kinds["leak"]
        assert leak.delay_s(0.5) == pytest.approx(120.0)


class TestBaseline:
    def test_unusual_inactivity_is_scored_against_inactivity_and_reports_its_lead(self) -> None:
        record = truth("inactivity", T0, last_activity_at=(T0 - 180 * MIN).isoformat())
        found = [det("inactivity", T0 + MIN), det("unusual_inactivity", T0 - 60 * MIN)]
        result = score(found, [record], home_days=1)
        assert result.baseline is not None
        assert result.baseline.detected == 1
        assert result.baseline.delays_s() == [-3600.0]
        assert result.baseline_lead_s == [3660.0]
        assert "unusual_inactivity" not in result.kinds

    def test_its_false_alarms_are_kept_out_of_the_overall_figure(self) -> None:
        result = score([det("unusual_inactivity", T0)], [], home_days=4)
        assert result.false_alarms == 0
        assert result.baseline_false_alarms_per_home_day == 0.25

    def test_an_open_before_the_last_activity_does_not_count(self) -> None:
        record = truth("inactivity", T0, last_activity_at=(T0 - 180 * MIN).isoformat())
        result = score([det("unusual_inactivity", T0 - 200 * MIN)], [record], home_days=1)
        assert result.baseline is not None
        assert (result.baseline.detected, len(result.baseline.false_alarms)) == (0, 1)

    def test_no_baseline_detections_means_no_baseline_score(self) -> None:
        assert score([], [truth("inactivity", T0)], home_days=1).baseline is None

    def test_a_running_baseline_that_never_opened_has_zero_recall(self) -> None:
        result = score([], [truth("inactivity", T0)], home_days=1, baseline=True)
        assert result.baseline is not None
        assert result.baseline.recall == 0.0


class TestConditionEnd:
    def test_reopens_while_the_condition_lasts_are_not_false_alarms(self) -> None:
        record = truth("leak", T0, cleared_at=(T0 + 150 * MIN).isoformat())
        found = [det("leak", T0), det("leak", T0 + 120 * MIN), det("leak", T0 + 200 * MIN)]
        leak = score(found, [record], home_days=1).kinds["leak"]
        assert (leak.detected, len(leak.false_alarms)) == (1, 1)

    @pytest.mark.parametrize(
        ("record", "expected"),
        [
            (truth("fall", T0), T0 + max_delay("fall")),
            (truth("news2", T0, onset_at=(T0 - 30 * MIN).isoformat()), T0 + 390 * MIN),
            (truth("bed_exit", T0, back_at=None), T0 + max_delay("bed_exit")),
            (truth("inactivity", T0, resumed_at=(T0 + 90 * MIN).isoformat()), T0 + 90 * MIN),
        ],
    )
    def test_is_read_from_the_truth_details(self, record: TruthRecord, expected: datetime) -> None:
        assert condition_end(record) == expected

    def test_an_offline_device_stays_offline(self) -> None:
        assert condition_end(truth("device_offline", T0)).year == 9999


class TestSeenAt:
    def test_the_delay_runs_to_when_the_engine_emitted_the_detection(self) -> None:
        opened = det("bed_exit", T0)
        result = score(
            [opened],
            [truth("bed_exit", T0)],
            home_days=1,
            seen_at={opened.detection_id: T0 + 40 * timedelta(seconds=1)},
        )
        bed = result.kinds["bed_exit"]
        assert (bed.delay_s(0.5), bed.stamped_delay_s(0.5)) == (40.0, 0.0)


class TestBenchPlan:
    def test_every_home_gets_every_kind_once_in_the_scored_days(self) -> None:
        options = DetectOptions(homes=3, days=2, learn_days=1)
        fleet = build_fleet(options.homes, seed=options.seed)
        start = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
        planned = plan_injections(fleet, options, start)
        assert len(planned) == 3 * len(KINDS)
        for home in fleet:
            mine = [i for i in planned if i.home_id == home.home_id]
            assert sorted(i.kind for i in mine) == sorted(KINDS)
            assert all(timedelta(days=1) <= i.offset < timedelta(days=3) for i in mine)
            assert max(mine, key=lambda i: i.offset).kind == "device_offline"

    def test_the_plan_is_seeded(self) -> None:
        options = DetectOptions(homes=2, days=3)
        fleet = build_fleet(2)
        start = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
        assert plan_injections(fleet, options, start) == plan_injections(fleet, options, start)

    def test_the_stream_is_cut_at_whole_minutes(self) -> None:
        items = [
            StatusEvent(T0 + timedelta(seconds=s), "h1", "d1", "online") for s in (5, 59, 61, 200)
        ]
        cuts = [(edge - T0, len(chunk)) for edge, chunk in minutes(iter(items))]
        assert cuts == [(MIN, 2), (2 * MIN, 1), (3 * MIN, 0), (4 * MIN, 1)]

    def test_simulator_messages_become_gateway_events(self) -> None:
        home = build_fleet(1)[0]
        context = context_for(home, "Asia/Shanghai")
        item = next(i for i in generate(home, T0, T0 + 60 * MIN) if isinstance(i, SimEvent))
        reading = to_gateway_event(item, context.devices)
        assert isinstance(reading, Reading)
        assert reading.room == context.devices[item.device_id].room
        assert reading.telemetry.ts == item.ts
        status = to_gateway_event(StatusEvent(T0, home.home_id, item.device_id, "offline"), {})
        assert isinstance(status, StatusChange)
        assert status.at == T0
