"""What the activity rules share: what counts as activity, the stove, home-local hours,
and the detections of a watch (bed exit, bathroom, night wandering, stove) or a silence."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from devices.events import GatewayEvent, Reading
from devices.types.bed import BedTelemetry
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from devices.types.power import PowerTelemetry
from processors.detection import AlertKind, Details, Detection, Evidence, detection, evidence_of
from processors.detector import EventType, HomeContext

ACTIVITY: Final[frozenset[EventType]] = frozenset({"motion", "door", "bed"})
"""The readings that can show someone up and about."""


def is_activity(reading: Reading) -> bool:
    """Someone is up and about: motion seen, any door or bed change."""
    telemetry = reading.telemetry
    if isinstance(telemetry, MotionTelemetry):
        return telemetry.data.motion
    return isinstance(telemetry, DoorTelemetry | BedTelemetry)


def activity(event: GatewayEvent) -> Reading | None:
    """The event as a reading that shows activity (`is_activity`); None for any other."""
    return event if isinstance(event, Reading) and is_activity(event) else None


def is_stove_on(reading: Reading, home: HomeContext) -> bool | None:
    """True/False for a stove plug's switch state; None for any other reading.

    A plug is the stove's when its data, the reading or the registry names the stove.
    """
    telemetry = reading.telemetry
    if not isinstance(telemetry, PowerTelemetry):
        return None
    if telemetry.data.appliance == "stove" or reading.appliance == "stove":
        return telemetry.data.on
    profile = home.devices.get(reading.device_id)
    return telemetry.data.on if profile is not None and profile.appliance == "stove" else None


def in_local_hours(ts: datetime, start: time, end: time, zone: ZoneInfo) -> bool:
    """Whether `ts` falls in [start, end) home-local; a window with start > end spans midnight."""
    return in_hours(ts.astimezone(zone).time(), start, end)


def in_hours(local: time, start: time, end: time) -> bool:
    """Whether a local wall time falls in [start, end); start > end spans midnight."""
    if start <= end:
        return start <= local < end
    return local >= start or local < end


@lru_cache(maxsize=4096)
def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time on a local date."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def overdue(
    kind: AlertKind,
    home: HomeContext,
    started: Evidence | None,
    since: datetime | None,
    after: timedelta,
    now: datetime,
    *,
    summary: str,
    since_key: str,
    after_key: str = "after_min",
) -> Detection | None:
    """The `open` of a watch begun at `since` by the reading `started`, once it has lasted
    `after` by `now`; None while it has not (or when nothing is watched).

    `summary` is formatted with `local` (the start, home-local) and `minutes` (`after`);
    the details name the start (`since_key`) and the minutes (`after_key`).
    """
    if since is None or started is None or now < since + after:
        return None
    rules = home.rules
    minutes = after.total_seconds() / 60
    return detection(
        rules.home_id,
        kind,
        "open",
        (started.device_id, since.isoformat()),
        at=since + after,
        summary=summary.format(local=since.astimezone(rules.zone), minutes=minutes),
        evidence=(started,),
        details={since_key: since.isoformat(), after_key: minutes},
    )


def watch_cancel(
    kind: AlertKind,
    home: HomeContext,
    started: Evidence,
    since: datetime,
    reading: Reading,
    summary: str,
) -> Detection:
    """The `cancel` of a watch begun at `since` by `started` (same id key as its `open`),
    ended by `reading`."""
    return detection(
        home.rules.home_id,
        kind,
        "cancel",
        (started.device_id, since.isoformat()),
        at=reading.telemetry.ts,
        summary=summary,
        evidence=(started, evidence_of(reading)),
    )


def silence_cancel(
    kind: AlertKind,
    home: HomeContext,
    reported: datetime,
    reading: Reading,
    details: Details | None = None,
) -> Detection:
    """The `cancel` of a silence reported from its last activity at `reported`, ended by
    the activity `reading`."""
    telemetry = reading.telemetry
    return detection(
        home.rules.home_id,
        kind,
        "cancel",
        (reported.isoformat(),),
        at=telemetry.ts,
        summary=f"activity seen again ({telemetry.type} on {reading.device_id})",
        evidence=(evidence_of(reading),),
        details=details,
    )
