"""Recognising a redelivered reading by its `(device_id, seq)` identity."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Final

_PER_DEVICE: Final = 128


class SeenReadings:
    """Remembers the last readings of each device, bounded in memory.

    A device restarting resets its `seq`, so the same `seq` with a different
    `ts` is a new reading, not a duplicate; the device's window starts over.
    """

    def __init__(self, per_device: int = _PER_DEVICE, max_devices: int = 200_000) -> None:
        self._per_device = per_device
        self._max_devices = max_devices
        self._devices: OrderedDict[str, dict[int, datetime]] = OrderedDict()

    def clear(self) -> None:
        """Forget every reading, as a restart would."""
        self._devices.clear()

    def is_duplicate(self, device_id: str, seq: int, ts: datetime) -> bool:
        """Record this reading; True when the identical reading was seen before."""
        window = self._devices.get(device_id)
        if window is None:
            if len(self._devices) >= self._max_devices:
                self._devices.popitem(last=False)
            window = self._devices[device_id] = {}
        seen_ts = window.get(seq)
        if seen_ts is not None:
            if seen_ts == ts:
                return True
            window.clear()
        window[seq] = ts
        if len(window) > self._per_device:
            del window[next(iter(window))]
        return False
