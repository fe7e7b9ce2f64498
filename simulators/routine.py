"""A resident's ordinary day: a contiguous sequence of stays (where, doing what).

Times are integer epoch milliseconds. A plan-day runs from the resident's
wake-up on a local date to the next morning's, so a night's sleep belongs to
the evening it starts. Every plan is a pure function of (seed, home, date).

Healthy by construction (the unit tests check it on the events):
- awake at 06:05-07:30 and asleep at 21:30-22:45, so leaving bed in the
  small hours only happens for 0-2 bathroom visits of under 15 minutes;
- breakfast before 09:00; lunch 11:20-12:40; dinner 17:20-18:50, the stove on
  for 10-25 minutes at a time with the resident in the kitchen all along;
- at most one outing a day, 60-165 minutes, out between 09:00 and 17:30, so
  the front door never opens at night and no daytime silence reaches 3 hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from simulators.fleet import FleetHome
from simulators.vitals import Baseline, baseline_for

SECOND: Final = 1000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR

Place = Literal["bedroom", "bathroom", "kitchen", "living", "hall", "out"]
Activity = Literal[
    "sleep",
    "nap",
    "dress",
    "wash",
    "toilet",
    "cook",
    "snack",
    "relax",
    "tidy",
    "pace",
    "out",
    "still",
    "fallen",
]
IN_BED: Final = frozenset({"sleep", "nap"})
MOTIONLESS: Final = frozenset({"still", "fallen", "out"})
ELASTIC_MIN: Final[dict[str, int]] = {"relax": 10 * MINUTE, "sleep": 30 * MINUTE}
"""Stays that absorb a delay by getting shorter, and how short they may get."""


@dataclass(frozen=True, slots=True)
class Stay:
    """The resident is at `place` doing `activity` over [start, end)."""

    start: int
    end: int
    place: Place
    activity: Activity
    key: str
    """Seeds this stay's details, so a stay renders the same wherever it is cut."""
    stove_on: int | None = None
    stove_off: int | None = None
    fridge: tuple[int, ...] = ()

    def shifted(self, delta: int) -> Stay:
        return replace(
            self,
            start=self.start + delta,
            end=self.end + delta,
            stove_on=None if self.stove_on is None else self.stove_on + delta,
            stove_off=None if self.stove_off is None else self.stove_off + delta,
            fridge=tuple(moment + delta for moment in self.fridge),
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """What makes one resident's days theirs (minutes are local minutes after midnight)."""

    home_id: str
    seed: int
    zone: ZoneInfo
    wake_minute: float
    bed_minute: float
    lunch_minute: float
    dinner_minute: float
    outing_chance: float
    nap_chance: float
    breakfast_stove_chance: float
    night_visit_weights: tuple[float, float, float]
    vitals: Baseline
    room_temperature: float
    room_humidity: float


def profile_for(home: FleetHome, seed: int) -> Profile:
    rng = random.Random(f"{seed}:{home.home_id}:profile")
    return Profile(
        home_id=home.home_id,
        seed=seed,
        zone=ZoneInfo(home.home.timezone),
        wake_minute=rng.uniform(390, 420),
        bed_minute=rng.uniform(1305, 1345),
        lunch_minute=rng.uniform(700, 740),
        dinner_minute=rng.uniform(1060, 1110),
        outing_chance=rng.uniform(0.2, 0.7),
        nap_chance=rng.uniform(0.2, 0.8),
        breakfast_stove_chance=rng.uniform(0.2, 0.7),
        night_visit_weights=(rng.uniform(0.2, 0.5), rng.uniform(0.3, 0.5), rng.uniform(0.05, 0.3)),
        vitals=baseline_for(rng),
        room_temperature=rng.uniform(21.0, 25.5),
        room_humidity=rng.uniform(55, 72),
    )


def local_midnight(day: date, zone: ZoneInfo) -> int:
    """Epoch ms of 00:00 local time on `day`."""
    return int(datetime.combine(day, time(), tzinfo=zone).timestamp() * 1000)


def local_day(t: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(t / 1000, zone).date()


def local_minute(t: int, zone: ZoneInfo) -> float:
    """Minutes after local midnight of the local day `t` falls on."""
    moment = datetime.fromtimestamp(t / 1000, zone)
    return moment.hour * 60 + moment.minute + (moment.second + moment.microsecond / 1e6) / 60


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def wake_time(profile: Profile, day: date) -> int:
    """When the resident gets up on local date `day` (06:05-07:30 local)."""
    rng = random.Random(f"{profile.seed}:{profile.home_id}:{day.isoformat()}:wake")
    minute = _clip(profile.wake_minute + rng.gauss(0, 12), 365, 450)
    return local_midnight(day, profile.zone) + round(minute * MINUTE)


def plan_day(profile: Profile, day: date) -> list[Stay]:
    """The stays from waking on `day` to waking on the next day, contiguous."""
    rng = random.Random(f"{profile.seed}:{profile.home_id}:{day.isoformat()}:day")
    midnight = local_midnight(day, profile.zone)

    def at(minute: float) -> int:
        return midnight + round(minute * MINUTE)

    plan = _Builder(
        f"{profile.seed}:{profile.home_id}:{day.isoformat()}", wake_time(profile, day), rng
    )
    plan.add("bedroom", "dress", rng.uniform(5, 12))
    plan.add("bathroom", "wash", rng.uniform(10, 20))
    if rng.random() < 0.5:
        plan.add("living", "relax", rng.uniform(5, 20))
    plan.meal((15, 30), profile.breakfast_stove_chance, (10, 15))

    lunch = at(_clip(profile.lunch_minute + rng.gauss(0, 10), 680, 760))
    dinner = at(_clip(profile.dinner_minute + rng.gauss(0, 10), 1040, 1130))
    bedtime = at(_clip(profile.bed_minute + rng.gauss(0, 12), 1290, 1365))
    outing = rng.uniform(60, 165) if rng.random() < profile.outing_chance else None
    morning_outing = rng.random() < 0.5
    window = (at(9 * 60), at(17 * 60 + 30))

    plan.free_until(lunch, outing if morning_outing else None, window)
    plan.meal((30, 50), 0.85, (10, 25))
    if rng.random() < profile.nap_chance:
        plan.add("living", "relax", rng.uniform(5, 20))
        plan.add("bedroom", "nap", rng.uniform(30, 60))
    plan.free_until(dinner, None if morning_outing else outing, window)
    plan.meal((35, 60), 0.9, (10, 25))
    wash, dress = rng.uniform(10, 15), rng.uniform(3, 6)
    plan.free_until(bedtime - round((wash + dress) * MINUTE), None, window)
    plan.add("bathroom", "wash", wash)
    plan.add("bedroom", "dress", dress)
    plan.night(wake_time(profile, day + timedelta(days=1)), profile.night_visit_weights)
    return plan.stays


class _Builder:
    """Appends stays one after another from `start`."""

    def __init__(self, key: str, start: int, rng: random.Random) -> None:
        self.key = key
        self.t = start
        self.rng = rng
        self.stays: list[Stay] = []

    def add(
        self,
        place: Place,
        activity: Activity,
        minutes: float,
        *,
        stove: tuple[int, int] | None = None,
        fridge: tuple[int, ...] = (),
    ) -> Stay:
        end = self.t + max(SECOND, round(minutes * MINUTE))
        stay = Stay(
            self.t,
            end,
            place,
            activity,
            f"{self.key}:{len(self.stays)}",
            stove_on=stove[0] if stove else None,
            stove_off=stove[1] if stove else None,
            fridge=fridge,
        )
        self.stays.append(stay)
        self.t = end
        return stay

    def meal(
        self, length: tuple[float, float], stove_chance: float, stove: tuple[float, float]
    ) -> None:
        rng = self.rng
        minutes = rng.uniform(*length)
        fridge = [rng.uniform(0.5, 3.0)]
        if rng.random() < 0.5:
            fridge.append(rng.uniform(4, max(4.5, minutes - 2)))
        use: tuple[int, int] | None = None
        if rng.random() < stove_chance:
            on = rng.uniform(2, 5)
            off = on + rng.uniform(*stove)
            minutes = max(minutes, off + rng.uniform(3, 8))
            use = (self.t + round(on * MINUTE), self.t + round(off * MINUTE))
        moments = tuple(self.t + round(f * MINUTE) for f in fridge if f < minutes - 0.5)
        self.add("kitchen", "cook", minutes, stove=use, fridge=moments)

    def free_until(self, until: int, outing: float | None, window: tuple[int, int]) -> None:
        """Fill up to `until` with living-room time and small errands, maybe an outing."""
        if outing is not None:
            length = round(outing * MINUTE)
            earliest = max(self.t + 10 * MINUTE, window[0])
            latest = min(until - length - 15 * MINUTE, window[1] - length)
            if earliest <= latest:
                leave = self.rng.randint(earliest, latest)
                pace = self.rng.uniform(2, 4)
                self._fill(leave - round(pace * MINUTE))
                self.add("hall", "pace", (leave - self.t) / MINUTE)
                self.add("out", "out", outing)
                self.add("hall", "pace", self.rng.uniform(1, 2))
        self._fill(until)

    def _fill(self, until: int) -> None:
        rng = self.rng
        while until - self.t > 0:
            left = (until - self.t) / MINUTE
            if left < 12:
                self.add("living", "relax", left)
                break
            self.add("living", "relax", min(left - 8, rng.uniform(25, 90)))
            left = (until - self.t) / MINUTE
            roll = rng.random()
            if roll < 0.5:
                self.add("bathroom", "toilet", min(left, rng.uniform(4, 8)))
            elif roll < 0.65:
                self.add("bedroom", "tidy", min(left, rng.uniform(5, 10)))
            elif roll < 0.75:
                minutes = min(left, rng.uniform(3, 6))
                self.add(
                    "kitchen", "snack", minutes, fridge=(self.t + round(MINUTE * minutes / 3),)
                )

    def night(self, wake: int, weights: tuple[float, float, float]) -> None:
        """Sleep until `wake`, with 0-2 short bathroom visits."""
        rng = self.rng
        visits = rng.choices((0, 1, 2), weights=weights)[0]
        low, high = self.t + HOUR, wake - 45 * MINUTE
        times: list[int] = []
        for _ in range(20):
            if len(times) == visits or high <= low:
                break
            candidate = rng.randint(low, high)
            if all(abs(candidate - other) >= HOUR for other in times):
                times.append(candidate)
        for moment in sorted(times):
            self.add("bedroom", "sleep", (moment - self.t) / MINUTE)
            self.add("bathroom", "toilet", rng.uniform(3, 8))
        self.add("bedroom", "sleep", (wake - self.t) / MINUTE)


def stay_index(stays: list[Stay], t: int) -> int:
    """Index of the stay holding `t` (the first or last when `t` is outside)."""
    low, high = 0, len(stays) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if stays[middle].start <= t:
            low = middle
        else:
            high = middle - 1
    return low
