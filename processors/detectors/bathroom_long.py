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
from typing import ClassVar, Final

from devices.events import GatewayEvent, Reading
from devices.types.bed import BedTelemetry
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from processors.detection import AlertKind, Detection, Evidence, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import is_stove_on, overdue, watch_cancel
from processors.frozen import construct, replace


class BathroomLongState(DetectorState):
    entered_at: datetime | None = None
    entered: Evidence | None = None
    last_bathroom: Evidence | None = None
    """Latest bathroom motion of the stay."""
    last_elsewhere: datetime | None = None
    """Latest reading time the resident was seen outside the bathroom."""
    reported: bool = False


_NOBODY_IN: Final = BathroomLongState()


def _stay(
    entered: Evidence, last_bathroom: Evidence | None, last_elsewhere: datetime | None
) -> BathroomLongState:
    """A stay, not yet reported, entered at `entered`."""
    return construct(
        BathroomLongState,
        {
            "entered_at": entered.ts,
            "entered": entered,
            "last_bathroom": last_bathroom,
            "last_elsewhere": last_elsewhere,
            "reported": False,
        },
    )


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


class BathroomLongDetector(DetectorBase[BathroomLongState]):
    kind: ClassVar[AlertKind] = "bathroom_long"
    state_type: ClassVar[type[DetectorState]] = BathroomLongState
    reads: ClassVar[frozenset[EventType]] = frozenset({"motion", "bed", "door", "power"})

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
            if elsewhere == state.last_elsewhere:
                return state, detections
            return replace(state, {"last_elsewhere": elsewhere}), detections
        if state.reported and state.entered is not None:
            left = f"left the bathroom ({event.telemetry.type} on {event.device_id})"
            detections.append(
                watch_cancel(self.kind, home, state.entered, state.entered_at, event, left)
            )
        latest = state.last_bathroom
        if latest is not None and latest.ts > ts and not home.rules.away:
            # A late sign elsewhere inside the stay: the stay restarts at the latest bathroom motion.
            return _stay(latest, latest, elsewhere), detections
        return replace(_NOBODY_IN, {"last_elsewhere": elsewhere}), detections

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
        if state.entered_at is None or state.reported or home.rules.away:
            return state, []  # nothing watched, or already reported
        opened = overdue(
            self.kind,
            home,
            state.entered,
            state.entered_at,
            home.rules.bathroom_after,
            now,
            summary="in the bathroom since {local:%H:%M} local, over {minutes:g} min",
            since_key="entered_at",
        )
        if opened is None:
            return state, []
        return replace(state, {"reported": True}), [opened]


DETECTOR: Detector[BathroomLongState] = BathroomLongDetector()
