"""Each home's `HomeContext` (rules and device profiles) from the SQL registry.

Runners call `HomeDirectory.refresh` periodically (off the event loop: it does
SQL) and `context_for` on every event; a home not in the registry is judged
on CONTRACT §2's default rules with no known devices.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    """The registry's homes as contexts, cached between refreshes."""

    def __init__(self, registry: DeviceRegistry | None = None) -> None:
        self._registry = registry
        self._contexts: dict[str, HomeContext] = {}
        self._defaults: dict[str, HomeContext] = {}

    def refresh(self) -> int:
        """Reload from the registry (blocking SQL: run it in a thread); returns the home count."""
        if self._registry is None:
            return 0
        self._contexts = build_contexts(self._registry.homes(), self._registry.devices())
        self._defaults.clear()
        return len(self._contexts)

    def context_for(self, home_id: str) -> HomeContext:
        context = self._contexts.get(home_id)
        if context is not None:
            return context
        default = self._defaults.get(home_id)
        if default is None:
            default = self._defaults[home_id] = HomeContext(rules=HomeRules(home_id=home_id))
        return default
