"""Each home's `HomeContext` (rules and device profiles) from the SQL registry.

Runners call `HomeDirectory.refresh` periodically (off the event loop: it does
SQL) and `context_for` on every event; a home not in the registry is judged
on CONTRACT §2's default rules with no known devices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from devices.registry import Device, Home
from processors.detector import DeviceProfile, HomeContext
from processors.rules import HomeRules
from records.devices import DeviceRegistry


def build_contexts(homes: Iterable[Home], devices: Iterable[Device]) -> dict[str, HomeContext]:
    """One context per home: its zone and away flag, and its devices' profiles."""
    profiles: dict[str, dict[str, DeviceProfile]] = {}
    for device in devices:
        profiles.setdefault(device.home_id, {})[device.device_id] = DeviceProfile(
            device_id=device.device_id,
            type=device.type,
            room=device.room,
            appliance=device.appliance,
            report_interval_s=device.report_interval_s,
        )
    return {
        home.home_id: HomeContext(
            rules=HomeRules(home_id=home.home_id, timezone=home.timezone, away=home.away),
            devices=profiles.get(home.home_id, {}),
        )
        for home in homes
    }


class HomeDirectory:
    """The registry's homes as contexts, cached between refreshes.

    A refresh reloads only the homes changed or given a device since the one before
    (5,000 homes: ~1 ms instead of ~165 ms of CPU a minute, which held the GIL against
    the event loop); every home is reloaded at the first refresh and once an hour, in
    case a change was made outside the stores. The look back reaches `OVERLAP` before
    the last refresh, for other processes' clocks and transactions that commit late.
    """

    OVERLAP: Final = timedelta(minutes=5)
    FULL_EVERY: Final = timedelta(hours=1)

    def __init__(
        self,
        registry: DeviceRegistry | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._contexts: dict[str, HomeContext] = {}
        self._defaults: dict[str, HomeContext] = {}
        self._last: datetime | None = None
        self._last_full: datetime | None = None

    def refresh(self) -> int:
        """Bring the contexts up to date (blocking SQL: run it in a thread); returns how
        many homes were reloaded."""
        if self._registry is None:
            return 0
        started = self._clock()
        changed = None
        if (
            self._last is not None
            and self._last_full is not None
            and started - self._last_full < self.FULL_EVERY
        ):
            changed = self._registry.changed_since(self._last - self.OVERLAP)
        if changed is None:
            self._contexts = build_contexts(self._registry.homes(), self._registry.devices())
            self._last_full = started
            reloaded = len(self._contexts)
        else:
            fresh = build_contexts(*changed)
            if fresh:
                self._contexts = {**self._contexts, **fresh}  # swapped whole: readers on the loop
            reloaded = len(fresh)
        self._last = started
        self._defaults.clear()
        return reloaded

    def context_for(self, home_id: str) -> HomeContext:
        context = self._contexts.get(home_id)
        if context is not None:
            return context
        default = self._defaults.get(home_id)
        if default is None:
            default = self._defaults[home_id] = HomeContext(rules=HomeRules(home_id=home_id))
        return default
