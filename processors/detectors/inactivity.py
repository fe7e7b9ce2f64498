"""`inactivity`: no motion, door or bed change anywhere for 3 h of daytime (07:00-22:00 local).

Only daytime counts: silence before `day_start` counts from `day_start`, and a
silence crossing `day_end` stops counting there and resumes at the next
`day_start` (someone silent from 21:00 to 09:00 has had 3 h of daytime
silence). Windows are built per local date, so a daylight-saving day has its
true length. One detection per silence, identified by the last-activity time;
any later activity cancels it.

Late readings: the last-activity time is the maximum reading time seen, so a
reading older than it changes nothing; a late reading that falls inside a
silence already reported moves the last activity forward and cancels the alert
(the silence was shorter than it looked), and the remaining silence is judged anew.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

from devices.events import GatewayEvent
from processors.detection import AlertKind, Details, Detection, Evidence, detection, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import ACTIVITY, activity, local_instant, silence_cancel
from processors.frozen import construct, replace
from processors.rules import HomeRules

_MAX_DAYS: Final = 400
"""How far ahead a daytime-silence deadline is searched (windows can be tiny)."""


def daytime_deadline(since: datetime, rules: HomeRules) -> datetime | None:
    """The instant by which `rules.inactivity_after` of daytime has passed since `since`."""
    return _daytime_deadline(
        since, rules.zone, rules.day_start, rules.day_end, rules.inactivity_after
    )


@lru_cache(maxsize=4096)
def _daytime_deadline(
    since: datetime, zone: ZoneInfo, day_start: time, day_end: time, left: timedelta
) -> datetime | None:
    day = since.astimezone(zone).date() - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        start = local_instant(day, day_start, zone)
        end_day = day if day_start < day_end else day + timedelta(days=1)
        end = local_instant(end_day, day_end, zone)
        start = max(start, since)
        if end > start:
            if end - start >= left:
                return start + left
            left -= end - start
        day += timedelta(days=1)
    return None


class InactivityState(DetectorState):
    last_activity: datetime | None = None
    """Latest reading time of any activity (or the first tick, for a home never heard)."""
    last_evidence: Evidence | None = None
    reported: datetime | None = None
    """The last-activity time whose silence is open as an alert."""


class InactivityDetector(DetectorBase[InactivityState]):
    kind: ClassVar[AlertKind] = "inactivity"
    state_type: ClassVar[type[DetectorState]] = InactivityState
    reads: ClassVar[frozenset[EventType]] = ACTIVITY

    def on_event(
        self, state: InactivityState, event: GatewayEvent, home: HomeContext
    ) -> tuple[InactivityState, list[Detection]]:
        """Activity ends a silence: first report it if it had already run out, then cancel."""
        reading = activity(event)
        last = state.last_activity
        if reading is None or (last is not None and reading.telemetry.ts <= last):
            return state, []  # not activity, or no later than the activity already seen
        ts = reading.telemetry.ts
        state, detections = self._judge(state, ts, home)
        if state.reported is not None:
            details: Details = {"last_activity": state.reported.isoformat()}
            cancelled = silence_cancel(self.kind, home, state.reported, reading, details)
            detections.append(cancelled)
        new = {"last_activity": ts, "last_evidence": evidence_of(reading), "reported": None}
        return construct(InactivityState, new), detections

    def on_tick(
        self, state: InactivityState, now: datetime, home: HomeContext
    ) -> tuple[InactivityState, list[Detection]]:
        """Silence is only visible from a tick; a home never heard is watched from its first tick."""
        if state.last_activity is None:
            return InactivityState(last_activity=now), []
        return self._judge(state, now, home)

    def _judge(
        self, state: InactivityState, now: datetime, home: HomeContext
    ) -> tuple[InactivityState, list[Detection]]:
        rules = home.rules
        last = state.last_activity
        if rules.away or last is None or state.reported == last:
            return state, []
        due = daytime_deadline(last, rules)
        if due is None or now < due:
            return state, []
        local = last.astimezone(rules.zone)
        hours = rules.inactivity_after.total_seconds() / 3600
        seen = "" if state.last_evidence is None else f" since {local:%Y-%m-%d %H:%M} local"
        silent = detection(
            rules.home_id,
            self.kind,
            "open",
            (last.isoformat(),),
            at=due,
            summary=f"no movement, door or bed activity for {hours:g} h of daytime{seen}",
            evidence=() if state.last_evidence is None else (state.last_evidence,),
            details={"last_activity": last.isoformat(), "daytime_silence_h": hours},
        )
        return replace(state, {"reported": last}), [silent]


DETECTOR: Detector[InactivityState] = InactivityDetector()
