"""A home at a glance (`GET /homes/{id}/status`), composed from the records and the time series.

Pure: the route gathers the profile, devices, newest readings and active alerts,
and `home_status` only arranges them, so what "last activity" and "device
health" mean is decided in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from alerts.model import Alert
from alerts.notifiers.stream import AlertChange
from api.schemas.homes import DevicePublic
from devices.registry import Device
from gateway.timeseries import SeriesPoint
from records.homes import EmergencyContact, HomeProfile, Resident

ActivityType = Literal["motion", "door", "bed"]

DEVICE_KINDS: Final = frozenset({"device_offline", "low_battery"})
"""Alert kinds that are about a device rather than the resident."""


class LastActivity(BaseModel):
    """The newest reading that shows someone up and about (as the inactivity rule counts it)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    type: ActivityType
    device_id: str | None
    place: str | None


class DeviceProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    alert_id: str
    kind: str
    summary: str


class DeviceHealth(DevicePublic):
    ok: bool
    problems: tuple[DeviceProblem, ...]
    """Active `device_offline` / `low_battery` alerts naming this device."""


class HomeStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    home_id: str
    address: str
    timezone: str
    away: bool
    resident: Resident
    emergency_contacts: tuple[EmergencyContact, ...]
    latest: dict[str, SeriesPoint]
    """Newest reading of each telemetry type, keyed by type."""
    last_activity: LastActivity | None
    devices: tuple[DeviceHealth, ...]
    open_alerts: tuple[AlertChange, ...]
    as_of: datetime


def is_motion_seen(point: SeriesPoint) -> bool:
    return point.fields.get("motion") is True


def last_activity(
    latest: Mapping[str, SeriesPoint], motion_seen: SeriesPoint | None
) -> LastActivity | None:
    """The newest of: the last door change, the last bed change, the last motion seen."""
    newest: tuple[tuple[ActivityType, SeriesPoint | None], ...] = (
        ("door", latest.get("door")),
        ("bed", latest.get("bed")),
        ("motion", motion_seen),
    )
    candidates = [(kind, point) for kind, point in newest if point is not None]
    if not candidates:
        return None
    kind, point = max(candidates, key=lambda candidate: candidate[1].time)
    tags = point.tags
    return LastActivity(
        at=point.time,
        type=kind,
        device_id=tags.get("device_id"),
        place=tags.get("room") or tags.get("door"),
    )


def device_health(device: Device, alerts: Sequence[Alert]) -> DeviceHealth:
    """A device and the active device alerts naming it (in `details` or in their evidence:
    several devices of a home share one alert of a kind, CONTRACT §2)."""
    problems = tuple(
        DeviceProblem(alert_id=alert.alert_id, kind=alert.kind, summary=alert.summary)
        for alert in alerts
        if alert.active
        and alert.kind in DEVICE_KINDS
        and (
            alert.details.get("device_id") == device.device_id
            or any(item.device_id == device.device_id for item in alert.evidence)
        )
    )
    return DeviceHealth(**DevicePublic.of(device).model_dump(), ok=not problems, problems=problems)


def home_status(
    profile: HomeProfile,
    devices: Sequence[Device],
    latest: Mapping[str, SeriesPoint],
    motion_seen: SeriesPoint | None,
    alerts: Sequence[Alert],
    *,
    now: datetime,
) -> HomeStatus:
    home = profile.home
    return HomeStatus(
        home_id=home.home_id,
        address=home.address,
        timezone=home.timezone,
        away=home.away,
        resident=profile.resident,
        emergency_contacts=profile.emergency_contacts,
        latest=dict(latest),
        last_activity=last_activity(latest, motion_seen),
        devices=tuple(device_health(device, alerts) for device in devices),
        open_alerts=tuple(AlertChange.of(alert) for alert in alerts if alert.active),
        as_of=now,
    )
