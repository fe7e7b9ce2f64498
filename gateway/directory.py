"""The gateway's in-memory view of the device registry, kept fresh cheaply."""

from __future__ import annotations

from typing import Final

from devices.registry import Device, DeviceDirectory

_MISS_RECHECK_S: Final = 1.0


class CachedDirectory:
    """Looks devices up in memory; asks the registry again only on a miss.

    A device provisioned a moment ago is found on its first message; an
    unknown id is asked about at most once a second, so a flood of messages
    from unknown ids cannot turn into a flood of database queries.
    """

    def __init__(self, registry: DeviceDirectory, devices: list[Device]) -> None:
        self._registry = registry
        self._devices = {device.device_id: device for device in devices}
        self._misses: dict[str, float] = {}

    def lookup(self, device_id: str, *, monotonic_now: float) -> Device | None:
        device = self._devices.get(device_id)
        if device is not None:
            return device
        last_asked = self._misses.get(device_id)
        if last_asked is not None and monotonic_now - last_asked < _MISS_RECHECK_S:
            return None
        if len(self._misses) > 100_000:
            self._misses.clear()
        device = self._registry.lookup(device_id)
        if device is None:
            self._misses[device_id] = monotonic_now
            return None
        self._misses.pop(device_id, None)
        self._devices[device_id] = device
        return device

    def forget(self, device_id: str) -> None:
        """Drop a device (re-provisioned or removed) so the next lookup reads the registry."""
        self._devices.pop(device_id, None)
