"""Per-device liveness as the gateway sees it: last status message and last reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DeviceState = Literal["online", "offline", "unknown"]


@dataclass(slots=True)
class DeviceHealth:
    home_id: str
    status: DeviceState = "unknown"
    status_at: datetime | None = None
    last_seen: datetime | None = None
    battery: float | None = None


class DeviceHealthBoard:
    """Updated on every message; read by the API and by offline detection."""

    def __init__(self) -> None:
        self._devices: dict[str, DeviceHealth] = {}

    def _entry(self, device_id: str, home_id: str) -> DeviceHealth:
        entry = self._devices.get(device_id)
        if entry is None:
            entry = self._devices[device_id] = DeviceHealth(home_id=home_id)
        return entry

    def seen(self, device_id: str, home_id: str, at: datetime, battery: float | None) -> None:
        entry = self._entry(device_id, home_id)
        if entry.last_seen is None or at > entry.last_seen:
            entry.last_seen = at
        if battery is not None:
            entry.battery = battery

    def status(self, device_id: str, home_id: str, status: DeviceState, at: datetime) -> None:
        entry = self._entry(device_id, home_id)
        entry.status = status
        entry.status_at = at

    def get(self, device_id: str) -> DeviceHealth | None:
        return self._devices.get(device_id)

    def of_home(self, home_id: str) -> dict[str, DeviceHealth]:
        return {key: value for key, value in self._devices.items() if value.home_id == home_id}
