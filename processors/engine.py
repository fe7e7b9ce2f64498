"""Every detector over one home's events and ticks: the pure core both runners share.

A home's state is one `HomeState`: each detector's own state, by kind, and the
home's event-time watermark. `step` runs the detectors on an event, `tick`
on the passing of wall-clock time; both return the new state and the
detections. `Engine` keeps many homes in a dict for the embedded runner and
the benchmark; the Faust worker keeps the same `HomeState` JSON in a table.

Routing
-------
Each detector declares the event types it `reads`; `step` hands an event only
to the detectors that read its type (`Detectors` works the table out once),
and `tick` only to those that react to time (a `ReadingDetector` judges
readings alone). So the time-driven rules (bed exit, night wandering,
bathroom, stove, no meal) advance on ticks and on their own readings, no
longer on every other device's: a watch that runs out between two ticks is
reported at the next tick rather than at an unrelated reading, with the same
event time, content and id (a runner ticks every second, the benchmark every
simulated minute).

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

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

from devices.events import GatewayEvent, Reading
from processors.detection import Detection
from processors.detector import (
    EVERY_EVENT,
    Detector,
    DetectorState,
    EventType,
    HomeContext,
    ReadingDetector,
)
from processors.frozen import construct, replace

LATE_BOUND: Final = timedelta(hours=24)
"""Readings older than the home's watermark by more than this are dropped and counted."""

AnyDetector = Detector[Any]


Judge = tuple[
    str,
    Callable[[Any, Any, HomeContext], tuple[Any, list[Detection]]],
    Callable[[], DetectorState],
]
"""A detector as the engine calls it: (kind, `on_event` or `on_tick`, `initial`)."""


class Detectors(tuple[AnyDetector, ...]):
    """Detectors in catalogue order, with the ones each event type reaches worked out once.

    A tuple, so it goes wherever a sequence of detectors goes; `step` and `tick`
    also accept a plain tuple, whose routing they work out once and remember.
    """

    routes: dict[EventType, tuple[AnyDetector, ...]]
    """Per event type, the detectors that read it, in catalogue order."""
    on_event: dict[EventType, tuple[Judge, ...]]
    """Per event type, the detectors that read it, as the engine calls them."""
    on_tick: tuple[Judge, ...]
    """The detectors that react to time (all but the `ReadingDetector`s)."""

    def __new__(cls, detectors: Iterable[AnyDetector] = ()) -> Detectors:
        self = super().__new__(cls, detectors)
        self.routes = {
            kind: tuple(detector for detector in self if kind in detector.reads)
            for kind in sorted(EVERY_EVENT)
        }
        # Bound once: the engine calls these on every event.
        self.on_event = {
            kind: tuple((d.kind, d.on_event, d.initial) for d in reached)
            for kind, reached in self.routes.items()
        }
        # A `ReadingDetector` judges readings alone: ticking it would change nothing.
        self.on_tick = tuple(
            (d.kind, d.on_tick, d.initial) for d in self if not isinstance(d, ReadingDetector)
        )
        return self


_ROUTED: dict[int, tuple[Sequence[AnyDetector], Detectors]] = {}


def routed(detectors: Sequence[AnyDetector]) -> Detectors:
    """`detectors` with their routing; a tuple's is remembered (it cannot change)."""
    if type(detectors) is Detectors:
        return detectors
    if type(detectors) is not tuple:
        return Detectors(detectors)
    known = _ROUTED.get(id(detectors))
    if known is not None and known[0] is detectors:
        return known[1]
    if len(_ROUTED) >= 32:  # a runner has one; tests make a few
        _ROUTED.clear()
    made = Detectors(detectors)
    _ROUTED[id(detectors)] = (detectors, made)
    return made


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
        """Back from `to_json`.

        The state of a detector no longer running is dropped, and so is one stored
        in a shape its detector no longer reads (written by an older version): that
        detector starts afresh rather than every event of the home failing.
        """
        raw = data.get("detectors", {})
        states: dict[str, DetectorState] = {}
        for detector in detectors:
            if detector.kind not in raw:
                continue
            try:
                states[detector.kind] = detector.state_type.model_validate(raw[detector.kind])
            except ValidationError:
                continue
        return cls(
            detectors=states,
            watermark=data.get("watermark"),
            late_dropped=data.get("late_dropped", 0),
        )


def _admit(
    detectors: Detectors, watermark: datetime | None, event: GatewayEvent
) -> tuple[tuple[Judge, ...], datetime | None] | None:
    """The detectors `event` reaches and the home's watermark once it is seen; None when
    the event is too late to apply."""
    if not isinstance(event, Reading):
        # A status change carries the gateway's time: always applied.
        return detectors.on_event["status"], watermark
    telemetry = event.telemetry
    ts = telemetry.ts
    if watermark is None or ts > watermark:
        return detectors.on_event[telemetry.type], ts
    if watermark - ts > LATE_BOUND:
        return None
    return detectors.on_event[telemetry.type], watermark


def _judge(
    judges: tuple[Judge, ...],
    current: Mapping[str, DetectorState],
    what: GatewayEvent | datetime,
    home: HomeContext,
) -> tuple[dict[str, DetectorState], list[Detection]]:
    """Each detector's judgement of `what` (an event, or a tick's time): the states
    that changed (a detector's first state is always kept), and the detections."""
    changed: dict[str, DetectorState] = {}
    found: list[Detection] = []
    for kind, judge, initial in judges:
        before = current.get(kind)
        after, detections = judge(initial() if before is None else before, what, home)
        if after is not before:
            changed[kind] = after
        if detections:
            found.extend(detections)
    return changed, found


def _home_state(
    state: HomeState, changed: dict[str, DetectorState], watermark: datetime | None
) -> HomeState:
    if not changed and watermark == state.watermark:
        return state
    # Every field is already valid, and this runs once per event.
    return construct(
        HomeState,
        {
            "detectors": {**state.detectors, **changed} if changed else state.detectors,
            "watermark": watermark,
            "late_dropped": state.late_dropped,
        },
    )


def step(
    detectors: Sequence[AnyDetector], state: HomeState, event: GatewayEvent, home: HomeContext
) -> tuple[HomeState, list[Detection]]:
    """Run the detectors that read this event's type, under the lateness policy above."""
    admitted = _admit(routed(detectors), state.watermark, event)
    if admitted is None:
        return replace(state, {"late_dropped": state.late_dropped + 1}), []
    judges, watermark = admitted
    changed, found = _judge(judges, state.detectors, event, home)
    return _home_state(state, changed, watermark), found


def tick(
    detectors: Sequence[AnyDetector], state: HomeState, now: datetime, home: HomeContext
) -> tuple[HomeState, list[Detection]]:
    """Run the detectors that react to time on its passing up to `now` (the runner's wall clock)."""
    changed, found = _judge(routed(detectors).on_tick, state.detectors, now, home)
    return _home_state(state, changed, state.watermark), found


class _Home:
    """A home's `HomeState` as `Engine` keeps it: updated in place, once per event."""

    __slots__ = ("detectors", "late_dropped", "watermark")

    def __init__(self, state: HomeState) -> None:
        self.detectors = dict(state.detectors)
        self.watermark = state.watermark
        self.late_dropped = state.late_dropped

    def state(self) -> HomeState:
        return construct(
            HomeState,
            {
                "detectors": dict(self.detectors),
                "watermark": self.watermark,
                "late_dropped": self.late_dropped,
            },
        )


class Engine:
    """Many homes' states in memory, for the embedded runner and the benchmark.

    The same judgement as `step` and `tick`, but each home's state is updated in
    place rather than copied per event (nobody else holds it); an event whose
    judgement fails changes nothing, as with `step`.
    """

    def __init__(
        self,
        detectors: Sequence[AnyDetector],
        context_for: Callable[[str], HomeContext],
        states: Mapping[str, HomeState] | None = None,
    ) -> None:
        self.detectors = Detectors(detectors)
        self.context_for = context_for
        self._homes = {home_id: _Home(state) for home_id, state in (states or {}).items()}

    def state(self, home_id: str) -> HomeState:
        home = self._homes.get(home_id)
        return HomeState() if home is None else home.state()

    def step(self, event: GatewayEvent) -> list[Detection]:
        home_id = event.home_id
        home = self._homes.get(home_id)
        if home is None:
            home = self._homes[home_id] = _Home(HomeState())
        admitted = _admit(self.detectors, home.watermark, event)
        if admitted is None:
            home.late_dropped += 1
            return []
        judges, watermark = admitted
        changed, found = _judge(judges, home.detectors, event, self.context_for(home_id))
        if changed:
            home.detectors.update(changed)
        home.watermark = watermark
        return found

    def step_all(self, events: Iterable[GatewayEvent]) -> list[Detection]:
        found: list[Detection] = []
        for event in events:
            found.extend(self.step(event))
        return found

    def tick(self, now: datetime, home_ids: Iterable[str] | None = None) -> list[Detection]:
        """Tick these homes (by default every home seen so far; one not seen is skipped)."""
        found: list[Detection] = []
        judges = self.detectors.on_tick
        homes = self._homes
        for home_id in homes if home_ids is None else home_ids:
            home = homes.get(home_id)
            if home is None:
                continue
            changed, detections = _judge(judges, home.detectors, now, self.context_for(home_id))
            if changed:
                home.detectors.update(changed)
            found.extend(detections)
        return found

    def home_ids(self) -> list[str]:
        """The homes seen so far, as of now (a runner ticking them in slices iterates this)."""
        return list(self._homes)

    @property
    def late_dropped(self) -> int:
        return sum(home.late_dropped for home in self._homes.values())
