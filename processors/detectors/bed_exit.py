"""`bed_exit`: the bed left at night (23:00-06:00 local) and not back within 30 min.

The night is judged by the time the bed mat reported "not occupied". The exit
is reported from the first tick or bed reading at or past `bed_exit_after`;
getting back into bed cancels it.

Late readings: bed readings are ordered by reading time against the exit being
watched. An "occupied" taken before the exit is stale and ignored; one taken
after it ends the watch (and cancels if reported), even if it arrives late.
Another "not occupied" while a watch runs keeps the watched exit.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

from devices.events import GatewayEvent, Reading
from devices.types.bed import BedTelemetry
from processors.detection import AlertKind, Detection, Evidence, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import in_local_hours, overdue, watch_cancel
from processors.frozen import construct, replace


class BedExitState(DetectorState):
    left_at: datetime | None = None
    """Reading time of the night-time exit being watched."""
    left: Evidence | None = None
    reported: bool = False


_IN_BED: Final = BedExitState()


class BedExitDetector(DetectorBase[BedExitState]):
    kind: ClassVar[AlertKind] = "bed_exit"
    state_type: ClassVar[type[DetectorState]] = BedExitState
    reads: ClassVar[frozenset[EventType]] = frozenset({"bed"})

    def on_event(
        self, state: BedExitState, event: GatewayEvent, home: HomeContext
    ) -> tuple[BedExitState, list[Detection]]:
        """Settle the watch up to this reading's time, then apply a bed change."""
        if not isinstance(event, Reading):
            return state, []
        telemetry = event.telemetry
        ts = telemetry.ts
        state, detections = self._judge(state, ts, home)
        if not isinstance(telemetry, BedTelemetry):
            return state, detections
        rules = home.rules
        if telemetry.data.occupied:
            if state.left_at is None or ts < state.left_at:
                return state, detections
            if state.reported and state.left is not None:
                detections.append(
                    watch_cancel(self.kind, home, state.left, state.left_at, event, "back in bed")
                )
            return _IN_BED, detections
        if state.left_at is not None:
            return state, detections  # still out: the watched exit stands
        if rules.away or not in_local_hours(ts, rules.night_start, rules.night_end, rules.zone):
            return state, detections
        watch = {"left_at": ts, "left": evidence_of(event), "reported": False}
        return construct(BedExitState, watch), detections

    def on_tick(
        self, state: BedExitState, now: datetime, home: HomeContext
    ) -> tuple[BedExitState, list[Detection]]:
        """Report an exit that has lasted `bed_exit_after`."""
        return self._judge(state, now, home)

    def _judge(
        self, state: BedExitState, now: datetime, home: HomeContext
    ) -> tuple[BedExitState, list[Detection]]:
        if state.left_at is None or state.reported or home.rules.away:
            return state, []  # nothing watched, or already reported
        opened = overdue(
            self.kind,
            home,
            state.left,
            state.left_at,
            home.rules.bed_exit_after,
            now,
            summary="out of bed since {local:%H:%M} local, not back within {minutes:g} min",
            since_key="left_at",
        )
        if opened is None:
            return state, []
        return replace(state, {"reported": True}), [opened]


DETECTOR: Detector[BedExitState] = BedExitDetector()
