"""`bed_exit`: the bed left at night (23:00-06:00 local) and not back within 30 min.

The night is judged by the time the bed mat reported "not occupied". The exit
is reported from the first tick or event at or past `bed_exit_after`; getting
back into bed cancels it.

Late readings: bed readings are ordered by reading time against the exit being
watched. An "occupied" taken before the exit is stale and ignored; one taken
after it ends the watch (and cancels if reported), even if it arrives late.
Another "not occupied" while a watch runs keeps the watched exit.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from devices.events import GatewayEvent, Reading
from devices.types.bed import BedTelemetry
from processors.detection import AlertKind, Detection, Evidence, detection_id, evidence_of
from processors.detector import Detector, DetectorState, HomeContext
from processors.detectors.activity import in_local_hours, replace


class BedExitState(DetectorState):
    left_at: datetime | None = None
    """Reading time of the night-time exit being watched."""
    left: Evidence | None = None
    reported: bool = False


class BedExitDetector:
    kind: ClassVar[AlertKind] = "bed_exit"
    state_type: ClassVar[type[DetectorState]] = BedExitState

    def initial(self) -> BedExitState:
        return BedExitState()

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
            if state.reported:
                detections.append(self._cancel(state, event, home))
            return BedExitState(), detections
        if state.left_at is not None:
            return state, detections  # still out: the watched exit stands
        if rules.away or not in_local_hours(ts, rules.night_start, rules.night_end, rules.zone):
            return state, detections
        return BedExitState(left_at=ts, left=evidence_of(event)), detections

    def on_tick(
        self, state: BedExitState, now: datetime, home: HomeContext
    ) -> tuple[BedExitState, list[Detection]]:
        """Report an exit that has lasted `bed_exit_after`."""
        return self._judge(state, now, home)

    def _judge(
        self, state: BedExitState, now: datetime, home: HomeContext
    ) -> tuple[BedExitState, list[Detection]]:
        rules = home.rules
        left_at = state.left_at
        if left_at is None or state.left is None or state.reported or rules.away:
            return state, []
        if now < left_at + rules.bed_exit_after:
            return state, []
        minutes = rules.bed_exit_after.total_seconds() / 60
        local = left_at.astimezone(rules.zone)
        detection = Detection(
            detection_id=detection_id(
                rules.home_id, self.kind, "open", state.left.device_id, left_at.isoformat()
            ),
            home_id=rules.home_id,
            kind=self.kind,
            severity="high",
            service="wellbeing",
            at=left_at + rules.bed_exit_after,
            summary=f"out of bed since {local:%H:%M} local, not back within {minutes:g} min",
            evidence=(state.left,),
            details={"left_at": left_at.isoformat(), "after_min": minutes},
        )
        return replace(state, {"reported": True}), [detection]

    def _cancel(self, state: BedExitState, event: Reading, home: HomeContext) -> Detection:
        assert state.left is not None
        assert state.left_at is not None
        rules = home.rules
        return Detection(
            detection_id=detection_id(
                rules.home_id, self.kind, "cancel", state.left.device_id, state.left_at.isoformat()
            ),
            home_id=rules.home_id,
            kind=self.kind,
            action="cancel",
            severity="high",
            service="wellbeing",
            at=event.telemetry.ts,
            summary="back in bed",
            evidence=(state.left, evidence_of(event)),
        )


DETECTOR: Detector[BedExitState] = BedExitDetector()
