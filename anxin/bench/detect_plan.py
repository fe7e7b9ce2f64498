"""What `anxin bench detect` feeds the engine: a fleet's incidents, and its stream as the gateway hands it on.

Every home gets one incident of each kind the simulator injects, spread over
its scored days and times of day; the simulator's messages are converted as
the gateway would (payload → `Telemetry`, status → `StatusChange`) and cut at
each simulated minute, where the runner ticks.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, cast
from zoneinfo import ZoneInfo

from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detector import DeviceProfile, HomeContext
from processors.rules import HomeRules
from simulators.events import SimEvent, SimItem
from simulators.fleet import FleetHome
from simulators.injections import KINDS, Injection, InjectionKind

START_DATE: Final = "2026-03-02"
TICK: Final = timedelta(minutes=1)

# Local hours at which incidents are asked for; the simulator moves a request
# that makes no sense then to the next suitable moment (truth says when).
_NIGHT, _MORNING, _AFTERNOON, _EVENING = 1, 10, 15, 19
_SLOTS: Final[dict[str, tuple[int, ...]]] = {
    "night_wandering": (_NIGHT,),
    "bed_exit": (_NIGHT,),
    "inactivity": (_MORNING,),
    "stove_unattended": (_AFTERNOON, _MORNING),
}
_ANY: Final = (_MORNING, _AFTERNOON, _EVENING, _NIGHT)


@dataclass(frozen=True, slots=True)
class DetectOptions:
    homes: int = 10
    days: int = 4
    learn_days: int = 14
    seed: int = 1
    timezone: str = "Asia/Shanghai"
    json_path: Path | None = None

    @property
    def home_days(self) -> int:
        return self.homes * self.days

    def command(self) -> str:
        """The command line that reproduces this run."""
        argv = [
            "anxin",
            "bench",
            "detect",
            f"--homes={self.homes}",
            f"--days={self.days}",
            f"--learn-days={self.learn_days}",
            f"--seed={self.seed}",
        ]
        return shlex.join(argv)


def plan_injections(
    fleet: Sequence[FleetHome], options: DetectOptions, start: datetime
) -> list[Injection]:
    """One incident of every kind per home, spread over its scored days and times of day.

    `device_offline` silences its device for good, so it comes last in each home.
    """
    zone = ZoneInfo(options.timezone)
    planned: list[Injection] = []
    for home in fleet:
        rng = random.Random(f"{options.seed}:{home.home_id}:bench-detect")
        free = {(day, hour) for day in range(options.days) for hour in _ANY}
        kinds = [cast(InjectionKind, kind) for kind in KINDS if kind != "device_offline"]
        kinds.sort(key=lambda kind: (kind not in _SLOTS, rng.random()))
        chosen: list[tuple[int, int, InjectionKind]] = []
        for kind in kinds:
            allowed = _SLOTS.get(kind, _ANY)
            options_left = sorted(slot for slot in free if slot[1] in allowed)
            if not options_left:
                options_left = [(day, hour) for day in range(options.days) for hour in allowed]
            slot = rng.choice(options_left)
            free.discard(slot)
            chosen.append((slot[0], slot[1], kind))
        last_day = max(day for day, _, _ in chosen)
        chosen.append((last_day, 22, "device_offline"))
        for day, hour, kind in chosen:
            local = (start + timedelta(days=options.learn_days + day)).astimezone(zone)
            at = local.replace(hour=hour, minute=rng.randrange(0, 50))
            offset = timedelta(seconds=round((at - start).total_seconds()))
            planned.append(Injection(kind=kind, home_id=home.home_id, offset=offset))
    return planned


def context_for(home: FleetHome, timezone: str) -> HomeContext:
    """What the registry would tell the engine about a simulated home."""
    devices = {
        device.device_id: DeviceProfile(
            device_id=device.device_id,
            type=device.type,
            room=device.room,
            appliance=device.appliance,
            report_interval_s=device.report_interval_s,
        )
        for device in home.devices
    }
    return HomeContext(rules=HomeRules(home_id=home.home_id, timezone=timezone), devices=devices)


def to_gateway_event(item: SimItem, devices: dict[str, DeviceProfile]) -> GatewayEvent:
    """A simulator message as the gateway hands it on: decoded telemetry or a status change."""
    if isinstance(item, SimEvent):
        profile = devices.get(item.device_id)
        return Reading(
            home_id=item.home_id,
            device_id=item.device_id,
            room=profile.room if profile else None,
            appliance=profile.appliance if profile else None,
            received_at=item.ts,
            telemetry=TELEMETRY_ADAPTER.validate_python(item.payload),
        )
    return StatusChange(
        home_id=item.home_id, device_id=item.device_id, status=item.status, at=item.ts
    )


def minutes(items: Iterator[SimItem]) -> Iterator[tuple[datetime, list[SimItem]]]:
    """The stream cut at each whole minute: (the minute's end, the items before it)."""
    chunk: list[SimItem] = []
    edge: datetime | None = None
    for item in items:
        if edge is None:
            edge = item.ts.replace(second=0, microsecond=0) + TICK
        while item.ts >= edge:
            yield edge, chunk
            chunk = []
            edge += TICK
        chunk.append(item)
    if edge is not None:
        yield edge, chunk
