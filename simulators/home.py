"""One simulated home's world: its resident's plans with injections applied, and its readings.

Pure: no clock, no I/O. Readings are produced an hour-long bucket at a time,
and every bucket is a function of (seed, home, injections, bucket) alone, so
any time range yields the same readings wherever it starts; only `seq`
counts from the range's start. That keeps long or open-ended runs in small
memory and lets ground truth be read from the very events published.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

from simulators.events import SimEvent, SimItem, StatusEvent
from simulators.fleet import FleetHome
from simulators.injections import Injection
from simulators.render import (
    HomeDevices,
    Raw,
    clocks_for,
    render_stay,
    render_stove,
    render_ticks,
)
from simulators.routine import (
    HOUR,
    MINUTE,
    Profile,
    Stay,
    local_day,
    local_minute,
    plan_day,
    profile_for,
    stay_index,
    wake_time,
)
from simulators.scenarios import Effect, resolve
from simulators.truth import TruthRecord, records_for, to_datetime, to_ms
from simulators.vitals import Baseline

_BUCKET: Final = HOUR
_ONE_DAY: Final = timedelta(days=1)


class HomeSimulation:
    """One home's world: its plans with injections applied, and its sensors' readings."""

    def __init__(
        self,
        home: FleetHome,
        *,
        seed: int,
        start: datetime,
        injections: Sequence[Injection] = (),
    ) -> None:
        self._home = home
        self.seed = seed
        self.start = start
        self._profile = profile_for(home, seed)
        self._devices = HomeDevices.of(home)
        self.clocks = clocks_for(home, seed)
        self._clock = {clock.device_id: clock for clock in self.clocks}
        self._wakes: dict[date, int] = {}
        self._plans: dict[date, list[Stay]] = {}
        self._changed: dict[date, list[Stay]] = {}
        self._stoves: dict[date, list[tuple[int, int]]] = {}
        self._rendered: dict[tuple[Stay, str, bool], tuple[int, list[Raw]]] = {}
        origin = to_ms(start)
        mine = [
            (index, item) for index, item in enumerate(injections) if item.home_id == home.home_id
        ]
        mine.sort(key=lambda pair: (pair[1].offset, pair[0]))
        self.effects: tuple[Effect, ...] = tuple(
            resolve(item, index, origin + to_ms_delta(item.offset), self) for index, item in mine
        )
        self._points = sorted(
            (point for effect in self.effects for point in effect.points),
            key=lambda raw: (raw.ts, raw.device_id),
        )
        self._smoke = [effect.smoke for effect in self.effects if effect.smoke is not None]
        self._declines = [
            effect.deterioration for effect in self.effects if effect.deterioration is not None
        ]
        self._offline: dict[str, int] = {}
        for effect in self.effects:
            if effect.offline_at is not None and effect.device_id is not None:
                known = self._offline.get(effect.device_id, effect.offline_at)
                self._offline[effect.device_id] = min(known, effect.offline_at)

    # What scenarios.Planner needs

    @property
    def home(self) -> FleetHome:
        return self._home

    @property
    def profile(self) -> Profile:
        return self._profile

    @property
    def devices(self) -> HomeDevices:
        return self._devices

    def wake(self, day: date) -> int:
        wake = self._wakes.get(day)
        if wake is None:
            wake = self._wakes[day] = wake_time(self._profile, day)
        return wake

    def plan_day_of(self, t: int) -> date:
        day = local_day(t, self._profile.zone)
        return day - _ONE_DAY if t < self.wake(day) else day

    def stays(self, day: date) -> list[Stay]:
        changed = self._changed.get(day)
        if changed is not None:
            return changed
        plan = self._plans.get(day)
        if plan is None:
            plan = self._plans[day] = plan_day(self._profile, day)
        return plan

    def replace_stays(self, day: date, stays: list[Stay]) -> None:
        self._changed[day] = stays
        self._stoves.pop(day, None)

    # What render.World needs

    def stay_at(self, t: int) -> Stay:
        stays = self.stays(self.plan_day_of(t))
        return stays[stay_index(stays, t)]

    def stove_on_at(self, t: int) -> bool:
        return any(on <= t < off for on, off in self._stove_uses(self.plan_day_of(t)))

    def smoke_at(self, t: int) -> float | None:
        for start, end, co in self._smoke:
            if start <= t < end:
                return co
        return None

    def deterioration_at(self, t: int) -> tuple[float, Baseline] | None:
        for decline in self._declines:
            progress = decline.progress(t)
            if progress > 0:
                return progress, decline.target
        return None

    def local_hour(self, t: int) -> float:
        return local_minute(t, self._profile.zone) / 60.0

    # Events

    def raw(self, start: int, end: int) -> list[Raw]:
        """Every reading in [start, end) (epoch ms), in order, without envelopes."""
        events: list[Raw] = []
        for bucket in range(start // _BUCKET, -(-end // _BUCKET)):
            events += (raw for raw in self._bucket(bucket)[0] if start <= raw.ts < end)
        return events

    def items(self, start: datetime, end: datetime | None) -> Iterator[SimItem]:
        """The home's messages in [start, end) (open-ended if `end` is None), in order."""
        first, last = to_ms(start), None if end is None else to_ms(end)
        seq = {
            clock.device_id: random.Random(f"{self.seed}:{clock.device_id}:seq").randrange(
                1, 50_000
            )
            for clock in self.clocks
        }
        bucket = first // _BUCKET
        home_id = self._home.home_id
        while last is None or bucket * _BUCKET < last:
            events, statuses = self._bucket(bucket)
            bucket += 1
            pending = sorted(statuses)
            for raw in events:
                while pending and pending[0][0] <= raw.ts:
                    at, device = pending.pop(0)
                    if at >= first and (last is None or at < last):
                        yield StatusEvent(to_datetime(at), home_id, device, "offline")
                if raw.ts < first or (last is not None and raw.ts >= last):
                    continue
                seq[raw.device_id] += 1
                yield SimEvent(
                    to_datetime(raw.ts),
                    home_id,
                    raw.device_id,
                    self._payload(raw, seq[raw.device_id]),
                )
            for at, device in pending:
                if at >= first and (last is None or at < last):
                    yield StatusEvent(to_datetime(at), home_id, device, "offline")

    def truth(self, end: datetime | None) -> list[TruthRecord]:
        """Ground truth of this home's injections whose condition starts before `end`."""
        records: list[TruthRecord] = []
        for effect in self.effects:
            events = self.raw(effect.at - 6 * HOUR, effect.at + 12 * HOUR)
            records += records_for(
                effect, events, self._devices, home_id=self._home.home_id, zone=self._profile.zone
            )
        return sorted(
            (
                record
                for record in records
                if record.start >= self.start and (end is None or record.start < end)
            ),
            key=lambda record: (record.start, record.kind),
        )

    def _payload(self, raw: Raw, seq: int) -> dict[str, Any]:
        clock = self._clock[raw.device_id]
        payload: dict[str, Any] = {
            "type": raw.type,
            # Wearables send epoch milliseconds, the rest RFC 3339: both are in the contract.
            "ts": raw.ts if clock.role == "wearable" else _rfc3339(raw.ts),
            "seq": seq,
        }
        battery = clock.battery_at(raw.ts)
        if battery is not None:
            payload["battery"] = battery
        payload["data"] = dict(raw.data)
        return payload

    def _bucket(self, bucket: int) -> tuple[list[Raw], list[tuple[int, str]]]:
        start, end = bucket * _BUCKET, (bucket + 1) * _BUCKET
        events: list[Raw] = []
        day = self.plan_day_of(start)
        prev: Stay | None = self.stays(day - _ONE_DAY)[-1]
        while self.wake(day) < end:
            for stay in self.stays(day):
                if stay.start >= end:
                    break
                if stay.end + 3 * MINUTE > start:
                    events += self._render(prev, stay)
                prev = stay
            for on, off in self._stove_uses(day):
                if on < end and off + MINUTE > start:
                    events += render_stove(
                        on, off, self._devices.stove, f"{self.seed}:{self._home.home_id}"
                    )
            day += _ONE_DAY
        events += render_ticks(
            start,
            end,
            self.clocks,
            self._profile,
            self,
            f"{self.seed}:{self._home.home_id}:ticks:{bucket}",
        )
        events += (point for point in self._points if start <= point.ts < end)
        offline = self._offline
        events = [
            raw
            for raw in events
            if start <= raw.ts < end and raw.ts < offline.get(raw.device_id, raw.ts + 1)
        ]
        events.sort(key=_order)
        statuses = [(at, device) for device, at in offline.items() if start <= at < end]
        self._forget(start)
        return events, statuses

    def _render(self, prev: Stay | None, stay: Stay) -> list[Raw]:
        key = (stay, prev.place if prev else "", bool(prev and prev.activity in ("sleep", "nap")))
        cached = self._rendered.get(key)
        if cached is None:
            cached = self._rendered[key] = (stay.end, render_stay(prev, stay, self._devices))
        return cached[1]

    def _stove_uses(self, day: date) -> list[tuple[int, int]]:
        uses = self._stoves.get(day)
        if uses is None:
            stays = self.stays(day)
            ons = sorted(stay.stove_on for stay in stays if stay.stove_on is not None)
            offs = sorted(stay.stove_off for stay in stays if stay.stove_off is not None)
            uses = []
            for on in ons:
                off = next((moment for moment in offs if moment > on), stays[-1].end)
                uses.append((on, off))
            self._stoves[day] = uses
        return uses

    def _forget(self, before: int) -> None:
        """Drop what later buckets no longer need, so open-ended runs stay small."""
        stale = [key for key, (end, _) in self._rendered.items() if end + 10 * MINUTE < before]
        for key in stale:
            del self._rendered[key]
        if len(self._plans) > 8:
            oldest = self.plan_day_of(before) - 2 * _ONE_DAY
            for day in [day for day in self._plans if day < oldest]:
                del self._plans[day]
                self._stoves.pop(day, None)


def _order(raw: Raw) -> tuple[int, str]:
    return raw.ts, raw.device_id


def _rfc3339(t: int) -> str:
    moment = to_datetime(t)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{t % 1000:03d}Z"


def to_ms_delta(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)
