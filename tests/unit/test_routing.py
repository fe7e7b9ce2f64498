"""Routing: each event reaches exactly the detectors that read its type, and nothing is lost.

The catalogue-wide cases run a small simulated fleet (two homes, two days, one
incident of every injected kind) through the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import orjson
import pytest

from anxin.bench.detect_plan import context_for, minutes, to_gateway_event
from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER, TELEMETRY_TYPES
from processors.catalogue import DETECTOR_MODULES, all_detectors
from processors.detection import AlertKind, Detection
from processors.detector import (
    EVERY_EVENT,
    DetectorBase,
    DetectorState,
    EventType,
    HomeContext,
    ReadingDetector,
    event_type,
)
from processors.engine import AnyDetector, Detectors, Engine, HomeState, routed, step, tick
from processors.rules import HomeRules
from simulators.fleet import build_fleet
from simulators.injections import KINDS, Injection
from simulators.stream import merged, simulate_fleet

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOME = HomeContext(rules=HomeRules(home_id="h1"))


def reading(type_: str, data: dict[str, Any], ts: datetime = T0, seq: int = 1) -> Reading:
    telemetry = TELEMETRY_ADAPTER.validate_python(
        {"type": type_, "ts": ts, "seq": seq, "data": data}
    )
    return Reading(home_id="h1", device_id="d1", received_at=ts, telemetry=telemetry)


MOTION = reading("motion", {"room": "hall", "motion": True})
HEARTBEAT = reading("heartbeat", {})
OFFLINE = StatusChange(home_id="h1", device_id="d1", status="offline", at=T0)


class Seen(DetectorState):
    events: tuple[str, ...] = ()
    ticks: int = 0


class Recorder(DetectorBase[Seen]):
    """Records the type of every event and the ticks that reach it."""

    state_type: ClassVar[type[DetectorState]] = Seen

    def __init__(self, kind: AlertKind, reads: frozenset[EventType]) -> None:
        self.kind = kind  # type: ignore[misc]  # one class, several kinds for the test
        self.reads = reads  # type: ignore[misc]

    def on_event(
        self, state: Seen, event: GatewayEvent, home: HomeContext
    ) -> tuple[Seen, list[Detection]]:
        return Seen(events=(*state.events, event_type(event)), ticks=state.ticks), []

    def on_tick(
        self, state: Seen, now: datetime, home: HomeContext
    ) -> tuple[Seen, list[Detection]]:
        return Seen(events=state.events, ticks=state.ticks + 1), []


class Quiet(ReadingDetector[Seen]):
    """Judges readings alone: the engine must not tick it."""

    kind: ClassVar[AlertKind] = "leak"
    state_type: ClassVar[type[DetectorState]] = Seen
    reads: ClassVar[frozenset[EventType]] = frozenset({"leak"})

    def on_event(
        self, state: Seen, event: GatewayEvent, home: HomeContext
    ) -> tuple[Seen, list[Detection]]:
        return Seen(events=(*state.events, event_type(event))), []

    def on_tick(
        self, state: Seen, now: datetime, home: HomeContext
    ) -> tuple[Seen, list[Detection]]:
        raise AssertionError("a ReadingDetector was ticked")


MOTION_ONLY = Recorder("inactivity", frozenset({"motion"}))
EVERYTHING = Recorder("device_offline", EVERY_EVENT)
STATUS_ONLY = Recorder("sos", frozenset({"status"}))
RECORDERS: tuple[AnyDetector, ...] = (MOTION_ONLY, EVERYTHING, STATUS_ONLY, Quiet())


def seen(state: HomeState, kind: str) -> Seen:
    found = state.detectors[kind]
    assert isinstance(found, Seen)
    return found


class TestStepRouting:
    @pytest.mark.parametrize(
        ("event", "reached"),
        [
            (MOTION, {"inactivity", "device_offline"}),
            (HEARTBEAT, {"device_offline"}),
            (OFFLINE, {"device_offline", "sos"}),
            (reading("leak", {"wet": True}), {"device_offline", "leak"}),
        ],
        ids=["motion", "heartbeat", "status", "leak"],
    )
    def test_an_event_reaches_exactly_the_detectors_that_read_its_type(
        self, event: GatewayEvent, reached: set[str]
    ) -> None:
        state, _ = step(RECORDERS, HomeState(), event, HOME)
        assert set(state.detectors) == reached
        assert all(seen(state, kind).events == (event_type(event),) for kind in reached)

    def test_the_engine_routes_as_step_does(self) -> None:
        engine = Engine(RECORDERS, lambda home_id: HOME)
        engine.step_all([MOTION, HEARTBEAT, OFFLINE])
        state = engine.state("h1")
        assert seen(state, "inactivity").events == ("motion",)
        assert seen(state, "device_offline").events == ("motion", "heartbeat", "status")
        assert seen(state, "sos").events == ("status",)

    def test_a_tick_skips_the_detectors_that_judge_readings_alone(self) -> None:
        state, _ = tick(RECORDERS, HomeState(), T0, HOME)  # Quiet raises if ticked
        assert {kind: seen(state, kind).ticks for kind in state.detectors} == {
            "inactivity": 1,
            "device_offline": 1,
            "sos": 1,
        }


class TestDetectors:
    def test_routes_list_each_types_readers_in_catalogue_order(self) -> None:
        detectors = Detectors(RECORDERS)
        assert detectors.routes["motion"] == (MOTION_ONLY, EVERYTHING)
        assert detectors.routes["status"] == (EVERYTHING, STATUS_ONLY)
        assert detectors.routes["vitals"] == (EVERYTHING,)
        assert set(detectors.routes) == EVERY_EVENT

    def test_it_is_the_tuple_of_its_detectors(self) -> None:
        assert Detectors(RECORDERS) == RECORDERS

    def test_a_plain_tuple_is_routed_once_and_remembered(self) -> None:
        plain = tuple(RECORDERS)
        assert routed(plain) is routed(plain)
        assert routed(plain).routes == Detectors(RECORDERS).routes

    def test_a_list_is_routed_as_it_is_now(self) -> None:
        detectors: list[AnyDetector] = [MOTION_ONLY]
        assert routed(detectors).routes["heartbeat"] == ()
        detectors.append(EVERYTHING)
        assert routed(detectors).routes["heartbeat"] == (EVERYTHING,)

    def test_the_catalogue_is_routed_and_every_type_is_read_by_someone(self) -> None:
        detectors = all_detectors()
        assert isinstance(detectors, Detectors)
        assert [d.kind for d in detectors] == list(DETECTOR_MODULES)
        assert {"status", *TELEMETRY_TYPES} == EVERY_EVENT
        assert all(detectors.routes[kind] for kind in EVERY_EVENT)


# --- the catalogue over a simulated fleet -----------------------------------------

ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Fleet:
    contexts: dict[str, HomeContext]
    minutes: list[tuple[datetime, list[GatewayEvent]]]
    """The stream cut at each simulated minute: (the minute's end, its events)."""

    def steps(self) -> Iterator[tuple[str, GatewayEvent | datetime]]:
        """(home_id, event or tick time), in the order a runner sees them."""
        for edge, events in self.minutes:
            for event in events:
                yield event.home_id, event
            for home_id in self.contexts:
                yield home_id, edge


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    start = datetime(2026, 3, 2, tzinfo=ZoneInfo(ZONE))
    homes = build_fleet(2, seed=3, timezone=ZONE)
    injections = [
        Injection(kind=kind, home_id=homes[i % 2].home_id, offset=timedelta(hours=2 + 3 * i))
        for i, kind in enumerate(KINDS)
    ]
    simulations = simulate_fleet(homes, start, seed=3, injections=injections)
    contexts = {home.home_id: context_for(home, ZONE) for home in homes}
    profiles = {d: p for context in contexts.values() for d, p in context.devices.items()}
    cut = minutes(merged(simulations, start, start + timedelta(days=2)))
    return Fleet(
        contexts,
        [(edge, [to_gateway_event(item, profiles) for item in chunk]) for edge, chunk in cut],
    )


def fold(
    fleet: Fleet, detectors: tuple[AnyDetector, ...]
) -> tuple[dict[str, HomeState], list[Detection]]:
    """Every home's state and every detection, by the pure `step` and `tick`."""
    states = {home_id: HomeState() for home_id in fleet.contexts}
    found: list[Detection] = []
    for home_id, what in fleet.steps():
        home = fleet.contexts[home_id]
        if isinstance(what, datetime):
            states[home_id], detections = tick(detectors, states[home_id], what, home)
        else:
            states[home_id], detections = step(detectors, states[home_id], what, home)
        found += detections
    return states, found


class TestCatalogueRouting:
    def test_the_fleet_raises_every_injected_kind(self, fleet: Fleet) -> None:
        _, found = fold(fleet, all_detectors())
        assert {d.kind for d in found if d.action == "open"} >= set(KINDS)

    @pytest.mark.parametrize("name", DETECTOR_MODULES)
    def test_an_unread_event_changes_nothing_a_tick_at_its_time_would_not(
        self, fleet: Fleet, name: str
    ) -> None:
        """So routing loses nothing: an event a detector does not read is, to it, at most a
        tick at the event's time (the time-driven rules settle their watches on any reading)."""
        (detector,) = [d for d in all_detectors() if d.kind == name]
        states = {home_id: detector.initial() for home_id in fleet.contexts}
        checked = 0
        for home_id, what in fleet.steps():
            home = fleet.contexts[home_id]
            state = states[home_id]
            if isinstance(what, datetime):
                states[home_id], _ = detector.on_tick(state, what, home)
                continue
            if event_type(what) in detector.reads:
                states[home_id], _ = detector.on_event(state, what, home)
                continue
            checked += 1
            after, detections = detector.on_event(state, what, home)
            if after is state and not detections:
                continue
            at = what.telemetry.ts if isinstance(what, Reading) else what.at
            assert (after, detections) == detector.on_tick(state, at, home)
        assert checked or detector.reads == EVERY_EVENT

    def test_the_engine_and_the_pure_step_agree(self, fleet: Fleet) -> None:
        states, found = fold(fleet, all_detectors())
        engine = Engine(all_detectors(), fleet.contexts.__getitem__)
        made: list[Detection] = []
        for edge, events in fleet.minutes:
            made += engine.step_all(events)
            made += engine.tick(edge)
        assert made == found
        assert {home_id: engine.state(home_id) for home_id in fleet.contexts} == states


class TestStateJson:
    def test_every_detectors_state_round_trips_through_json_bytes(self, fleet: Fleet) -> None:
        detectors = all_detectors()
        states, _ = fold(fleet, detectors)
        assert {kind for state in states.values() for kind in state.detectors} == {
            d.kind for d in detectors
        }
        for state in states.values():
            restored = HomeState.from_json(orjson.loads(state.model_dump_json()), detectors)
            assert restored == state
            assert restored.to_json() == state.to_json()

    def test_a_restored_state_judges_on_as_the_original(self, fleet: Fleet) -> None:
        detectors = all_detectors()
        half = Fleet(fleet.contexts, fleet.minutes[: len(fleet.minutes) // 2])
        rest = Fleet(fleet.contexts, fleet.minutes[len(fleet.minutes) // 2 :])
        states, _ = fold(half, detectors)
        restored = {
            home_id: HomeState.from_json(state.to_json(), detectors)
            for home_id, state in states.items()
        }
        kept = Engine(detectors, fleet.contexts.__getitem__, states)
        again = Engine(detectors, fleet.contexts.__getitem__, restored)
        for edge, events in rest.minutes:
            assert again.step_all(events) == kept.step_all(events)
            assert again.tick(edge) == kept.tick(edge)

    def test_a_state_stored_in_an_older_shape_is_dropped_not_fatal(self) -> None:
        stored = {
            "detectors": {
                "device_offline": {"devices": {"d1": {"last_seen": T0.isoformat()}}},
                "sos": {"last_press": T0.isoformat()},
            },
            "watermark": T0.isoformat(),
        }
        restored = HomeState.from_json(stored, all_detectors())
        assert set(restored.detectors) == {"sos"}
        assert restored.watermark == T0
