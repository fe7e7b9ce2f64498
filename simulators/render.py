"""Stays and device clocks to device events (`seq` and battery are added later).

Sensors behave like the common Zigbee/BLE ones: a PIR reports `motion: true`
when it sees movement after being clear and `motion: false` 90 s after the
last movement; contact sensors report every open and close; the bed mat
reports each change; smart plugs, climate and smoke/CO sensors report a
reading every interval; event-driven sensors send a heartbeat every interval.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, Protocol

from devices.telemetry import TelemetryType
from simulators.fleet import FleetHome, Role
from simulators.routine import IN_BED, MINUTE, MOTIONLESS, SECOND, Activity, Profile, Stay
from simulators.vitals import Baseline, sample_vitals

PIR_HOLD: Final = 90 * SECOND
"""A PIR reports clear this long after the last movement it saw."""

_EPOCH_DAY: Final = 86_400_000
_BURSTS: Final[dict[Activity, tuple[float, float | None]]] = {
    # activity: (mean seconds between movements, longest gap in seconds)
    "dress": (50, 150),
    "wash": (45, 120),
    "toilet": (60, 150),
    "cook": (70, 240),
    "snack": (45, 120),
    "relax": (420, 1500),
    "tidy": (80, 240),
    "pace": (30, 80),
    "sleep": (3000, 6000),
}
_FIRMWARE: Final[dict[Role, str]] = {
    "wearable": "3.2.0",
    "motion": "1.4.2",
    "door": "1.4.2",
    "bed": "2.0.7",
    "leak": "1.1.0",
}
# (percent lost per day, level it is recharged/replaced at, top level)
_BATTERY: Final[dict[Role, tuple[float, float, float]]] = {
    "wearable": (4.0, 25.0, 100.0),
    "smoke": (0.01, 40.0, 100.0),
}
_SENSOR_BATTERY: Final = (0.03, 20.0, 100.0)


class Raw(NamedTuple):
    """One device event before it gets its envelope: epoch ms, device, type, data."""

    ts: int
    device_id: str
    type: TelemetryType
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HomeDevices:
    """Device ids of a home by what they watch."""

    wearable: str
    motion: Mapping[str, str]
    doors: Mapping[str, str]
    bed: str
    stove: str
    leak: Mapping[str, str]
    smoke: str
    climate: str

    @classmethod
    def of(cls, home: FleetHome) -> HomeDevices:
        def ids(role: Role) -> dict[str, str]:
            return {
                (device.door or device.room or ""): device.device_id
                for device in home.devices
                if device.role == role
            }

        return cls(
            wearable=home.find("wearable").device_id,
            motion=ids("motion"),
            doors=ids("door"),
            bed=home.find("bed").device_id,
            stove=home.find("stove").device_id,
            leak=ids("leak"),
            smoke=home.find("smoke").device_id,
            climate=home.find("climate").device_id,
        )


def render_stay(prev: Stay | None, stay: Stay, devices: HomeDevices) -> list[Raw]:
    """Everything the home's sensors report from the resident arriving at `stay` to leaving it."""
    rng = random.Random(stay.key)
    start = stay.start
    events: list[Raw] = []
    movements: list[tuple[int, str]] = []
    prev_place = prev.place if prev is not None else stay.place
    prev_in_bed = prev is not None and prev.activity in IN_BED

    def door(name: str, at: int, is_open: bool) -> None:
        events.append(Raw(at, devices.doors[name], "door", {"door": name, "open": is_open}))

    if prev_in_bed and stay.activity not in IN_BED:
        events.append(Raw(start, devices.bed, "bed", {"occupied": False}))
    if prev_place == "bathroom" and stay.place != "bathroom":
        door("bathroom", start + 2 * SECOND, True)
        door("bathroom", start + 6 * SECOND, False)
    moved = stay.place != prev_place
    arrival = start + 15 * SECOND
    if prev_place == "out" and moved:
        door("front", start, True)
        door("front", start + 8 * SECOND, False)
        movements.append((start + 12 * SECOND, "hall"))
        arrival = start + 20 * SECOND
    if moved and stay.place == "out":
        if prev_place != "hall":
            movements.append((start + SECOND, "hall"))
        door("front", start + 10 * SECOND, True)
        door("front", start + 18 * SECOND, False)
    elif moved:
        if "hall" not in (prev_place, stay.place) and prev_place != "out":
            movements.append((start + 4 * SECOND, "hall"))
        if stay.place == "bathroom":
            door("bathroom", start + 8 * SECOND, True)
            door("bathroom", start + 13 * SECOND, False)
    if stay.activity in IN_BED and not prev_in_bed:
        settle = min(60 * SECOND, (stay.end - start) // 2)
        events.append(Raw(start + settle, devices.bed, "bed", {"occupied": True}))
    if stay.place != "out" and stay.activity not in MOTIONLESS:
        first = arrival if moved else start + round(rng.uniform(5, 60) * SECOND)
        movements += [(at, stay.place) for at in _movements(rng, stay, first)]
    events += _pir(movements, devices)
    for moment in stay.fridge:
        door("fridge", moment, True)
        door("fridge", moment + round(rng.uniform(8, 40) * SECOND), False)
    return events


def _movements(rng: random.Random, stay: Stay, first: int) -> Iterator[int]:
    if first >= stay.end:
        return
    yield first
    burst = _BURSTS.get(stay.activity)
    if burst is None:
        return
    mean, longest = burst
    at = first
    while True:
        gap = max(20.0, rng.expovariate(1.0 / mean))
        if longest is not None:
            gap = min(gap, longest)
        at += round(gap * SECOND)
        if at >= stay.end - 5 * SECOND:
            return
        yield at


def _pir(movements: list[tuple[int, str]], devices: HomeDevices) -> list[Raw]:
    """Movements to PIR reports: `true` after being clear, `false` 90 s after the last one."""
    events: list[Raw] = []
    by_room: dict[str, list[int]] = {}
    for at, room in movements:
        by_room.setdefault(room, []).append(at)
    for room, moments in by_room.items():
        device = devices.motion[room]
        moments.sort()
        previous: int | None = None
        for index, at in enumerate(moments):
            if previous is None or at - previous > PIR_HOLD:
                events.append(Raw(at, device, "motion", {"room": room, "motion": True}))
            following = moments[index + 1] if index + 1 < len(moments) else None
            if following is None or following - at > PIR_HOLD:
                events.append(Raw(at + PIR_HOLD, device, "motion", {"room": room, "motion": False}))
            previous = at
    return events


def render_stove(on: int, off: int, device_id: str, key: str) -> list[Raw]:
    """A stove use seen by its smart plug: the switch, a reading a minute while on, the switch off."""
    rng = random.Random(f"{key}:stove:{on}")
    rated = rng.uniform(1500, 2000)
    events = [
        Raw(on, device_id, "power", {"appliance": "stove", "watts": round(rated, 1), "on": True})
    ]
    at = on + MINUTE
    while at < off:
        watts = round(rated * rng.uniform(0.93, 1.03), 1)
        events.append(
            Raw(at, device_id, "power", {"appliance": "stove", "watts": watts, "on": True})
        )
        at += MINUTE
    events.append(Raw(off, device_id, "power", {"appliance": "stove", "watts": 0.0, "on": False}))
    return events


class World(Protocol):
    """What periodic readings depend on at a moment."""

    def stay_at(self, t: int) -> Stay: ...

    def stove_on_at(self, t: int) -> bool: ...

    def smoke_at(self, t: int) -> float | None: ...

    def deterioration_at(self, t: int) -> tuple[float, Baseline] | None: ...

    def local_hour(self, t: int) -> float: ...


@dataclass(frozen=True, slots=True)
class DeviceClock:
    """When a device reports on its own, and the slowly changing parts of what it says."""

    device_id: str
    role: Role
    interval: int
    phase: int
    rssi: float
    firmware: str
    battery: tuple[float, float, float, float] | None
    """(percent lost per day, recharge level, top level, days already run down)"""

    def ticks(self, start: int, end: int, *, every: int = 0, offset: int = 0) -> range:
        """Report moments in [start, end) on this device's fixed grid (or another period)."""
        step = every or self.interval
        base = (self.phase + offset) % step
        first = -(-(start - base) // step)
        return range(base + first * step, end, step)

    def battery_at(self, t: int) -> int | None:
        if self.battery is None:
            return None
        rate, floor, top, head_start = self.battery
        used = (t / _EPOCH_DAY + head_start) * rate
        return round(top - math.fmod(used, top - floor))


def clocks_for(home: FleetHome, seed: int) -> tuple[DeviceClock, ...]:
    clocks = []
    for device in home.devices:
        rng = random.Random(f"{seed}:{device.device_id}:clock")
        interval = device.report_interval_s * SECOND
        battery = None
        if device.battery_powered:
            rate, floor, top = _BATTERY.get(device.role, _SENSOR_BATTERY)
            battery = (rate, floor, top, rng.uniform(0, (top - floor) / rate))
        clocks.append(
            DeviceClock(
                device_id=device.device_id,
                role=device.role,
                interval=interval,
                phase=rng.randrange(interval),
                rssi=rng.uniform(-85, -45),
                firmware=_FIRMWARE.get(device.role, "1.0.3"),
                battery=battery,
            )
        )
    return tuple(clocks)


def render_ticks(
    start: int, end: int, clocks: tuple[DeviceClock, ...], profile: Profile, world: World, key: str
) -> list[Raw]:
    """Every periodic report in [start, end); call it on whole, fixed buckets to stay reproducible."""
    rng = random.Random(key)
    events: list[Raw] = []
    for clock in clocks:
        role = clock.role
        device = clock.device_id
        if role == "wearable":
            for at in clock.ticks(start, end):
                stay = world.stay_at(at)
                events.append(
                    Raw(
                        at,
                        device,
                        "vitals",
                        sample_vitals(
                            profile.vitals,
                            local_hour=world.local_hour(at),
                            asleep=stay.activity in IN_BED,
                            active=stay.activity in ("cook", "out", "pace", "wash"),
                            with_bp=(at - clock.phase) // clock.interval % 6 == 0,
                            rng=rng,
                            deterioration=world.deterioration_at(at),
                        ),
                    )
                )
            for at in clock.ticks(start, end, every=3 * clock.interval, offset=150 * SECOND):
                events.append(Raw(at, device, "heartbeat", _heartbeat(clock, rng)))
        elif role in ("motion", "door", "bed", "leak"):
            for at in clock.ticks(start, end):
                events.append(Raw(at, device, "heartbeat", _heartbeat(clock, rng)))
        elif role == "stove":
            for at in clock.ticks(start, end):
                if not world.stove_on_at(at):
                    watts = round(rng.uniform(0.3, 0.9), 1)
                    events.append(
                        Raw(
                            at, device, "power", {"appliance": "stove", "watts": watts, "on": False}
                        )
                    )
        elif role == "smoke":
            for at in clock.ticks(start, end):
                co = world.smoke_at(at)
                events.append(
                    Raw(
                        at,
                        device,
                        "smoke",
                        {
                            "alarm": co is not None,
                            "co_ppm": round(co if co is not None else rng.uniform(0, 3), 1),
                        },
                    )
                )
        elif role == "climate":
            for at in clock.ticks(start, end):
                swing = math.sin(2 * math.pi * (world.local_hour(at) - 9.0) / 24.0)
                temperature = profile.room_temperature + 1.2 * swing + rng.gauss(0, 0.15)
                humidity = profile.room_humidity - 4.0 * swing + rng.gauss(0, 1.0)
                events.append(
                    Raw(
                        at,
                        device,
                        "environment",
                        {
                            "room": "bedroom",
                            "temperature": round(min(29.0, max(17.5, temperature)), 1),
                            "humidity": round(min(90.0, max(35.0, humidity)), 1),
                        },
                    )
                )
    return events


def _heartbeat(clock: DeviceClock, rng: random.Random) -> dict[str, Any]:
    rssi = round(min(-30.0, max(-100.0, clock.rssi + rng.gauss(0, 2.0))))
    return {"rssi": rssi, "firmware": clock.firmware}
