"""`night_wandering`: the front door opened at night and nobody moved indoors afterwards.

A front-door opening between `night_start` and `night_end` (home-local, by the
reading's time) starts a watch of `wandering_motion_window`; indoor motion at
or after the opening and before the window ends means someone is inside (a
visitor came in, the resident looked out and came back): nothing. Otherwise
the watch is reported, from the first tick or motion or door reading at or past
the window's end.

Late readings: motion is judged by its reading time, so indoor motion that
arrives late but was taken inside the window still clears the watch, and
cancels the alert if it was already reported. Motion after the window does not
cancel: the resident was out of the home at night, and a person should check.
Openings while a watch is pending join it (one alert per outing).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

from devices.events import GatewayEvent, Reading
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from processors.detection import AlertKind, Detection, Evidence, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import in_local_hours, overdue, watch_cancel
from processors.frozen import construct, replace

OUTDOOR_ROOMS: Final = frozenset({"garden", "yard", "porch", "balcony", "outdoor", "outside"})
"""Home-defined room names that are not indoors; every other room is."""


class NightWanderingState(DetectorState):
    opened_at: datetime | None = None
    """Reading time of the front-door opening being watched."""
    opened: Evidence | None = None
    reported: bool = False
    """Whether the watched opening has been reported (kept until a new opening)."""


_UNWATCHED: Final = NightWanderingState()


class NightWanderingDetector(DetectorBase[NightWanderingState]):
    kind: ClassVar[AlertKind] = "night_wandering"
    state_type: ClassVar[type[DetectorState]] = NightWanderingState
    reads: ClassVar[frozenset[EventType]] = frozenset({"motion", "door"})

    def on_event(
        self, state: NightWanderingState, event: GatewayEvent, home: HomeContext
    ) -> tuple[NightWanderingState, list[Detection]]:
        """Settle the watch up to this reading's time, then apply the reading."""
        if not isinstance(event, Reading):
            return state, []
        telemetry = event.telemetry
        ts = telemetry.ts
        rules = home.rules
        if isinstance(telemetry, MotionTelemetry):
            if not telemetry.data.motion or telemetry.data.room in OUTDOOR_ROOMS:
                return self._judge(state, ts, home)
            opened_at = state.opened_at
            if opened_at is None or not opened_at <= ts < opened_at + rules.wandering_motion_window:
                return self._judge(state, ts, home)
            # Someone moved indoors within the window: nothing to report (or a late retraction).
            if not state.reported:
                return _UNWATCHED, []
            assert state.opened is not None
            cancelled = watch_cancel(
                self.kind,
                home,
                state.opened,
                opened_at,
                event,
                "indoor motion within the window after all (reading arrived late)",
            )
            return _UNWATCHED, [cancelled]
        state, detections = self._judge(state, ts, home)
        if not isinstance(telemetry, DoorTelemetry) or telemetry.data.door != "front":
            return state, detections
        if not telemetry.data.open or rules.away:
            return state, detections
        if not in_local_hours(ts, rules.night_start, rules.night_end, rules.zone):
            return state, detections
        if state.opened_at is not None and not state.reported:
            return state, detections  # joins the watch already pending
        watch = {"opened_at": ts, "opened": evidence_of(event), "reported": False}
        return construct(NightWanderingState, watch), detections

    def on_tick(
        self, state: NightWanderingState, now: datetime, home: HomeContext
    ) -> tuple[NightWanderingState, list[Detection]]:
        """Report a watch whose window has ended with no indoor motion."""
        return self._judge(state, now, home)

    def _judge(
        self, state: NightWanderingState, now: datetime, home: HomeContext
    ) -> tuple[NightWanderingState, list[Detection]]:
        if state.opened_at is None or state.reported:
            return state, []  # nothing watched, or already reported
        opened = overdue(
            self.kind,
            home,
            state.opened,
            state.opened_at,
            home.rules.wandering_motion_window,
            now,
            summary=(
                "front door opened at {local:%H:%M} local at night and no indoor motion "
                "within {minutes:g} min"
            ),
            since_key="opened_at",
            after_key="window_min",
        )
        if opened is None:
            return state, []
        if home.rules.away:
            return _UNWATCHED, []  # the window ended while away: nothing to watch
        return replace(state, {"reported": True}), [opened]


DETECTOR: Detector[NightWanderingState] = NightWanderingDetector()
