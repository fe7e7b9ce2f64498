"""NEWS2: the Royal College of Physicians 2017 chart, band edge by band edge, and the detector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.events import Reading
from devices.types.vitals import VitalsData, VitalsTelemetry
from processors.detection import Detection
from processors.detector import HomeContext
from processors.detectors import news2
from processors.detectors.news2 import DETECTOR, News2State
from processors.rules import HomeRules

HOME = "home-1"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONTEXT = HomeContext(rules=HomeRules(home_id=HOME))
SCALE2 = HomeContext(rules=HomeRules(home_id=HOME, spo2_scale=2))

# A resident scoring 0 on every parameter.
HEALTHY: dict[str, Any] = {
    "resp_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 125,
    "heart_rate": 72,
    "consciousness": "A",
    "temperature": 36.8,
}


def vitals(
    at: timedelta = timedelta(0), seq: int = 1, device: str = "watch-1", **data: Any
) -> Reading:
    ts = T0 + at
    return Reading(
        home_id=HOME,
        device_id=device,
        received_at=ts,
        telemetry=VitalsTelemetry(type="vitals", ts=ts, seq=seq, data=VitalsData(**data)),
    )


def feed(
    readings: list[Reading], home: HomeContext = CONTEXT
) -> tuple[News2State, list[Detection]]:
    state = DETECTOR.initial()
    out: list[Detection] = []
    for reading in readings:
        state, detections = DETECTOR.on_event(state, reading, home)
        out.extend(detections)
    return state, out


class TestChart:
    @pytest.mark.parametrize(
        ("value", "points"),
        [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3)],
    )
    def test_respiration_rate_bands(self, value: float, points: int) -> None:
        assert news2.score_resp_rate(value) == points

    @pytest.mark.parametrize(
        ("value", "points"), [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
    )
    def test_spo2_scale_1_bands(self, value: float, points: int) -> None:
        assert news2.score_spo2(value, scale=1, on_oxygen=False) == points

    def test_spo2_scale_1_ignores_oxygen(self) -> None:
        assert news2.score_spo2(97, scale=1, on_oxygen=True) == 0

    @pytest.mark.parametrize(
        ("value", "on_oxygen", "points"),
        [
            (83, False, 3),
            (84, False, 2),
            (85, False, 2),
            (86, False, 1),
            (87, False, 1),
            (88, False, 0),
            (92, False, 0),
            (93, False, 0),
            (100, False, 0),
            (83, True, 3),
            (88, True, 0),
            (92, True, 0),
            (93, True, 1),
            (94, True, 1),
            (95, True, 2),
            (96, True, 2),
            (97, True, 3),
            (100, True, 3),
        ],
    )
    def test_spo2_scale_2_bands(self, value: float, on_oxygen: bool, points: int) -> None:
        assert news2.score_spo2(value, scale=2, on_oxygen=on_oxygen) == points

    @pytest.mark.parametrize(("on_oxygen", "points"), [(False, 0), (True, 2)])
    def test_air_or_oxygen(self, on_oxygen: bool, points: int) -> None:
        assert news2.score_on_oxygen(on_oxygen) == points

    @pytest.mark.parametrize(
        ("value", "points"),
        [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
    )
    def test_systolic_bp_bands(self, value: float, points: int) -> None:
        assert news2.score_systolic_bp(value) == points

    @pytest.mark.parametrize(
        ("value", "points"),
        [
            (40, 3),
            (41, 1),
            (50, 1),
            (51, 0),
            (90, 0),
            (91, 1),
            (110, 1),
            (111, 2),
            (130, 2),
            (131, 3),
        ],
    )
    def test_pulse_bands(self, value: float, points: int) -> None:
        assert news2.score_heart_rate(value) == points

    @pytest.mark.parametrize(
        ("value", "points"),
        [(35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2)],
    )
    def test_temperature_bands(self, value: float, points: int) -> None:
        assert news2.score_temperature(value) == points

    @pytest.mark.parametrize(
        ("level", "points"), [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)]
    )
    def test_consciousness(self, level: str, points: int) -> None:
        assert news2.score_consciousness(level) == points

    @pytest.mark.parametrize(("value", "points"), [(8.4, 3), (8.5, 1), (20.4, 0), (20.5, 2)])
    def test_fractional_values_are_charted_as_whole_numbers_halves_up(
        self, value: float, points: int
    ) -> None:
        assert news2.score_resp_rate(value) == points

    @pytest.mark.parametrize(("value", "points"), [(35.04, 3), (35.05, 1), (38.04, 0), (38.05, 1)])
    def test_temperature_is_charted_to_a_tenth(self, value: float, points: int) -> None:
        assert news2.score_temperature(value) == points


class TestAggregateAndBands:
    @pytest.mark.parametrize(
        ("changes", "aggregate", "band"),
        [
            ({}, 0, "none"),
            ({"heart_rate": 95, "temperature": 38.5}, 2, "none"),
            ({"resp_rate": 22, "spo2": 94, "heart_rate": 95}, 4, "none"),
            ({"resp_rate": 22, "spo2": 94, "heart_rate": 115}, 5, "high"),
            ({"resp_rate": 22, "spo2": 93, "heart_rate": 115}, 6, "high"),
            ({"resp_rate": 22, "spo2": 93, "heart_rate": 115, "temperature": 38.5}, 7, "critical"),
            ({"resp_rate": 26}, 3, "medium"),
            ({"consciousness": "C"}, 3, "medium"),
            ({"resp_rate": 26, "heart_rate": 95}, 4, "medium"),
            ({"resp_rate": 26, "heart_rate": 115}, 5, "high"),
            ({"on_oxygen": True}, 2, "none"),
            ({"on_oxygen": True, "spo2": 94, "heart_rate": 115}, 5, "high"),
        ],
        ids=[
            "healthy-0",
            "healthy-2",
            "aggregate-4",
            "aggregate-5",
            "aggregate-6",
            "aggregate-7",
            "single-3-resp",
            "single-3-confusion",
            "single-3-aggregate-4",
            "single-3-aggregate-5-is-high",
            "oxygen-plus-2",
            "oxygen-tips-to-high",
        ],
    )
    def test_aggregate_and_band(self, changes: dict[str, Any], aggregate: int, band: str) -> None:
        state, _ = feed([vitals(**{**HEALTHY, **changes})])
        assessment = news2.assess(state.latest, at=T0, max_age=timedelta(hours=1), scale=1)
        assert (assessment.aggregate, assessment.band) == (aggregate, band)

    @pytest.mark.parametrize(
        ("changes", "severity"),
        [
            ({"resp_rate": 26}, "medium"),
            ({"resp_rate": 22, "spo2": 94, "heart_rate": 115}, "high"),
            ({"resp_rate": 22, "spo2": 93, "heart_rate": 115, "temperature": 38.5}, "critical"),
        ],
    )
    def test_band_sets_severity_and_medical_service(
        self, changes: dict[str, Any], severity: str
    ) -> None:
        _, detections = feed([vitals(**{**HEALTHY, **changes})])
        assert [(d.action, d.severity, d.service) for d in detections] == [
            ("open", severity, "medical")
        ]

    @pytest.mark.parametrize(
        "changes",
        [{}, {"heart_rate": 95}, {"heart_rate": 95, "temperature": 38.5}],
        ids=["0", "1", "2"],
    )
    def test_healthy_resident_raises_nothing(self, changes: dict[str, Any]) -> None:
        assert feed([vitals(**{**HEALTHY, **changes})])[1] == []

    def test_scale_2_resident_on_oxygen_at_target_raises_nothing_more_than_oxygen(self) -> None:
        reading = vitals(**{**HEALTHY, "spo2": 90, "on_oxygen": True})
        assert feed([reading], SCALE2)[1] == []

    def test_scale_2_high_saturation_on_oxygen_scores_3(self) -> None:
        _, detections = feed([vitals(**{**HEALTHY, "spo2": 97, "on_oxygen": True})], SCALE2)
        assert detections[0].severity == "high"  # 3 for SpO2 + 2 for oxygen
        assert detections[0].details["score_spo2"] == 3


class TestFreshness:
    def test_parameter_61_minutes_old_is_not_scored_and_named_stale(self) -> None:
        state, _ = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=61), 2, heart_rate=72),
            ]
        )
        assessment = news2.assess(
            state.latest, at=T0 + timedelta(minutes=61), max_age=timedelta(hours=1), scale=1
        )
        assert list(assessment.used) == ["heart_rate"]
        assert assessment.stale == ("resp_rate",)

    def test_parameter_exactly_max_age_old_is_stale(self) -> None:
        state, _ = feed([vitals(timedelta(0), 1, resp_rate=26)])
        assessment = news2.assess(
            state.latest, at=T0 + timedelta(hours=1), max_age=timedelta(hours=1), scale=1
        )
        assert assessment.stale == ("resp_rate",)

    def test_parameter_59_minutes_old_is_scored(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=59), 2, consciousness="C"),
            ]
        )
        # resp 3 + consciousness 3 = 6: the band rises to high.
        assert [d.severity for d in detections] == ["medium", "high"]

    def test_stale_and_missing_parameters_are_named_in_the_alert(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, temperature=36.8),
                vitals(timedelta(minutes=61), 2, resp_rate=26, spo2=97),
            ]
        )
        (detection,) = detections
        assert detection.details["parameters_used"] == ["resp_rate", "spo2"]
        assert detection.details["parameters_stale"] == ["temperature"]
        assert detection.details["parameters_missing"] == [
            "on_oxygen",
            "systolic_bp",
            "heart_rate",
            "consciousness",
        ]
        assert "stale: temperature" in detection.summary
        assert "missing: on_oxygen, systolic_bp" in detection.summary

    def test_out_of_order_reading_does_not_replace_a_newer_one(self) -> None:
        state, detections = feed(
            [
                vitals(timedelta(minutes=10), 2, resp_rate=26),
                vitals(timedelta(minutes=0), 1, resp_rate=16),  # arrives late
            ]
        )
        assert state.latest["resp_rate"].value == 26
        assert [d.action for d in detections] == ["open"]

    def test_out_of_order_arrival_gives_the_same_state_as_in_order(self) -> None:
        first = vitals(timedelta(minutes=0), 1, resp_rate=26, heart_rate=80)
        second = vitals(timedelta(minutes=10), 2, resp_rate=16)
        assert feed([first, second])[0].latest == feed([second, first])[0].latest

    def test_evaluation_time_is_the_newest_reading_not_a_late_ones(self) -> None:
        # A late reading 2 h old is stale against the newest time seen, so it scores nothing.
        _, detections = feed(
            [
                vitals(timedelta(hours=2), 2, heart_rate=80),
                vitals(timedelta(0), 1, resp_rate=30),
            ]
        )
        assert detections == []


class TestEmission:
    def test_repeat_of_the_same_picture_emits_nothing(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=5), 2, resp_rate=27),
            ]
        )
        assert [d.action for d in detections] == ["open"]

    def test_band_rise_emits_again_with_higher_severity(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=5), 2, heart_rate=115),
            ]
        )
        assert [d.severity for d in detections] == ["medium", "high"]

    def test_new_scoring_parameter_in_the_same_band_emits_again(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=5), 2, heart_rate=95),  # 4: still medium
            ]
        )
        assert [(d.action, d.severity) for d in detections] == [
            ("open", "medium"),
            ("open", "medium"),
        ]

    def test_band_fall_that_still_triggers_emits_nothing(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26, heart_rate=115),  # high
                vitals(timedelta(minutes=5), 2, heart_rate=80),  # medium
            ]
        )
        assert [d.severity for d in detections] == ["high"]

    def test_recovery_below_every_trigger_cancels(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=5), 2, resp_rate=18),
            ]
        )
        assert [(d.action, d.severity) for d in detections] == [
            ("open", "medium"),
            ("cancel", "medium"),
        ]
        assert "below every trigger" in detections[1].summary

    def test_staleness_of_the_trigger_does_not_cancel(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=61), 2, heart_rate=80),
            ]
        )
        assert [d.action for d in detections] == ["open"]

    def test_fresh_recovery_after_staleness_cancels(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, resp_rate=26),
                vitals(timedelta(minutes=61), 2, heart_rate=80),
                vitals(timedelta(minutes=62), 3, resp_rate=16),
            ]
        )
        assert [d.action for d in detections] == ["open", "cancel"]

    def test_ticks_do_nothing(self) -> None:
        state, _ = feed([vitals(timedelta(0), 1, resp_rate=26)])
        assert DETECTOR.on_tick(state, T0 + timedelta(hours=5), CONTEXT) == (state, [])

    def test_evidence_names_each_reading_with_the_values_used(self) -> None:
        _, detections = feed(
            [
                vitals(timedelta(0), 1, device="watch-1", resp_rate=26),
                vitals(timedelta(minutes=1), 7, device="cuff-1", systolic_bp=120, diastolic_bp=80),
            ]
        )
        assert [(e.device_id, e.seq, e.values) for e in detections[0].evidence] == [
            ("watch-1", 1, {"resp_rate": 26})
        ]

    def test_same_input_gives_the_same_detection_id(self) -> None:
        readings = [vitals(timedelta(0), 1, resp_rate=26, heart_rate=115)]
        assert feed(readings)[1][0].detection_id == feed(readings)[1][0].detection_id

    def test_different_readings_give_different_ids(self) -> None:
        one = feed([vitals(timedelta(0), 1, resp_rate=26)])[1][0]
        two = feed([vitals(timedelta(0), 2, resp_rate=26)])[1][0]
        assert one.detection_id != two.detection_id

    def test_state_round_trips_through_json(self) -> None:
        state, _ = feed([vitals(**{**HEALTHY, "consciousness": "V", "on_oxygen": True})])
        assert News2State.model_validate_json(state.model_dump_json()) == state
