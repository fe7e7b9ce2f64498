"""`no_meal`: no kitchen activity since local midnight by `meal_by` (11:00 local).

Kitchen activity is kitchen motion, the fridge door opening, or the stove
switched on. The day is the home-local calendar day of the tick (or reading)
that judges it, so 11:00 follows the zone through daylight-saving changes.
At most one alert per local day; kitchen activity later that day cancels it.
A day not watched from its local midnight (a home just added, a replay
starting mid-morning) is not judged: an unseen breakfast is not a missed meal.
A home marked away is not judged; if it is unmarked later the same day with
no kitchen activity, the first tick after that reports the day.

Late readings: only the latest kitchen-activity time is kept, and a day is
judged on "any kitchen activity since midnight", so a late reading counts for
the day it was taken; one taken before midnight does not count for today.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import ClassVar

from devices.events import GatewayEvent, Reading
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from processors.detection import AlertKind, Detection, Evidence, detection_id, evidence_of
from processors.detector import Detector, DetectorState, HomeContext
from processors.detectors.activity import is_stove_on, local_instant, replace


class NoMealState(DetectorState):
    last_kitchen: datetime | None = None
    last_evidence: Evidence | None = None
    reported_day: date | None = None
    """The local day reported, until kitchen activity cancels it."""
    judged_day: date | None = None
    """The latest local day already reported (so each day is reported once)."""
    watching_since: datetime | None = None
    """First reading or tick seen: a day not watched from its midnight is not judged."""


def is_kitchen_activity(event: Reading, home: HomeContext) -> bool:
    telemetry = event.telemetry
    if isinstance(telemetry, MotionTelemetry):
        return telemetry.data.motion and telemetry.data.room == "kitchen"
    if isinstance(telemetry, DoorTelemetry):
        return telemetry.data.door == "fridge" and telemetry.data.open
    return is_stove_on(event, home) is True


class NoMealDetector:
    kind: ClassVar[AlertKind] = "no_meal"
    state_type: ClassVar[type[DetectorState]] = NoMealState

    def initial(self) -> NoMealState:
        return NoMealState()

    def on_event(
        self, state: NoMealState, event: GatewayEvent, home: HomeContext
    ) -> tuple[NoMealState, list[Detection]]:
        """Settle the day up to this reading's time, then count kitchen activity."""
        if not isinstance(event, Reading):
            return state, []
        ts = event.telemetry.ts
        state, detections = self._judge(state, ts, home)
        if not is_kitchen_activity(event, home):
            return state, detections
        if state.last_kitchen is None or ts > state.last_kitchen:
            state = replace(state, {"last_kitchen": ts, "last_evidence": evidence_of(event)})
        zone = home.rules.zone
        day = ts.astimezone(zone).date()
        if state.reported_day == day:
            detections.append(self._cancel(day, event, home))
            state = replace(state, {"reported_day": None})
        return state, detections

    def on_tick(
        self, state: NoMealState, now: datetime, home: HomeContext
    ) -> tuple[NoMealState, list[Detection]]:
        """Report today once `meal_by` has passed with no kitchen activity since midnight."""
        return self._judge(state, now, home)

    def _judge(
        self, state: NoMealState, now: datetime, home: HomeContext
    ) -> tuple[NoMealState, list[Detection]]:
        rules = home.rules
        zone = rules.zone
        day = now.astimezone(zone).date()
        if state.watching_since is None or now < state.watching_since:
            state = replace(state, {"watching_since": now})
        if rules.away or (state.judged_day is not None and day <= state.judged_day):
            return state, []
        deadline = local_instant(day, rules.meal_by, zone)
        midnight = local_instant(day, time(0, 0), zone)
        if now < deadline or state.watching_since is None or state.watching_since > midnight:
            return state, []
        if state.last_kitchen is not None and state.last_kitchen >= midnight:
            return state, []
        by = f"{rules.meal_by:%H:%M}"
        detection = Detection(
            detection_id=detection_id(rules.home_id, self.kind, "open", day.isoformat()),
            home_id=rules.home_id,
            kind=self.kind,
            severity="medium",
            service="meal",
            at=deadline,
            summary=f"no kitchen activity on {day.isoformat()} by {by} local",
            evidence=() if state.last_evidence is None else (state.last_evidence,),
            details={
                "day": day.isoformat(),
                "last_kitchen": None
                if state.last_kitchen is None
                else state.last_kitchen.isoformat(),
            },
        )
        return replace(state, {"reported_day": day, "judged_day": day}), [detection]

    def _cancel(self, day: date, event: Reading, home: HomeContext) -> Detection:
        rules = home.rules
        return Detection(
            detection_id=detection_id(rules.home_id, self.kind, "cancel", day.isoformat()),
            home_id=rules.home_id,
            kind=self.kind,
            action="cancel",
            severity="medium",
            service="meal",
            at=event.telemetry.ts,
            summary=f"kitchen activity seen ({event.telemetry.type} on {event.device_id})",
            evidence=(evidence_of(event),),
            details={"day": day.isoformat()},
        )


DETECTOR: Detector[NoMealState] = NoMealDetector()
