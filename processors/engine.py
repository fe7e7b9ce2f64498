"""Every detector over one home's events and ticks: the pure core both runners share.

A home's state is one `HomeState`: each detector's own state, by kind, and the
home's event-time watermark. `step` runs every detector on an event, `tick`
on the passing of wall-clock time; both return the new state and the
detections. `Engine` keeps many homes in a dict for the embedded runner and
the benchmark; the Faust worker keeps the same `HomeState` JSON in a table.

Lateness policy
---------------
Detectors judge by reading time (the device's `ts`), never by arrival time.
Each home's watermark is the latest reading `ts` seen. A reading older than
the watermark (a buffered device flushing its backlog, a redelivery after a
worker restart) is still applied: each detector compares its `ts` with what
it has seen, so it can still add evidence or close a condition, but it
cannot move the home's time backwards. A reading older than the watermark by
more than `LATE_BOUND` (24 h) is dropped and counted in
`HomeState.late_dropped`: it can no longer change any decision a person acts
on, and replaying it would only reopen history. Status changes (online or
offline) carry the gateway's time and are always applied. Ticks carry the
wall clock (passed in, never read here); silence is judged on ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from devices.events import GatewayEvent, Reading
from processors.detection import Detection
from processors.detector import Detector, DetectorState, HomeContext

LATE_BOUND: Final = timedelta(hours=24)
"""Readings older than the home's watermark by more than this are dropped and counted."""

AnyDetector = Detector[Any]


class HomeState(BaseModel):
    """One home's processing state: what the Faust table stores, as JSON, keyed by home_id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    detectors: dict[str, SerializeAsAny[DetectorState]] = Field(
        default_factory=dict, description="each detector's state by kind; absent: initial"
    )
    watermark: datetime | None = Field(default=None, description="latest reading ts seen")
    late_dropped: int = Field(default=0, ge=0, description="readings dropped as too late")

    def to_json(self) -> dict[str, Any]:
        """The JSON-able form stored in the Faust table."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Mapping[str, Any], detectors: Sequence[AnyDetector]) -> HomeState:
        """Back from `to_json`; the state of a detector no longer running is dropped."""
        raw = data.get("detectors", {})
        states = {
            detector.kind: detector.state_type.model_validate(raw[detector.kind])
            for detector in detectors
            if detector.kind in raw
        }
        return cls(
            detectors=states,
            watermark=data.get("watermark"),
            late_dropped=data.get("late_dropped", 0),
        )


def _finish(
    state: HomeState,
    changed: dict[str, DetectorState] | None,
    watermark: datetime | None,
) -> HomeState:
    if changed is None and watermark == state.watermark:
        return state
    # model_construct: every field is already valid, and this runs once per event.
    return HomeState.model_construct(
        detectors=state.detectors if changed is None else changed,
        watermark=watermark,
        late_dropped=state.late_dropped,
    )


def step(
    detectors: Sequence[AnyDetector], state: HomeState, event: GatewayEvent, home: HomeContext
) -> tuple[HomeState, list[Detection]]:
    """Run every detector on one event, under the lateness policy above."""
    watermark = state.watermark
    if isinstance(event, Reading):
        ts = event.telemetry.ts
        if watermark is None or ts > watermark:
            watermark = ts
        elif watermark - ts > LATE_BOUND:
            return state.model_copy(update={"late_dropped": state.late_dropped + 1}), []
    current = state.detectors
    changed: dict[str, DetectorState] | None = None
    found: list[Detection] = []
    # One loop per entry point, written out: this is the hot path of every reading.
    for detector in detectors:
        kind = detector.kind
        before = current.get(kind)
        if before is None:
            before = detector.initial()
            after, detections = detector.on_event(before, event, home)
            changed = dict(current) if changed is None else changed
            changed[kind] = after
        else:
            after, detections = detector.on_event(before, event, home)
            if after is not before:
                changed = dict(current) if changed is None else changed
                changed[kind] = after
        if detections:
            found.extend(detections)
    return _finish(state, changed, watermark), found


def tick(
    detectors: Sequence[AnyDetector], state: HomeState, now: datetime, home: HomeContext
) -> tuple[HomeState, list[Detection]]:
    """Run every detector on the passing of time up to `now` (the runner's wall clock)."""
    current = state.detectors
    changed: dict[str, DetectorState] | None = None
    found: list[Detection] = []
    for detector in detectors:
        kind = detector.kind
        before = current.get(kind)
        if before is None:
            before = detector.initial()
            after, detections = detector.on_tick(before, now, home)
            changed = dict(current) if changed is None else changed
            changed[kind] = after
        else:
            after, detections = detector.on_tick(before, now, home)
            if after is not before:
                changed = dict(current) if changed is None else changed
                changed[kind] = after
        if detections:
            found.extend(detections)
    return _finish(state, changed, state.watermark), found


class Engine:
    """Many homes' states in memory, for the embedded runner and the benchmark."""

    def __init__(
        self,
        detectors: Sequence[AnyDetector],
        context_for: Callable[[str], HomeContext],
        states: Mapping[str, HomeState] | None = None,
    ) -> None:
        self.detectors = tuple(detectors)
        self.context_for = context_for
        self.states: dict[str, HomeState] = dict(states or {})

    def state(self, home_id: str) -> HomeState:
        return self.states.get(home_id) or HomeState()

    def step(self, event: GatewayEvent) -> list[Detection]:
        home_id = event.home_id
        state, detections = step(
            self.detectors, self.state(home_id), event, self.context_for(home_id)
        )
        self.states[home_id] = state
        return detections

    def step_all(self, events: Iterable[GatewayEvent]) -> list[Detection]:
        found: list[Detection] = []
        for event in events:
            found.extend(self.step(event))
        return found

    def tick(self, now: datetime) -> list[Detection]:
        """Tick every home seen so far."""
        found: list[Detection] = []
        for home_id, before in list(self.states.items()):
            state, detections = tick(self.detectors, before, now, self.context_for(home_id))
            self.states[home_id] = state
            found.extend(detections)
        return found

    @property
    def late_dropped(self) -> int:
        return sum(state.late_dropped for state in self.states.values())
