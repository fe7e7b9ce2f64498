"""Publish a simulation to an MQTT broker in (accelerated) real time.

The shell around the pure generator: reads the clock once, paces the merged
stream of every home, drops the messages of devices outside the device profile
(`profile.py`), hands the rest to the `Publisher`, crashes devices that an
injection takes offline, and writes ground truth as simulated time reaches each
record's start.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import structlog
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from simulators.errors import SimulatorError
from simulators.fleet import ZHONGSHAN, Role, build_fleet, build_home, home_id_for
from simulators.injections import Injection, coerce_injection
from simulators.link import BrokerAddress
from simulators.profile import ROLES, coerce_roles, injection_fits
from simulators.progress import Progress
from simulators.publisher import Publisher
from simulators.stream import (
    HomeSimulation,
    SimItem,
    StatusEvent,
    merge,
    simulate_fleet,
)
from simulators.truth import TruthRecord, write_truth

log = structlog.get_logger(__name__)


class SimulationOptions(BaseModel):
    """Everything `anxin simulate` can be asked; injections may be given as text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    homes: int = Field(default=10, ge=1, le=100_000)
    seed: int = 0
    broker_host: str = Field(default="127.0.0.1", min_length=1)
    broker_port: int = Field(default=1883, ge=1, le=65_535)
    keepalive_s: int = Field(default=60, ge=5, le=3600)
    speed: float = Field(
        default=1.0, gt=0, description="simulated seconds per wall-clock second; inf: no pacing"
    )
    start: AwareDatetime | None = Field(
        default=None,
        description="simulated start; default: now, or for an accelerated run of known "
        "duration, early enough that it ends now",
    )
    duration: timedelta | None = Field(
        default=None, gt=timedelta(0), description="None: until stopped"
    )
    injections: tuple[Annotated[Injection, BeforeValidator(coerce_injection)], ...] = ()
    roles: Annotated[tuple[Role, ...], BeforeValidator(coerce_roles)] = Field(
        default=ROLES,
        min_length=1,
        description="device roles simulated in each home (default all): the others are "
        "neither connected nor published",
    )
    truth_path: Path | None = None
    lat: float = Field(default=ZHONGSHAN[0], ge=-90, le=90)
    lon: float = Field(default=ZHONGSHAN[1], ge=-180, le=180)
    radius_km: float = Field(default=8.0, gt=0, le=100)
    timezone: str = "Asia/Shanghai"
    follow_clock: bool = Field(
        default=True,
        description="never publish a reading stamped after the wall clock (the gateway "
        "refuses readings more than 5 minutes ahead)",
    )
    offline_on_stop: bool = Field(
        default=True, description="publish a retained `offline` for every device when done"
    )
    connect_timeout_s: float = Field(default=60.0, gt=0)
    max_unacked: int = Field(default=20_000, ge=100)

    @model_validator(mode="after")
    def _injections_fit(self) -> SimulationOptions:
        for injection in self.injections:
            index = _home_index(injection.home_id)
            if index is None or index > self.homes:
                raise ValueError(
                    f"injection {injection}: home {injection.home_id} is not one of the "
                    f"{self.homes} simulated homes ({home_id_for(1)}..{home_id_for(self.homes)})"
                )
            home = build_home(index, seed=self.seed)
            if injection.device_id is not None and injection.device_id not in {
                device.device_id for device in home.devices
            }:
                raise ValueError(
                    f"injection {injection}: home {home.home_id} has no device "
                    f"{injection.device_id}"
                )
            unseen = injection_fits(injection, home, self.roles)
            if unseen is not None:
                raise ValueError(unseen)
            if self.duration is not None and injection.offset >= self.duration:
                raise ValueError(
                    f"injection {injection} comes after the simulation ends "
                    f"(duration {self.duration})"
                )
        return self

    def window(self, now: datetime) -> tuple[datetime, datetime | None]:
        """Simulated [start, end) given the wall clock's `now`."""
        start = self.start
        if start is None:
            start = now
            if self.duration is not None and self.speed > 1:
                start = now - self.duration * (
                    1 - (0 if math.isinf(self.speed) else 1 / self.speed)
                )
        start = start.astimezone(UTC)
        return start, None if self.duration is None else start + self.duration


def _home_index(home_id: str) -> int | None:
    prefix, _, number = home_id.partition("-")
    if prefix != "sim" or not number.isascii() or not number.isdigit() or len(number) < 4:
        return None
    index = int(number)
    return index if index >= 1 and home_id_for(index) == home_id else None


class SimulationReport(BaseModel):
    """What a run did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    homes: int
    devices: int
    start: datetime
    end: datetime | None
    reached: datetime = Field(description="simulated time of the last message handled")
    sent: int
    published: int = Field(description="telemetry messages the broker acknowledged")
    lost: int = Field(description="unacknowledged messages of devices taken offline")
    devices_taken_offline: int
    reconnects: int
    connect_failures: int
    connect_seconds: float = Field(description="wall time to connect every device")
    wall_seconds: float = Field(description="wall time of the whole run")
    rate_per_s: float = Field(description="published messages per wall second after connecting")
    truth_records: int
    truth_path: Path | None
    injections_without_truth: tuple[str, ...] = Field(
        description="injections whose condition did not start within the run (e.g. moved "
        "past its end to the next suitable time of day)"
    )
    stopped: bool = Field(description="ended by the stop event before the planned end")


async def run_simulation(
    options: SimulationOptions,
    *,
    credentials: Mapping[str, str],
    stop: asyncio.Event | None = None,
    progress: bool = False,
    now: Callable[[], datetime] | None = None,
) -> SimulationReport:
    """Run `options` against its broker; `credentials` empty means connect anonymously."""
    wall_clock = now or (lambda: datetime.now(UTC))
    started_at = wall_clock()
    start, end = options.window(started_at)
    fleet = build_fleet(
        options.homes,
        seed=options.seed,
        centre=(options.lat, options.lon),
        radius_km=options.radius_km,
        timezone=options.timezone,
    )
    simulations = simulate_fleet(fleet, start, seed=options.seed, injections=options.injections)
    devices = [device for home in fleet for device in home.devices if device.role in options.roles]
    # The generator plays whole homes; messages of devices outside the profile are dropped.
    simulated = None if set(options.roles) >= set(ROLES) else {d.device_id for d in devices}
    if credentials:
        missing = [device.device_id for device in devices if device.device_id not in credentials]
        if missing:
            raise SimulatorError(
                f"no password for {len(missing)} simulated devices "
                f"(first: {missing[0]}); provision them first"
            )
    truth = deque(await _truth(simulations, end))
    truth_sink = _TruthSink(options.truth_path)
    stop = stop or asyncio.Event()
    publisher = Publisher(
        BrokerAddress(options.broker_host, options.broker_port, options.keepalive_s),
        max_unacked=options.max_unacked,
    )
    for device in devices:
        publisher.add(device.device_id, device.home_id, credentials.get(device.device_id))
    log.info(
        "simulation_started",
        homes=options.homes,
        devices=len(devices),
        roles=",".join(options.roles),
        start=start.isoformat(),
        end=end.isoformat() if end else None,
        speed=options.speed,
        injections=len(options.injections),
    )
    display = Progress(publisher, start=start, end=end, enabled=progress)
    wall_started = time.monotonic()
    connected_at = wall_started
    reached, crashed, stopped = start, 0, False
    try:
        display.start("connecting")
        await _until_stopped(publisher.connect_all(timeout_s=options.connect_timeout_s), stop)
        connected_at = time.monotonic()
        display.phase("publishing")
        pace = _Pace(options, start=start, now=started_at)
        burst = 0
        for item in await _primed_stream(simulations, start, end):
            if stop.is_set():
                stopped = True
                break
            if simulated is not None and item.device_id not in simulated:
                continue
            delay = pace.delay(item.ts)
            if delay > 0.002:
                burst = 0
                if await _stopped_within(stop, delay):
                    stopped = True
                    break
            while truth and truth[0].start <= item.ts:
                truth_sink.write(truth.popleft())
            reached = item.ts
            display.reached = reached
            if isinstance(item, StatusEvent):
                await publisher.crash(item.device_id)
                crashed += 1
            else:
                publisher.publish(item.device_id, item.body())
            burst += 1
            if burst >= 256:
                burst = 0
                await asyncio.sleep(0)
                if publisher.stats.unacked >= options.max_unacked:
                    await _until_stopped(publisher.room(), stop)
        else:
            reached = end or reached
        while truth and (truth[0].start < reached or (not stopped and end is not None)):
            truth_sink.write(truth.popleft())
        display.phase("flushing")
        await publisher.wait_acked(timeout_s=10.0)
    finally:
        await publisher.close(offline=options.offline_on_stop)
        display.stop()
    finished_at = time.monotonic()
    wall, publishing = finished_at - wall_started, finished_at - connected_at
    stats = publisher.stats
    report = SimulationReport(
        homes=options.homes,
        devices=len(devices),
        start=start,
        end=end,
        reached=reached,
        sent=stats.sent,
        published=stats.acked,
        lost=stats.lost,
        devices_taken_offline=crashed,
        reconnects=stats.reconnects,
        connect_failures=stats.connect_failures,
        connect_seconds=round(connected_at - wall_started, 3),
        wall_seconds=round(wall, 3),
        rate_per_s=round(stats.acked / publishing, 1) if publishing > 0 else 0.0,
        truth_records=truth_sink.count,
        injections_without_truth=tuple(
            text
            for text in dict.fromkeys(map(str, options.injections))
            if text not in truth_sink.injections
        ),
        truth_path=options.truth_path,
        stopped=stopped,
    )
    log.info(
        "simulation_finished",
        published=report.published,
        rate_per_s=report.rate_per_s,
        stopped=stopped,
        truth_records=report.truth_records,
    )
    return report


async def _truth(simulations: list[HomeSimulation], end: datetime | None) -> list[TruthRecord]:
    """Ground truth of the whole fleet, yielding to the loop between homes with injections."""
    records: list[TruthRecord] = []
    for simulation in simulations:
        if simulation.effects:
            records += simulation.truth(end)
            await asyncio.sleep(0)
    return sorted(records, key=lambda record: (record.start, record.home_id, record.kind))


async def _primed_stream(
    simulations: list[HomeSimulation], start: datetime, end: datetime | None
) -> Iterator[SimItem]:
    """The merged stream, with every home's first hour generated between loop turns.

    Merging asks each home for its first item at once; for a large fleet that
    is seconds of work, which would otherwise stall a loop shared with a
    gateway and an API (`anxin up --simulate`).
    """
    streams: list[Iterator[SimItem]] = []
    for index, simulation in enumerate(simulations):
        items = simulation.items(start, end)
        first = next(items, None)
        if first is not None:
            streams.append(itertools.chain([first], items))
        if index % 16 == 15:
            await asyncio.sleep(0)
    return merge(streams)


class _Pace:
    """Wall-clock moment each simulated moment is due, on the event loop's clock."""

    def __init__(self, options: SimulationOptions, *, start: datetime, now: datetime) -> None:
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()
        self._start = start
        self._now = now
        self._speed = options.speed
        self._follow = options.follow_clock

    def delay(self, ts: datetime) -> float:
        due = self._origin
        if not math.isinf(self._speed):
            due += (ts - self._start).total_seconds() / self._speed
        if self._follow:
            due = max(due, self._origin + (ts - self._now).total_seconds())
        return due - self._loop.time()


class _TruthSink:
    """Appends ground-truth records to a JSON-lines file as they come true."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.count = 0
        self.injections: set[str] = set()
        if path is not None:
            write_truth(path, [])

    def write(self, record: TruthRecord) -> None:
        self.count += 1
        self.injections.add(record.injection)
        if self.path is not None:
            write_truth(self.path, [record], append=True)


async def _stopped_within(stop: asyncio.Event, delay: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return False
    return True


async def _until_stopped(work: Awaitable[Any], stop: asyncio.Event) -> None:
    """Await `work` unless `stop` is set first (then `work` is cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        task.result()
    else:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
