"""Simulated homes: where they are, who lives there, which devices they have."""

from __future__ import annotations

import math
import random
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from devices.registry import Home
from devices.telemetry import TelemetryType
from simulators.errors import SimulatorError

ZHONGSHAN: Final = (22.517, 113.392)
"""Default city centre (lat, lon): Zhongshan, Guangdong."""

_KM_PER_DEGREE: Final = 111.32

Role = Literal["wearable", "motion", "door", "bed", "stove", "leak", "smoke", "climate"]

ROOMS: Final = ("bedroom", "bathroom", "kitchen", "living", "hall")
DOORS: Final = {"front": "entrance", "fridge": "kitchen", "bathroom": "bathroom"}
LEAK_ROOMS: Final = ("kitchen", "bathroom")

# Event-driven sensors check in with a heartbeat every interval; measuring ones
# (wearable, plug, smoke/CO, climate) report a reading every interval instead.
INTERVAL_S: Final[dict[Role, int]] = {
    "wearable": 300,
    "motion": 900,
    "door": 900,
    "bed": 900,
    "stove": 600,
    "leak": 1800,
    "smoke": 1800,
    "climate": 600,
}
_TYPE: Final[dict[Role, TelemetryType]] = {
    "wearable": "vitals",
    "motion": "motion",
    "door": "door",
    "bed": "bed",
    "stove": "power",
    "leak": "leak",
    "smoke": "smoke",
    "climate": "environment",
}
_FIRST_NAMES: Final = ("Mei", "Hua", "Lan", "Ying", "Fang", "Jun", "Wei", "Ming", "Qiang", "Jian")
_FAMILY_NAMES: Final = ("Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou")
_CONDITIONS: Final = ("hypertension", "arthritis", "type 2 diabetes", "hearing loss", "cataract")


class Resident(BaseModel):
    """The (synthetic) person living in a simulated home."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    birth_year: int = Field(ge=1900, le=2000)
    conditions: tuple[str, ...] = ()


class SimDevice(BaseModel):
    """One device of a simulated home, with what the registry needs to provision it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: Name
    home_id: Name
    role: Role
    type: TelemetryType = Field(description="the registered (main) telemetry type")
    room: Name | None = None
    appliance: Name | None = None
    door: Name | None = None
    report_interval_s: int = Field(ge=1)
    battery_powered: bool = True

    @property
    def emits(self) -> tuple[TelemetryType, ...]:
        """Every telemetry type the device sends."""
        if self.role == "wearable":
            return ("vitals", "fall", "sos", "heartbeat")
        if self.role in ("motion", "door", "bed", "leak"):
            return (self.type, "heartbeat")
        return (self.type,)


class FleetHome(BaseModel):
    """A simulated home: the registry's `Home`, its resident and its devices."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Home
    resident: Resident
    devices: tuple[SimDevice, ...]

    @property
    def home_id(self) -> str:
        return self.home.home_id

    def device(self, device_id: str) -> SimDevice:
        for device in self.devices:
            if device.device_id == device_id:
                return device
        raise SimulatorError(f"home {self.home_id} has no device {device_id}")

    def find(self, role: Role, place: str | None = None) -> SimDevice:
        """The device with `role` in `place` (a room, or the door's name for contacts)."""
        for device in self.devices:
            if device.role == role and (place is None or place in (device.room, device.door)):
                return device
        raise SimulatorError(f"home {self.home_id} has no {role} device for {place}")


def home_id_for(index: int) -> str:
    """`sim-0001` for the first home."""
    return f"sim-{index:04d}"


def build_fleet(
    count: int,
    *,
    seed: int = 0,
    centre: tuple[float, float] = ZHONGSHAN,
    radius_km: float = 8.0,
    timezone: str = "Asia/Shanghai",
) -> tuple[FleetHome, ...]:
    """`count` homes spread uniformly over a disc of `radius_km` around `centre`."""
    if count < 0:
        raise SimulatorError("a fleet cannot have a negative number of homes")
    return tuple(
        build_home(index, seed=seed, centre=centre, radius_km=radius_km, timezone=timezone)
        for index in range(1, count + 1)
    )


def random_place(
    rng: random.Random, centre: tuple[float, float], radius_km: float
) -> tuple[float, float]:
    """A point uniformly distributed over the disc of `radius_km` around `centre`."""
    distance = radius_km * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lat = centre[0] + distance * math.cos(bearing) / _KM_PER_DEGREE
    lon = centre[1] + distance * math.sin(bearing) / (
        _KM_PER_DEGREE * math.cos(math.radians(centre[0]))
    )
    return lat, lon


def build_home(
    index: int,
    *,
    seed: int = 0,
    centre: tuple[float, float] = ZHONGSHAN,
    radius_km: float = 8.0,
    timezone: str = "Asia/Shanghai",
) -> FleetHome:
    home_id = home_id_for(index)
    rng = random.Random(f"{seed}:{home_id}:home")
    lat, lon = random_place(rng, centre, radius_km)
    home = Home(
        home_id=home_id,
        address=f"{rng.randint(1, 300)} Simulated Lane, Zhongshan (simulated home {index})",
        lat=round(lat, 6),
        lon=round(lon, 6),
        timezone=timezone,
    )
    resident = Resident(
        name=f"{rng.choice(_FAMILY_NAMES)} {rng.choice(_FIRST_NAMES)}",
        birth_year=rng.randint(1932, 1955),
        conditions=tuple(sorted(rng.sample(_CONDITIONS, rng.randint(0, 2)))),
    )
    return FleetHome(home=home, resident=resident, devices=_devices(home_id))


def _devices(home_id: str) -> tuple[SimDevice, ...]:
    def make(role: Role, suffix: str, **where: str) -> SimDevice:
        return SimDevice(
            device_id=f"{home_id}-{suffix}",
            home_id=home_id,
            role=role,
            type=_TYPE[role],
            report_interval_s=INTERVAL_S[role],
            battery_powered=role != "stove",
            **where,
        )

    devices = [make("wearable", "watch")]
    devices += [make("motion", f"pir-{room}", room=room) for room in ROOMS]
    devices += [make("door", f"door-{door}", door=door, room=room) for door, room in DOORS.items()]
    devices.append(make("bed", "bed", room="bedroom"))
    devices.append(make("stove", "plug-stove", room="kitchen", appliance="stove"))
    devices += [make("leak", f"leak-{room}", room=room) for room in LEAK_ROOMS]
    devices.append(make("smoke", "smoke", room="hall"))
    devices.append(make("climate", "climate-bedroom", room="bedroom"))
    return tuple(devices)
