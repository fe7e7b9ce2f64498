from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
import pytest

from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import AlertKind, Detection, detection_id
from processors.detector import EVERY_EVENT, Detector, DetectorState, EventType, HomeContext
from processors.detectors.fall import DETECTOR as FALL
from processors.detectors.sos import DETECTOR as SOS
from processors.engine import LATE_BOUND, Engine, HomeState, step, tick
from processors.local import LocalProcessor, MemorySink
from processors.rules import HomeRules

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOME = HomeContext(rules=HomeRules(home_id="h1"))


def reading(payload: dict[str, Any], *, home_id: str = "h1", device_id: str = "d1") -> Reading:
    return Reading(
        home_id=home_id,
        device_id=device_id,
        received_at=T0,
        telemetry=TELEMETRY_ADAPTER.validate_python(payload),
    )


def sos(action: str, ts: datetime, seq: int = 1, home_id: str = "h1") -> Reading:
    payload = {"type": "sos", "ts": ts.isoformat(), "seq": seq, "data": {"action": action}}
    return reading(payload, home_id=home_id)


def fall(ts: datetime, seq: int = 1) -> Reading:
    payload = {"type": "fall", "ts": ts.isoformat(), "seq": seq, "data": {"confidence": 0.9}}
    return reading(payload, device_id="fall-1")


class CountState(DetectorState):
    events: int = 0
    ticks: int = 0
    last_tick: datetime | None = None


class Counter:
    """Counts what reaches it; raises a detection on every tick."""

    kind: ClassVar[AlertKind] = "device_offline"
    state_type: ClassVar[type[DetectorState]] = CountState
    reads: ClassVar[frozenset[EventType]] = EVERY_EVENT

    def initial(self) -> CountState:
        return CountState()

    def on_event(
        self, state: CountState, event: GatewayEvent, home: HomeContext
    ) -> tuple[CountState, list[Detection]]:
        return state.model_copy(update={"events": state.events + 1}), []

    def on_tick(
        self, state: CountState, now: datetime, home: HomeContext
    ) -> tuple[CountState, list[Detection]]:
        detection = Detection(
            detection_id=detection_id(home.rules.home_id, self.kind, "open", now),
            home_id=home.rules.home_id,
            kind=self.kind,
            severity="low",
            service="technical",
            at=now,
            summary="tick",
        )
        state = state.model_copy(update={"ticks": state.ticks + 1, "last_tick": now})
        return state, [detection]


COUNTER: Detector[CountState] = Counter()
DETECTORS = (SOS, FALL, COUNTER)


class TestStep:
    def test_every_detector_sees_every_event(self) -> None:
        state, detections = step(DETECTORS, HomeState(), sos("press", T0), HOME)
        assert [d.kind for d in detections] == ["sos"]
        assert isinstance(state.detectors["device_offline"], CountState)
        assert state.detectors["device_offline"].events == 1
        assert set(state.detectors) == {"sos", "fall", "device_offline"}

    def test_a_fall_is_cancelled_by_a_later_sos_cancel_through_the_state(self) -> None:
        state, opened = step(DETECTORS, HomeState(), fall(T0), HOME)
        state, cancelled = step(DETECTORS, state, sos("cancel", T0 + timedelta(seconds=20)), HOME)
        assert [(d.kind, d.action) for d in opened] == [("fall", "open")]
        assert ("fall", "cancel") in [(d.kind, d.action) for d in cancelled]

    def test_the_watermark_is_the_latest_reading_time(self) -> None:
        state, _ = step(DETECTORS, HomeState(), sos("press", T0), HOME)
        state, _ = step(DETECTORS, state, sos("press", T0 - timedelta(minutes=5), seq=2), HOME)
        assert state.watermark == T0

    def test_a_status_change_does_not_move_the_watermark(self) -> None:
        change = StatusChange(home_id="h1", device_id="d1", status="offline", at=T0)
        state, _ = step(DETECTORS, HomeState(), change, HOME)
        assert state.watermark is None
        assert state.detectors["device_offline"].events == 1  # type: ignore[attr-defined]

    def test_input_state_is_left_untouched(self) -> None:
        before = HomeState()
        step(DETECTORS, before, sos("press", T0), HOME)
        assert before == HomeState()


class TestLateness:
    @pytest.mark.parametrize(
        ("age", "applied"),
        [
            (timedelta(minutes=10), True),
            (LATE_BOUND, True),
            (LATE_BOUND + timedelta(seconds=1), False),
            (timedelta(days=3), False),
        ],
    )
    def test_a_reading_older_than_the_watermark_is_applied_within_the_bound(
        self, age: timedelta, applied: bool
    ) -> None:
        state, _ = step(DETECTORS, HomeState(), sos("press", T0, seq=1), HOME)
        late, detections = step(DETECTORS, state, sos("press", T0 - age, seq=2), HOME)
        assert bool(detections) is applied
        assert late.late_dropped == (0 if applied else 1)
        assert late.watermark == T0

    def test_a_dropped_reading_changes_no_detector_state(self) -> None:
        state, _ = step(DETECTORS, HomeState(), sos("press", T0), HOME)
        late, _ = step(DETECTORS, state, sos("press", T0 - timedelta(days=2), seq=2), HOME)
        assert late.detectors == state.detectors


class TestTick:
    def test_tick_runs_every_detector_with_the_given_time(self) -> None:
        now = T0 + timedelta(hours=1)
        state, detections = tick(DETECTORS, HomeState(), now, HOME)
        assert [d.kind for d in detections] == ["device_offline"]
        assert state.detectors["device_offline"].last_tick == now  # type: ignore[attr-defined]

    def test_tick_keeps_the_watermark(self) -> None:
        state, _ = step(DETECTORS, HomeState(), sos("press", T0), HOME)
        ticked, _ = tick(DETECTORS, state, T0 + timedelta(days=1), HOME)
        assert ticked.watermark == T0


class TestHomeStateJson:
    def test_state_survives_a_round_trip_through_json_bytes(self) -> None:
        state, _ = step(DETECTORS, HomeState(), fall(T0), HOME)
        state, _ = tick(DETECTORS, state, T0 + timedelta(seconds=1), HOME)
        restored = HomeState.from_json(orjson.loads(state.model_dump_json()), DETECTORS)
        assert restored == state
        assert type(restored.detectors["fall"]) is FALL.state_type

    def test_restored_state_still_cancels_a_fall(self) -> None:
        state, _ = step(DETECTORS, HomeState(), fall(T0), HOME)
        restored = HomeState.from_json(state.to_json(), DETECTORS)
        _, detections = step(DETECTORS, restored, sos("cancel", T0 + timedelta(seconds=5)), HOME)
        assert ("fall", "cancel") in [(d.kind, d.action) for d in detections]

    def test_the_state_of_a_detector_no_longer_run_is_dropped(self) -> None:
        state, _ = step(DETECTORS, HomeState(), sos("press", T0), HOME)  # reaches all three
        restored = HomeState.from_json(state.to_json(), (SOS,))
        assert set(restored.detectors) == {"sos"}


class TestEngine:
    def test_homes_are_kept_apart(self) -> None:
        engine = Engine(DETECTORS, lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
        engine.step_all([sos("press", T0, home_id="h1"), sos("press", T0, home_id="h2")])
        engine.step(sos("press", T0 + timedelta(minutes=1), seq=2, home_id="h1"))
        assert engine.state("h1").detectors["device_offline"].events == 2  # type: ignore[attr-defined]
        assert engine.state("h2").detectors["device_offline"].events == 1  # type: ignore[attr-defined]

    def test_tick_judges_every_known_home_with_its_own_context(self) -> None:
        engine = Engine(DETECTORS, lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
        engine.step_all([sos("press", T0, home_id="h1"), sos("press", T0, home_id="h2")])
        detections = engine.tick(T0 + timedelta(seconds=1))
        assert sorted(d.home_id for d in detections) == ["h1", "h2"]

    def test_late_drops_are_counted_over_homes(self) -> None:
        engine = Engine(DETECTORS, lambda home_id: HOME)
        engine.step(sos("press", T0))
        engine.step(sos("press", T0 - timedelta(days=2), seq=2))
        assert engine.late_dropped == 1


class TestLocalProcessor:
    async def test_events_from_the_queue_reach_the_sink_and_ticks_use_the_clock(self) -> None:
        queue: asyncio.Queue[GatewayEvent] = asyncio.Queue()
        sink = MemorySink()
        now = T0 + timedelta(minutes=5)
        processor = LocalProcessor(
            Engine(DETECTORS, lambda home_id: HOME), queue, sink, tick_s=0.01, clock=lambda: now
        )
        processor.start()
        await queue.put(sos("press", T0))
        for _ in range(200):
            if any(d.kind == "device_offline" for d in sink.detections):
                break
            await asyncio.sleep(0.01)
        await processor.stop()
        assert next(d.kind for d in sink.detections) == "sos"  # no home to tick before it
        assert {d.at for d in sink.detections if d.kind == "device_offline"} == {now}

    async def test_stop_judges_what_the_queue_still_holds(self) -> None:
        queue: asyncio.Queue[GatewayEvent] = asyncio.Queue()
        sink = MemorySink()
        processor = LocalProcessor(Engine(DETECTORS, lambda home_id: HOME), queue, sink)
        for seq in range(3):
            queue.put_nowait(sos("press", T0 + timedelta(seconds=seq), seq=seq + 1))
        processor.start()
        await processor.stop()
        assert processor.processed == 3
        assert [d.kind for d in sink.detections] == ["sos"] * 3

    async def test_a_reading_is_judged_between_slices_of_a_tick_round(self) -> None:
        """Ticking every home at once held readings up behind 5,000 homes' ticks."""
        queue: asyncio.Queue[GatewayEvent] = asyncio.Queue()

        class PressDuringTick(MemorySink):
            async def send(self, detections: Sequence[Detection]) -> None:
                await super().send(detections)
                if len(self.detections) == 1:  # the first home's tick is out
                    queue.put_nowait(sos("press", T0, home_id="h-pressed"))

        sink = PressDuringTick()
        engine = Engine(DETECTORS, lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
        engine.step_all([sos("press", T0, seq=1, home_id=h) for h in ("h1", "h2", "h3")])
        processor = LocalProcessor(
            engine, queue, sink, tick_s=0.01, tick_slice=1, clock=lambda: T0 + timedelta(1)
        )
        processor.start()
        for _ in range(200):
            if len(sink.detections) >= 4:
                break
            await asyncio.sleep(0.01)
        await processor.stop()
        first_round = [(d.kind, d.home_id) for d in list(sink.detections)[:4]]
        assert first_round == [
            ("device_offline", "h1"),
            ("sos", "h-pressed"),
            ("device_offline", "h2"),
            ("device_offline", "h3"),
        ]
