"""`night_wandering`: the front door opened at night and nobody moved indoors afterwards.

A front-door opening between `night_start` and `night_end` (home-local, by the
reading's time) starts a watch of `wandering_motion_window`; indoor motion at
or after the opening and before the window ends means someone is inside (a
visitor came in, the resident looked out and came back): nothing. Otherwise
the watch is reported, from the first tick or event at or past the window's end.

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
from processors.detection import AlertKind, Detection, Evidence, detection_id, evidence_of
from processors.detector import Detector, DetectorState, HomeContext
from processors.detectors.activity import in_local_hours, replace

OUTDOOR_ROOMS: Final = frozenset({"garden", "yard", "porch", "balcony", "outdoor", "outside"})
"""Home-defined room names that are not indoors; every other room is."""


class NightWanderingState(DetectorState):
    opened_at: datetime | None = None
    """Reading time of the front-door opening being watched."""
    opened: Evidence | None = None
    reported: bool = False
    """Whether the watched opening has been reported (kept until a new opening)."""


class NightWanderingDetector:
    kind: ClassVar[AlertKind] = "night_wandering"
    state_type: ClassVar[type[DetectorState]] = NightWanderingState

    def initial(self) -> NightWanderingState:
        return NightWanderingState()

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
            detections = [self._cancel(state, event, home)] if state.reported else []
            return NightWanderingState(), detections
        state, detections = self._judge(state, ts, home)
        if not isinstance(telemetry, DoorTelemetry) or telemetry.data.door != "front":
            return state, detections
        if not telemetry.data.open or rules.away:
            return state, detections
        if not in_local_hours(ts, rules.night_start, rules.night_end, rules.zone):
            return state, detections
        if state.opened_at is not None and not state.reported:
            return state, detections  # joins the watch already pending
        return NightWanderingState(opened_at=ts, opened=evidence_of(event)), detections

    def on_tick(
        self, state: NightWanderingState, now: datetime, home: HomeContext
    ) -> tuple[NightWanderingState, list[Detection]]:
        """Report a watch whose window has ended with no indoor motion."""
        return self._judge(state, now, home)

    def _judge(
        self, state: NightWanderingState, now: datetime, home: HomeContext
    ) -> tuple[NightWanderingState, list[Detection]]:
        rules = home.rules
        opened_at = state.opened_at
        if opened_at is None or state.reported or state.opened is None:
            return state, []
        if now < opened_at + rules.wandering_motion_window:
            return state, []
        if rules.away:
            return NightWanderingState(), []
        local = opened_at.astimezone(rules.zone)
        minutes = rules.wandering_motion_window.total_seconds() / 60
        detection = Detection(
            detection_id=detection_id(
                rules.home_id, self.kind, "open", state.opened.device_id, opened_at.isoformat()
            ),
            home_id=rules.home_id,
            kind=self.kind,
            severity="critical",
            service="wellbeing",
            at=opened_at + rules.wandering_motion_window,
            summary=(
                f"front door opened at {local:%H:%M} local at night and no indoor motion "
                f"within {minutes:g} min"
            ),
            evidence=(state.opened,),
            details={"opened_at": opened_at.isoformat(), "window_min": minutes},
        )
        return replace(state, {"reported": True}), [detection]

    def _cancel(self, state: NightWanderingState, event: Reading, home: HomeContext) -> Detection:
        assert state.opened is not None
        assert state.opened_at is not None
        rules = home.rules
        return Detection(
            detection_id=detection_id(
                rules.home_id,
                self.kind,
                "cancel",
                state.opened.device_id,
                state.opened_at.isoformat(),
            ),
            home_id=rules.home_id,
            kind=self.kind,
            action="cancel",
            severity="critical",
            service="wellbeing",
            at=event.telemetry.ts,
            summary="indoor motion within the window after all (reading arrived late)",
            evidence=(state.opened, evidence_of(event)),
        )


DETECTOR: Detector[NightWanderingState] = NightWanderingDetector()
