"""The end-to-end bench's background load: what N full homes would send, and how to match it.

A full simulated home is 15 devices, each its own MQTT connection (CONTRACT §1), so
5,000 of them (75,000 connections) do not fit this machine's 20,000 file descriptors,
let alone the embedded pure-Python broker. The bench therefore runs a device profile
(by default the watch alone: one connection per home, and the device whose messages
the alert path reads most) and speeds the simulation up until the profile's message
rate equals the full homes' rate. Both rates are counted from the simulator itself,
so they follow its routines rather than a constant written here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from simulators.fleet import Role, build_fleet
from simulators.profile import ROLES
from simulators.stream import SimEvent, generate

SAMPLE_HOMES: Final = 20
SAMPLE_DAYS: Final = 2
SAMPLE_START: Final = datetime(2026, 11, 23, tzinfo=UTC)
"""A fixed span, so the same seed always gives the same rates (and the same speed)."""
DAY_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class HomeDay:
    """Telemetry messages one simulated home sends per day, by device role."""

    by_role: dict[Role, float]

    def messages(self, roles: Sequence[Role] = ROLES) -> float:
        return sum(self.by_role.get(role, 0.0) for role in roles)


def measure_home_day(seed: int, *, homes: int = SAMPLE_HOMES, days: int = SAMPLE_DAYS) -> HomeDay:
    """Count what the simulator's homes send over `days` days, averaged per home-day."""
    counts: Counter[Role] = Counter()
    start = SAMPLE_START
    end = start + timedelta(days=days)
    for home in build_fleet(homes, seed=seed):
        roles = {device.device_id: device.role for device in home.devices}
        for item in generate(home, start, end, seed=seed):
            if isinstance(item, SimEvent):
                counts[roles[item.device_id]] += 1
    home_days = homes * days
    return HomeDay({role: counts[role] / home_days for role in ROLES})


@dataclass(frozen=True, slots=True)
class BackgroundPlan:
    """The background fleet: its profile, its speed, and the rates that justify them."""

    homes: int
    roles: tuple[Role, ...]
    devices_per_home: int
    full_per_home_day: float
    profile_per_home_day: float
    speed: float

    @property
    def devices(self) -> int:
        return self.homes * self.devices_per_home

    @property
    def full_rate_per_s(self) -> float:
        """Messages/s that `homes` homes with every device would send in real time."""
        return self.homes * self.full_per_home_day / DAY_S

    @property
    def rate_per_s(self) -> float:
        """Messages/s the profile sends at `speed` (what the bench aims to publish)."""
        return self.homes * self.profile_per_home_day * self.speed / DAY_S

    @property
    def matching_speed(self) -> float:
        """The speed at which the profile's rate equals the full homes' rate."""
        return self.full_per_home_day / self.profile_per_home_day


def plan_background(
    homes: int, roles: Sequence[Role], home_day: HomeDay, *, speed: float | None = None
) -> BackgroundPlan:
    """The plan for `homes` homes of profile `roles`; `speed` None matches the full rate."""
    profile = home_day.messages(roles)
    if profile <= 0:
        raise ValueError(f"devices {','.join(roles)} send nothing in the simulator")
    full = home_day.messages()
    chosen = speed if speed is not None else round(full / profile, 2)
    wanted = set(roles)
    devices_per_home = sum(1 for device in build_fleet(1)[0].devices if device.role in wanted)
    return BackgroundPlan(
        homes=homes,
        roles=tuple(roles),
        devices_per_home=devices_per_home,
        full_per_home_day=full,
        profile_per_home_day=profile,
        speed=chosen,
    )


def simulated_duration(speed: float, wall_s: float) -> str:
    """`anxin simulate --duration` text for a run that publishes for at least `wall_s` s.

    An accelerated run of known duration starts far enough in the past that its end is
    now (the gateway refuses readings stamped in the future), so it must be given one.
    """
    minutes = max(1, math.ceil(speed * wall_s / 60))
    return f"{minutes}m"
