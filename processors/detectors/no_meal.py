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
from functools import lru_cache
from typing import ClassVar
from zoneinfo import ZoneInfo

from devices.events import GatewayEvent, Reading
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from processors.detection import AlertKind, Detection, Evidence, detection, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import is_stove_on, local_instant
from processors.frozen import replace


class NoMealState(DetectorState):
    last_kitchen: datetime | None = None
    last_evidence: Evidence | None = None
    reported_day: date | None = None
    """The local day reported, until kitchen activity cancels it."""
    judged_day: date | None = None
    """The latest local day already reported (so each day is reported once)."""
    watching_since: datetime | None = None
    """First tick, or motion, door or power reading, seen: a day not watched from its
    midnight is not judged."""


@lru_cache(maxsize=4096)
def _day_marks(day: date, meal_by: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day's midnight and its `meal_by`, as UTC instants."""
    return local_instant(day, time(0, 0), zone), local_instant(day, meal_by, zone)


def is_kitchen_activity(event: Reading, home: HomeContext) -> bool:
    telemetry = event.telemetry
    if isinstance(telemetry, MotionTelemetry):
        return telemetry.data.motion and telemetry.data.room == "kitchen"
    if isinstance(telemetry, DoorTelemetry):
        return telemetry.data.door == "fridge" and telemetry.data.open
    return is_stove_on(event, home) is True


class NoMealDetector(DetectorBase[NoMealState]):
    kind: ClassVar[AlertKind] = "no_meal"
    state_type: ClassVar[type[DetectorState]] = NoMealState
    reads: ClassVar[frozenset[EventType]] = frozenset({"motion", "door", "power"})

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
        day = state.reported_day
        if day is None or ts.astimezone(home.rules.zone).date() != day:
            return state, detections
        cancelled = detection(
            home.rules.home_id,
            self.kind,
            "cancel",
            (day.isoformat(),),
            at=ts,
            summary=f"kitchen activity seen ({event.telemetry.type} on {event.device_id})",
            evidence=(evidence_of(event),),
            details={"day": day.isoformat()},
        )
        return replace(state, {"reported_day": None}), [*detections, cancelled]

    def on_tick(
        self, state: NoMealState, now: datetime, home: HomeContext
    ) -> tuple[NoMealState, list[Detection]]:
        """Report today once `meal_by` has passed with no kitchen activity since midnight."""
        return self._judge(state, now, home)

    def _judge(
        self, state: NoMealState, now: datetime, home: HomeContext
    ) -> tuple[NoMealState, list[Detection]]:
        if state.watching_since is None or now < state.watching_since:
            state = replace(state, {"watching_since": now})
        rules = home.rules
        if rules.away:
            return state, []
        day = now.astimezone(rules.zone).date()
        if state.judged_day is not None and day <= state.judged_day:
            return state, []
        midnight, deadline = _day_marks(day, rules.meal_by, rules.zone)
        if now < deadline or state.watching_since is None or state.watching_since > midnight:
            return state, []
        if state.last_kitchen is not None and state.last_kitchen >= midnight:
            return state, []
        by = f"{rules.meal_by:%H:%M}"
        missed = detection(
            rules.home_id,
            self.kind,
            "open",
            (day.isoformat(),),
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
        return replace(state, {"reported_day": day, "judged_day": day}), [missed]


DETECTOR: Detector[NoMealState] = NoMealDetector()
