"""Injected scenarios: when each one happens in the resident's day, and what it changes.

Scenarios that involve the resident insert a block of stays into the plan and
push the rest of the day later; living-room time and sleep absorb the delay
(`routine.ELASTIC_MIN`), so meals and bedtime stay put where they can and the
rest of the day stays healthy. Device scenarios add readings (a fall, an SOS
press, a wet leak sensor, a smoke/CO alarm), bend the vitals (deterioration)
or silence a device (offline).

Durations keep each scenario to the condition it names: a fall in the
bathroom is short enough not to also look like a 45-minute bathroom stay, a
fall at night ends with the resident back in bed within 30 minutes, an
inactivity block starts in the living room or bedroom, and so on. The one
scenario that necessarily implies another, night_wandering (leaving the house
means leaving the bed), gets both ground-truth records (see `truth.py`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date
from typing import Final, Protocol

from simulators.errors import SimulatorError
from simulators.fleet import FleetHome
from simulators.injections import Injection
from simulators.render import HomeDevices, Raw
from simulators.routine import (
    ELASTIC_MIN,
    HOUR,
    MINUTE,
    SECOND,
    Activity,
    Place,
    Profile,
    Stay,
    local_day,
    local_midnight,
    local_minute,
    stay_index,
)
from simulators.vitals import Deterioration, deterioration_target

# local minutes: (window opens, window closes, where to move a request outside it)
_WINDOWS: Final[dict[str, tuple[int, int, int]]] = {
    "inactivity": (9 * 60, 17 * 60 + 30, 10 * 60),
    "stove_unattended": (7 * 60 + 30, 20 * 60, 10 * 60),
    "night_wandering": (30, 3 * 60 + 30, 2 * 60),
    "bed_exit": (23 * 60 + 30, 4 * 60, 90),
}
_AWAKE_AT_HOME: Final = frozenset({"relax", "tidy", "dress"})
_TIMELINE_KINDS: Final = frozenset(
    {"fall", "inactivity", "night_wandering", "bed_exit", "stove_unattended"}
)

BlockSpec = tuple[Place, Activity, int, int | None, int | None]
"""(place, activity, length ms, stove on after ms, stove off after ms)"""


@dataclass(frozen=True, slots=True)
class Effect:
    """One injection placed in time, and what it changes (times in epoch ms)."""

    injection: Injection
    at: int
    moved: bool = False
    device_id: str | None = None
    place: str | None = None
    block_end: int | None = None
    points: tuple[Raw, ...] = ()
    smoke: tuple[int, int, float] | None = None
    deterioration: Deterioration | None = None
    offline_at: int | None = None


class Planner(Protocol):
    """What placing an injection needs from the home's simulation."""

    @property
    def home(self) -> FleetHome: ...

    @property
    def profile(self) -> Profile: ...

    @property
    def devices(self) -> HomeDevices: ...

    def stays(self, day: date) -> list[Stay]: ...

    def plan_day_of(self, t: int) -> date: ...

    def replace_stays(self, day: date, stays: list[Stay]) -> None: ...


def resolve(injection: Injection, index: int, requested: int, planner: Planner) -> Effect:
    """Place `injection` (asked for at `requested`) and apply its timeline change, if any."""
    profile = planner.profile
    key = f"{profile.seed}:{profile.home_id}:inject:{index}"
    rng = random.Random(f"{key}:{injection.kind}:{requested}")
    kind = injection.kind
    if kind in _TIMELINE_KINDS:
        return _resolve_timeline(injection, requested, planner, rng, key)
    devices = planner.devices
    at = requested
    if kind == "sos":
        press = Raw(at, devices.wearable, "sos", {"action": "press"})
        return Effect(injection, at, device_id=devices.wearable, points=(press,))
    if kind == "news2":
        decline = Deterioration(
            onset=at, ramp=HOUR, hold=5 * HOUR, recover=HOUR, target=deterioration_target(rng)
        )
        return Effect(injection, at, device_id=devices.wearable, deterioration=decline)
    if kind == "leak":
        device = _pick(injection, planner.home, sorted(devices.leak.values()), rng, "a leak sensor")
        dry = at + rng.randint(2 * HOUR, 3 * HOUR)
        points = (
            Raw(at, device, "leak", {"wet": True}),
            Raw(dry, device, "leak", {"wet": False}),
        )
        return Effect(injection, at, device_id=device, points=points)
    if kind == "smoke":
        device = _pick(injection, planner.home, [devices.smoke], rng, "the smoke/CO detector")
        clear = at + rng.randint(15 * MINUTE, 30 * MINUTE)
        co = rng.uniform(60, 250) if rng.random() < 0.4 else rng.uniform(0, 8)
        points = (
            Raw(at, device, "smoke", {"alarm": True, "co_ppm": round(co, 1)}),
            Raw(clear, device, "smoke", {"alarm": False, "co_ppm": round(rng.uniform(0, 3), 1)}),
        )
        return Effect(injection, at, device_id=device, points=points, smoke=(at, clear, co))
    # device_offline: a device that no detector besides device_offline depends on, unless named.
    quiet = sorted([devices.climate, devices.smoke, *devices.leak.values()])
    every = [device.device_id for device in planner.home.devices]
    device = _pick(
        injection, planner.home, every if injection.device_id else quiet, rng, "a device"
    )
    return Effect(injection, at, device_id=device, offline_at=at)


def _pick(
    injection: Injection, home: FleetHome, allowed: list[str], rng: random.Random, what: str
) -> str:
    if injection.device_id is None:
        return rng.choice(allowed)
    if injection.device_id not in allowed:
        raise SimulatorError(
            f"injection {injection}: {injection.device_id} is not {what} of home {home.home_id}"
        )
    return injection.device_id


def _resolve_timeline(
    injection: Injection, requested: int, planner: Planner, rng: random.Random, key: str
) -> Effect:
    kind = injection.kind
    at, moved = _place(kind, requested, planner)
    day = planner.plan_day_of(at)
    stays = planner.stays(day)
    stay = stays[stay_index(stays, at)]
    block = _block(kind, stay, at, rng)
    planner.replace_stays(day, insert_block(stays, at, block, key))
    end = at + sum(spec[2] for spec in block)
    points: tuple[Raw, ...] = ()
    if kind == "fall":
        fell = at + 2 * SECOND + (MINUTE if stay.activity == "sleep" else 0)
        confidence = round(rng.uniform(0.7, 0.97), 2)
        points = (Raw(fell, planner.devices.wearable, "fall", {"confidence": confidence}),)
    return Effect(
        injection,
        at,
        moved=moved,
        place=block[-1][0] if kind == "fall" else stay.place,
        block_end=end,
        points=points,
        device_id=planner.devices.wearable if kind == "fall" else None,
    )


def _place(kind: str, requested: int, planner: Planner) -> tuple[int, bool]:
    """The first moment at or after `requested` where `kind` can happen as intended."""
    zone = planner.profile.zone
    window = _WINDOWS.get(kind)
    at, moved = requested, False
    for _ in range(200):
        if window is not None and not _within(local_minute(at, zone), window):
            at, moved = _next_local(at, window[2], planner), True
        stays = planner.stays(planner.plan_day_of(at))
        stay = stays[stay_index(stays, at)]
        later = _blocked(kind, stay, at)
        if later is None:
            return at, moved
        at, moved = later, True
    raise SimulatorError(f"found no moment for {kind} in home {planner.profile.home_id}")


def _within(minute: float, window: tuple[int, int, int]) -> bool:
    opens, closes, _ = window
    if opens <= closes:
        return opens <= minute <= closes
    return minute >= opens or minute <= closes


def _next_local(t: int, minute: int, planner: Planner) -> int:
    zone = planner.profile.zone
    day = local_day(t, zone)
    candidate = local_midnight(day, zone) + minute * MINUTE
    if candidate < t:
        candidate = local_midnight(date.fromordinal(day.toordinal() + 1), zone) + minute * MINUTE
    return candidate


def _blocked(kind: str, stay: Stay, at: int) -> int | None:
    """None when `stay` suits `kind` at `at`, else a later moment to try."""
    if kind == "fall":
        if stay.activity in ("out", "nap", "still", "fallen"):
            return stay.end + 5 * MINUTE
        if stay.activity == "sleep" and stay.end - at < HOUR:
            return stay.end + 20 * MINUTE
        return None
    if kind in ("inactivity", "stove_unattended"):
        return None if stay.activity in _AWAKE_AT_HOME else stay.end + 5 * MINUTE
    # night_wandering, bed_exit: from a night's sleep, at least 5 minutes in
    if stay.activity != "sleep":
        return stay.end + 10 * MINUTE
    if at - stay.start < 5 * MINUTE:
        return stay.start + 5 * MINUTE
    return None


def _minutes(rng: random.Random, low: float, high: float) -> int:
    return round(rng.uniform(low, high) * MINUTE)


def _block(kind: str, stay: Stay, at: int, rng: random.Random) -> list[BlockSpec]:
    if kind == "fall":
        if stay.activity == "sleep":
            return [
                ("bedroom", "dress", MINUTE, None, None),
                ("bedroom", "fallen", _minutes(rng, 10, 20), None, None),
            ]
        # Short enough in the bathroom not to pass 45 minutes there, and in the
        # kitchen not to leave a running stove unwatched for 30.
        longest = {"bathroom": 15.0, "kitchen": 20.0}.get(stay.place, 40.0)
        return [(stay.place, "fallen", _minutes(rng, 10, longest), None, None)]
    if kind == "inactivity":
        return [(stay.place, "still", 4 * HOUR, None, None)]
    if kind == "night_wandering":
        return [
            ("hall", "pace", _minutes(rng, 1, 3), None, None),
            ("out", "out", _minutes(rng, 50, 90), None, None),
            ("hall", "pace", _minutes(rng, 1, 2), None, None),
        ]
    if kind == "bed_exit":
        return [
            ("bedroom", "dress", _minutes(rng, 1, 2), None, None),
            ("living", "relax", _minutes(rng, 37, 50), None, None),
        ]
    # stove_unattended: switched on, forgotten in the living room, found later.
    return [
        ("kitchen", "cook", _minutes(rng, 2, 4), MINUTE, None),
        ("living", "relax", _minutes(rng, 45, 55), None, None),
        ("kitchen", "cook", _minutes(rng, 3, 5), None, MINUTE),
    ]


def insert_block(stays: list[Stay], at: int, block: list[BlockSpec], key: str) -> list[Stay]:
    """Insert `block` at `at`, pushing later stays back until elastic ones absorb the delay."""
    index = stay_index(stays, at)
    current = stays[index]
    head = stays[:index]
    if at > current.start:
        head.append(_cut(current, current.start, at, current.key))
    inserted: list[Stay] = []
    t = at
    for number, (place, activity, length, on, off) in enumerate(block):
        inserted.append(
            Stay(
                t,
                t + length,
                place,
                activity,
                f"{key}:{number}",
                stove_on=None if on is None else t + on,
                stove_off=None if off is None else t + off,
            )
        )
        t += length
    delay = t - at
    rest = stays[index + 1 :]
    if current.end > at:
        rest = [_cut(current, at, current.end, current.key + "/r"), *rest]
    tail: list[Stay] = []
    for stay in rest:
        if delay <= 0:
            tail.append(stay)
        elif stay.activity in ELASTIC_MIN:
            start = stay.start + delay
            shortest = ELASTIC_MIN[stay.activity]
            end = max(stay.end, start + shortest)
            tail.append(replace(stay, start=start, end=end))
            delay = end - stay.end
        else:
            tail.append(stay.shifted(delay))
    day_end = stays[-1].end
    result = [stay for stay in head + inserted + tail if stay.start < day_end]
    if result[-1].end != day_end:
        result[-1] = replace(result[-1], end=day_end)
    return result


def _cut(stay: Stay, start: int, end: int, key: str) -> Stay:
    """The part of `stay` in [start, end), keeping only the switch moments inside it."""

    def inside(moment: int | None) -> int | None:
        return moment if moment is not None and start <= moment < end else None

    return replace(
        stay,
        start=start,
        end=end,
        key=key,
        stove_on=inside(stay.stove_on),
        stove_off=inside(stay.stove_off),
        fridge=tuple(moment for moment in stay.fridge if start <= moment < end),
    )
