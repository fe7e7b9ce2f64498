"""`bathroom_long`: the bathroom occupied for over 45 min.

Occupancy from the sensors homes have: a stay starts at the first bathroom
motion after the resident was last seen elsewhere, and ends at the first sign
of them elsewhere (motion in another room, a bed change, the front or fridge
door, the stove switched). The bathroom door alone cannot say in from out: it
opens and closes both on the way in and on the way out, so it neither starts
nor ends a stay. Someone who collapses in the bathroom stops moving, so the
stay's length is counted from entry, not from the latest bathroom motion.

Late readings are placed by reading time: a bathroom motion older than the
latest sign elsewhere is stale; a late bathroom motion earlier than the entry
moves the entry back (until reported); a late sign elsewhere taken after the
entry ends the stay (cancelling if reported), and if bathroom motion was seen
after it, a new stay starts at that latest bathroom motion (the shorter reading).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from devices.events import GatewayEvent, Reading
from devices.types.bed import BedTelemetry
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from processors.detection import AlertKind, Detection, Evidence, detection_id, evidence_of
from processors.detector import Detector, DetectorState, HomeContext
from processors.detectors.activity import is_stove_on, replace


class BathroomLongState(DetectorState):
    entered_at: datetime | None = None
    entered: Evidence | None = None
    last_bathroom: Evidence | None = None
    """Latest bathroom motion of the stay."""
    last_elsewhere: datetime | None = None
    """Latest reading time the resident was seen outside the bathroom."""
    reported: bool = False


def _place(event: Reading, home: HomeContext) -> str | None:
    """`bathroom`, `elsewhere`, or None when the reading does not place the resident."""
    telemetry = event.telemetry
    if isinstance(telemetry, MotionTelemetry):
        if not telemetry.data.motion:
            return None
        return "bathroom" if telemetry.data.room == "bathroom" else "elsewhere"
    if isinstance(telemetry, BedTelemetry):
        return "elsewhere"
    if isinstance(telemetry, DoorTelemetry):
        return "elsewhere" if telemetry.data.door in ("front", "fridge") else None
    if is_stove_on(event, home) is not None:
        return "elsewhere"
    return None


class BathroomLongDetector:
    kind: ClassVar[AlertKind] = "bathroom_long"
    state_type: ClassVar[type[DetectorState]] = BathroomLongState

    def initial(self) -> BathroomLongState:
        return BathroomLongState()

    def on_event(
        self, state: BathroomLongState, event: GatewayEvent, home: HomeContext
    ) -> tuple[BathroomLongState, list[Detection]]:
        """Settle the stay up to this reading's time, then place the resident."""
        if not isinstance(event, Reading):
            return state, []
        ts = event.telemetry.ts
        state, detections = self._judge(state, ts, home)
        place = _place(event, home)
        if place == "bathroom":
            return self._in_bathroom(state, event, home), detections
        if place != "elsewhere":
            return state, detections
        elsewhere = ts if state.last_elsewhere is None else max(ts, state.last_elsewhere)
        if state.entered_at is None or ts <= state.entered_at:
            return replace(state, {"last_elsewhere": elsewhere}), detections
        if state.reported:
            detections.append(self._cancel(state, event, home))
        latest = state.last_bathroom
        if latest is not None and latest.ts > ts and not home.rules.away:
            # A late sign elsewhere inside the stay: the stay restarts at the latest bathroom motion.
            restarted = BathroomLongState(
                entered_at=latest.ts, entered=latest, last_bathroom=latest, last_elsewhere=elsewhere
            )
            return restarted, detections
        return BathroomLongState(last_elsewhere=elsewhere), detections

    def on_tick(
        self, state: BathroomLongState, now: datetime, home: HomeContext
    ) -> tuple[BathroomLongState, list[Detection]]:
        """Report a stay that has lasted `bathroom_after`."""
        return self._judge(state, now, home)

    def _in_bathroom(
        self, state: BathroomLongState, event: Reading, home: HomeContext
    ) -> BathroomLongState:
        ts = event.telemetry.ts
        if state.last_elsewhere is not None and ts <= state.last_elsewhere:
            return state  # stale: the resident was seen elsewhere after it
        evidence = evidence_of(event)
        latest = state.last_bathroom
        if latest is None or ts > latest.ts:
            state = replace(state, {"last_bathroom": evidence})
        if state.entered_at is None:
            if home.rules.away:
                return state
            return replace(state, {"entered_at": ts, "entered": evidence})
        if ts < state.entered_at and not state.reported:
            return replace(state, {"entered_at": ts, "entered": evidence})
        return state

    def _judge(
        self, state: BathroomLongState, now: datetime, home: HomeContext
    ) -> tuple[BathroomLongState, list[Detection]]:
        rules = home.rules
        entered_at = state.entered_at
        if entered_at is None or state.entered is None or state.reported or rules.away:
            return state, []
        if now < entered_at + rules.bathroom_after:
            return state, []
        minutes = rules.bathroom_after.total_seconds() / 60
        local = entered_at.astimezone(rules.zone)
        detection = Detection(
            detection_id=detection_id(
                rules.home_id, self.kind, "open", state.entered.device_id, entered_at.isoformat()
            ),
            home_id=rules.home_id,
            kind=self.kind,
            severity="high",
            service="wellbeing",
            at=entered_at + rules.bathroom_after,
            summary=f"in the bathroom since {local:%H:%M} local, over {minutes:g} min",
            evidence=(state.entered,),
            details={"entered_at": entered_at.isoformat(), "after_min": minutes},
        )
        return replace(state, {"reported": True}), [detection]

    def _cancel(self, state: BathroomLongState, event: Reading, home: HomeContext) -> Detection:
        assert state.entered is not None
        assert state.entered_at is not None
        rules = home.rules
        return Detection(
            detection_id=detection_id(
                rules.home_id,
                self.kind,
                "cancel",
                state.entered.device_id,
                state.entered_at.isoformat(),
            ),
            home_id=rules.home_id,
            kind=self.kind,
            action="cancel",
            severity="high",
            service="wellbeing",
            at=event.telemetry.ts,
            summary=f"left the bathroom ({event.telemetry.type} on {event.device_id})",
            evidence=(state.entered, evidence_of(event)),
        )


DETECTOR: Detector[BathroomLongState] = BathroomLongDetector()
