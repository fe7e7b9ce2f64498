"""`sos` and `fall`: open at once, and what the resident's cancel does to each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from devices.events import Reading, StatusChange
from devices.types.fall import FallData, FallTelemetry
from devices.types.sos import SosData, SosTelemetry
from processors.detection import Detection
from processors.detector import HomeContext
from processors.detectors import fall, sos
from processors.rules import HomeRules

HOME = "home-1"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONTEXT = HomeContext(rules=HomeRules(home_id=HOME))
AWAY = HomeContext(rules=HomeRules(home_id=HOME, away=True))


def press(action: Literal["press", "cancel"], seconds: float = 0, seq: int = 1) -> Reading:
    ts = T0 + timedelta(seconds=seconds)
    return Reading(
        home_id=HOME,
        device_id="button-1",
        received_at=ts,
        telemetry=SosTelemetry(type="sos", ts=ts, seq=seq, data=SosData(action=action)),
    )


def fall_event(confidence: float = 0.9, seconds: float = 0, seq: int = 1) -> Reading:
    ts = T0 + timedelta(seconds=seconds)
    return Reading(
        home_id=HOME,
        device_id="radar-1",
        received_at=ts,
        telemetry=FallTelemetry(type="fall", ts=ts, seq=seq, data=FallData(confidence=confidence)),
    )


def run_sos(events: list[Reading], home: HomeContext = CONTEXT) -> list[Detection]:
    state, out = sos.DETECTOR.initial(), []
    for event in events:
        state, detections = sos.DETECTOR.on_event(state, event, home)
        out.extend(detections)
    return out


def run_fall(events: list[Reading], home: HomeContext = CONTEXT) -> list[Detection]:
    state, out = fall.DETECTOR.initial(), []
    for event in events:
        state, detections = fall.DETECTOR.on_event(state, event, home)
        out.extend(detections)
    return out


class TestSos:
    def test_press_opens_critical_medical_at_once(self) -> None:
        (detection,) = run_sos([press("press")])
        assert (detection.kind, detection.action, detection.severity, detection.service) == (
            "sos",
            "open",
            "critical",
            "medical",
        )
        assert detection.at == T0

    def test_evidence_is_the_press(self) -> None:
        (detection,) = run_sos([press("press", seq=42)])
        (evidence,) = detection.evidence
        assert (evidence.device_id, evidence.type, evidence.ts, evidence.seq, evidence.values) == (
            "button-1",
            "sos",
            T0,
            42,
            {"action": "press"},
        )

    def test_later_cancel_is_a_cancel_detection(self) -> None:
        detections = run_sos([press("press"), press("cancel", 30, seq=2)])
        assert [(d.kind, d.action) for d in detections] == [("sos", "open"), ("sos", "cancel")]

    def test_cancel_taken_before_the_press_is_ignored(self) -> None:
        detections = run_sos([press("press", 30, seq=2), press("cancel", 0, seq=1)])
        assert [d.action for d in detections] == ["open"]

    def test_away_does_not_pause_sos(self) -> None:
        assert len(run_sos([press("press")], AWAY)) == 1

    def test_same_input_gives_the_same_detection_id(self) -> None:
        assert run_sos([press("press")]) == run_sos([press("press")])

    @pytest.mark.parametrize(
        "event",
        [fall_event(), StatusChange(home_id=HOME, device_id="button-1", status="offline", at=T0)],
    )
    def test_other_events_are_ignored(self, event: Reading | StatusChange) -> None:
        state = sos.DETECTOR.initial()
        assert sos.DETECTOR.on_event(state, event, CONTEXT) == (state, [])

    def test_ticks_do_nothing(self) -> None:
        state = sos.DETECTOR.initial()
        assert sos.DETECTOR.on_tick(state, T0, CONTEXT) == (state, [])


class TestFall:
    @pytest.mark.parametrize(("confidence", "opens"), [(0.59, False), (0.6, True), (0.95, True)])
    def test_confidence_threshold(self, confidence: float, opens: bool) -> None:
        assert bool(run_fall([fall_event(confidence)])) is opens

    def test_confident_fall_opens_critical_medical_at_once(self) -> None:
        (detection,) = run_fall([fall_event(0.8)])
        assert (detection.kind, detection.action, detection.severity, detection.service) == (
            "fall",
            "open",
            "critical",
            "medical",
        )
        assert detection.at == T0
        assert detection.evidence[0].values == {"confidence": 0.8}

    def test_home_threshold_is_used(self) -> None:
        strict = HomeContext(rules=HomeRules(home_id=HOME, fall_min_confidence=0.9))
        assert run_fall([fall_event(0.8)], strict) == []

    @pytest.mark.parametrize(
        ("after_s", "cancels"), [(0, True), (59, True), (60, True), (61, False), (300, False)]
    )
    def test_sos_cancel_within_the_window_cancels(self, after_s: float, cancels: bool) -> None:
        detections = run_fall([fall_event(), press("cancel", after_s, seq=5)])
        expected = ["open", "cancel"] if cancels else ["open"]
        assert [d.action for d in detections] == expected

    def test_cancel_carries_the_fall_and_the_cancel_as_evidence(self) -> None:
        detections = run_fall([fall_event(), press("cancel", 20, seq=5)])
        cancel = detections[1]
        assert (cancel.kind, cancel.at) == ("fall", T0 + timedelta(seconds=20))
        assert [e.type for e in cancel.evidence] == ["fall", "sos"]

    def test_cancel_before_the_fall_does_not_cancel_it(self) -> None:
        detections = run_fall([press("cancel", 0, seq=5), fall_event(seconds=10)])
        assert [d.action for d in detections] == ["open"]

    def test_cancel_arriving_before_its_fall_still_cancels(self) -> None:
        detections = run_fall([press("cancel", 30, seq=5), fall_event(seconds=0)])
        assert [d.action for d in detections] == ["open", "cancel"]

    def test_a_cancel_is_used_once(self) -> None:
        detections = run_fall(
            [fall_event(), press("cancel", 10, seq=5), press("cancel", 20, seq=6)]
        )
        assert [d.action for d in detections] == ["open", "cancel"]

    def test_sos_press_does_not_cancel(self) -> None:
        detections = run_fall([fall_event(), press("press", 10, seq=5)])
        assert [d.action for d in detections] == ["open"]

    def test_below_threshold_fall_gives_a_cancel_nothing_to_cancel(self) -> None:
        assert run_fall([fall_event(0.3), press("cancel", 10, seq=5)]) == []

    def test_window_follows_the_latest_fall(self) -> None:
        detections = run_fall(
            [fall_event(seconds=0), fall_event(seconds=40, seq=2), press("cancel", 90, seq=5)]
        )
        assert [d.action for d in detections] == ["open", "open", "cancel"]

    def test_away_does_not_pause_fall(self) -> None:
        assert len(run_fall([fall_event()], AWAY)) == 1

    def test_same_input_gives_the_same_detection_id(self) -> None:
        events = [fall_event(), press("cancel", 20, seq=5)]
        first, second = run_fall(events), run_fall(events)
        assert [d.detection_id for d in first] == [d.detection_id for d in second]
        assert first[0].detection_id != first[1].detection_id

    def test_state_round_trips_through_json(self) -> None:
        state, _ = fall.DETECTOR.on_event(fall.DETECTOR.initial(), fall_event(), CONTEXT)
        assert fall.FallState.model_validate_json(state.model_dump_json()) == state
