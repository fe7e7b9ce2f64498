"""Recognising a redelivered reading by its `(device_id, seq)` identity."""

from __future__ import annotations

from array import array
from collections import OrderedDict
from datetime import datetime
from typing import Final

_PER_DEVICE: Final = 128
_UNUSED: Final = -1
"""No seq is negative (the schema says so): an empty slot."""


class _Window:
    """One device's recent readings: slot `seq % size` holds that seq and its `ts`."""

    __slots__ = ("seqs", "stamps")

    def __init__(self, size: int) -> None:
        self.seqs = array("q", [_UNUSED]) * size
        self.stamps = array("d", [0.0]) * size

    def reset(self) -> None:
        self.seqs = array("q", [_UNUSED]) * len(self.seqs)


class SeenReadings:
    """Remembers each device's recent readings, bounded in memory.

    A device's seq increases, so its last `per_device` readings sit in distinct slots
    (`seq % per_device`): a redelivery of any of them is found in one look, and a slot
    is reused only by a newer seq. A device restarting resets its `seq`, so the same
    `seq` with a different `ts` is a new reading, not a duplicate, and the device's
    window starts over. A reading is called a duplicate only when that very `(seq, ts)`
    was seen.

    Two arrays a device, ~2 KB for 128 readings: a dict of datetimes took ~15 KB, which
    at 100,000 devices would have been 1.5 GB of gateway.
    """

    def __init__(self, per_device: int = _PER_DEVICE, max_devices: int = 200_000) -> None:
        self._per_device = per_device
        self._max_devices = max_devices
        self._devices: OrderedDict[str, _Window] = OrderedDict()

    def clear(self) -> None:
        """Forget every reading, as a restart would."""
        self._devices.clear()

    def is_duplicate(self, device_id: str, seq: int, ts: datetime) -> bool:
        """Record this reading; True when the identical reading was seen before."""
        stamp = ts.timestamp()
        window = self._devices.get(device_id)
        if window is None:
            if len(self._devices) >= self._max_devices:
                self._devices.popitem(last=False)
            window = self._devices[device_id] = _Window(self._per_device)
        slot = seq % self._per_device
        if window.seqs[slot] == seq:
            if window.stamps[slot] == stamp:
                return True
            window.reset()
        window.seqs[slot] = seq
        window.stamps[slot] = stamp
        return False
