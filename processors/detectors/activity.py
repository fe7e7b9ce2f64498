"""What the activity rules share: what counts as activity, and home-local hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from devices.events import Reading
from devices.types.bed import BedTelemetry
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from devices.types.power import PowerTelemetry
from processors.detector import HomeContext


def is_activity(reading: Reading) -> bool:
    """Someone is up and about: motion seen, any door or bed change."""
    telemetry = reading.telemetry
    if isinstance(telemetry, MotionTelemetry):
        return telemetry.data.motion
    return isinstance(telemetry, DoorTelemetry | BedTelemetry)


def is_stove_on(reading: Reading, home: HomeContext) -> bool | None:
    """True/False for a stove plug's switch state; None for any other reading."""
    telemetry = reading.telemetry
    if not isinstance(telemetry, PowerTelemetry):
        return None
    profile = home.devices.get(reading.device_id)
    names = {telemetry.data.appliance, reading.appliance, profile.appliance if profile else None}
    return telemetry.data.on if "stove" in names else None


def in_local_hours(ts: datetime, start: time, end: time, zone: ZoneInfo) -> bool:
    """Whether `ts` falls in [start, end) home-local; a window with start > end spans midnight."""
    local = ts.astimezone(zone).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time on a local date."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
