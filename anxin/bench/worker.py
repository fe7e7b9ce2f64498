"""`anxin bench worker`: simulated telemetry through one `anxin worker` on Tansu, end to end.

Tansu and one `anxin worker` process start in a temp dir (the worker on an empty
registry: every home judged on default rules). `events` readings of `homes` simulated
homes (`simulators`: the mix a fleet's devices send, timestamped by the simulation and
ending about now) are encoded as the gateway encodes them and, once the worker judges
a first warm-up reading on every partition, published to `anxin.telemetry` as fast as
one aiokafka producer goes. After them comes a closing sos press on every partition.
A partition is judged in order and its detections go out keyed by home, so when a
partition's closing detection arrives on `anxin.detections`, every reading before it
has been judged and its detections sent. The clock runs from the first publish to
the last closing detection; the time until the group has committed every offset is
measured too. Detections are counted as received, with repeats (at-least-once after
a restart; none expected here), and a repeat that differs from the first is an error.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import psutil  # type: ignore[import-untyped]
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console

from anxin.bench.figures import Figure, rate, render_figures, write_json_file
from anxin.testbed.process import ServerProcess
from anxin.testbed.tansu import Tansu
from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from simulators.events import SimEvent, SimItem
from simulators.fleet import FleetHome, build_fleet
from simulators.injections import Injection, InjectionKind
from simulators.stream import merged, simulate_fleet

TELEMETRY: Final = "anxin.telemetry"
DETECTIONS: Final = "anxin.detections"
GROUP: Final = "anxin-processors"
CHANGELOG: Final = "anxin-processors-home-state-changelog"
SESSION_TIMEOUT_S: Final = 10
"""Tansu's group joins take about half the session timeout: keep it short."""
EVENTS_PER_HOME_HOUR: Final = 96
"""What a simulated home sends per hour, about: sizes the simulated span to end near now."""
READY_TIMEOUT_S: Final = 120.0
COMMIT_TIMEOUT_S: Final = 30.0
POLL_S: Final = 0.2


class BenchError(Exception):
    """The broker or the worker did not start, or the worker stopped judging."""


@dataclass(frozen=True, slots=True)
class WorkerBenchOptions:
    homes: int = 100
    events: int = 50_000
    partitions: int = 8
    seed: int = 1
    timezone: str = "Asia/Shanghai"
    json_path: Path | None = None
    keep: bool = False

    def __post_init__(self) -> None:
        if self.homes < 1:
            raise ValueError("homes must be at least 1")
        if self.events < 1:
            raise ValueError("events must be at least 1")
        if self.partitions < 1:
            raise ValueError("partitions must be at least 1")

    def command(self) -> str:
        """The command line that reproduces this run."""
        return shlex.join(
            [
                "anxin",
                "bench",
                "worker",
                f"--homes={self.homes}",
                f"--events={self.events}",
                f"--partitions={self.partitions}",
                f"--seed={self.seed}",
            ]
        )

    def judge_timeout_s(self) -> float:
        """How long the closing detections may take: generous, at 200 events/s at worst."""
        return READY_TIMEOUT_S + self.events / 200


# -- the events ---------------------------------------------------------------------------


def simulated_events(
    homes: int, count: int, *, seed: int, end: datetime, timezone: str = "Asia/Shanghai"
) -> list[GatewayEvent]:
    """The first `count` messages of `homes` simulated homes, as the gateway hands them on.

    The simulation starts early enough to end just before `end`, so the worker's
    wall-clock ticks see the homes' recent past, not hours of silence (nor readings
    from the future). Each home has one incident (an sos, a fall, a leak or smoke, in
    turn) somewhere in the first half of it.
    """
    fleet = build_fleet(homes, seed=seed, timezone=timezone)
    span = timedelta(hours=count / (homes * EVENTS_PER_HOME_HOUR))
    start = (end - span).replace(second=0, microsecond=0)
    injections = incidents(fleet, span, seed)
    for _ in range(8):
        simulations = simulate_fleet(fleet, start, seed=seed, injections=injections)
        items = list(itertools.islice(merged(simulations, start, None), count))
        late = items[-1].ts - end if items else timedelta(0)
        if late <= timedelta(0):
            break
        start -= late + timedelta(minutes=1)  # the fleet sent faster than estimated
    rooms = _rooms(fleet)
    return [gateway_event(item, rooms) for item in items]


INCIDENTS: Final[tuple[InjectionKind, ...]] = ("sos", "fall", "leak", "smoke")


def incidents(fleet: Sequence[FleetHome], span: timedelta, seed: int) -> list[Injection]:
    """One incident per home, kinds in turn, at a seeded moment in the first half of `span`."""
    rng = random.Random(f"{seed}:bench-worker")
    return [
        Injection(
            kind=INCIDENTS[index % len(INCIDENTS)],
            home_id=home.home_id,
            offset=timedelta(seconds=int(rng.uniform(0, span.total_seconds() / 2))),
        )
        for index, home in enumerate(fleet)
    ]


def _rooms(fleet: Sequence[FleetHome]) -> dict[str, tuple[str | None, str | None]]:
    return {
        device.device_id: (device.room, device.appliance)
        for home in fleet
        for device in home.devices
    }


def gateway_event(item: SimItem, rooms: dict[str, tuple[str | None, str | None]]) -> GatewayEvent:
    """A simulated message as the gateway hands it on: decoded telemetry or a status change."""
    if isinstance(item, SimEvent):
        room, appliance = rooms.get(item.device_id, (None, None))
        return Reading(
            home_id=item.home_id,
            device_id=item.device_id,
            room=room,
            appliance=appliance,
            received_at=item.ts,
            telemetry=TELEMETRY_ADAPTER.validate_python(item.payload),
        )
    return StatusChange(
        home_id=item.home_id, device_id=item.device_id, status=item.status, at=item.ts
    )


def home_on_partition(prefix: str, partition: int, partitions: int) -> str:
    """The first home id `prefix-N` whose key the default partitioner puts on `partition`."""
    from processors.faust_app import partition_of

    if not 0 <= partition < partitions:
        raise ValueError(f"partition {partition} is not one of 0..{partitions - 1}")
    for n in itertools.count():
        home_id = f"{prefix}-{n}"
        if partition_of(home_id.encode(), partitions) == partition:
            return home_id
    raise AssertionError("unreachable")  # pragma: no cover


def sos_presses(prefix: str, partitions: int, at: datetime) -> list[Reading]:
    """One sos press per partition, from a home of its own there: each opens an alert."""
    return [
        Reading(
            home_id=home_on_partition(prefix, partition, partitions),
            device_id=f"{prefix}-button",
            received_at=at,
            telemetry=TELEMETRY_ADAPTER.validate_python(
                {"type": "sos", "ts": at.isoformat(), "seq": 1, "data": {"action": "press"}}
            ),
        )
        for partition in range(partitions)
    ]


def engine_detections(events: Sequence[GatewayEvent]) -> list[Detection]:
    """What the pure engine finds in the same readings, on default rules, without ticks."""
    from processors.catalogue import all_detectors
    from processors.detector import HomeContext
    from processors.engine import Engine
    from processors.rules import HomeRules

    engine = Engine(all_detectors(), lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
    return engine.step_all(list(events))


def encode(event: GatewayEvent) -> tuple[bytes, bytes]:
    """Key and value as the gateway publishes them."""
    return event.home_id.encode(), event.model_dump_json().encode()


# -- what comes out -----------------------------------------------------------------------


@dataclass(slots=True)
class DetectionLog:
    """Detections as they arrive: counts, repeats, and when the awaited homes' first came."""

    awaited: frozenset[str] = frozenset()
    """Home ids whose first detection is timed (the warm-up or closing presses)."""
    received: int = 0
    first: dict[str, bytes] = field(default_factory=dict)
    repeated: int = 0
    differing: int = 0
    arrived: dict[str, float] = field(default_factory=dict)

    def add(self, value: bytes, at: float) -> None:
        detection = Detection.model_validate_json(value)
        self.received += 1
        seen = self.first.setdefault(detection.detection_id, value)
        if seen is not value:
            self.repeated += 1
            if Detection.model_validate_json(seen) != detection:
                self.differing += 1
        if detection.home_id in self.awaited:
            self.arrived.setdefault(detection.home_id, at)

    def await_homes(self, homes: Sequence[str]) -> None:
        self.awaited = frozenset(homes)
        self.arrived = {}

    def all_arrived(self) -> bool:
        return self.awaited <= self.arrived.keys()

    @property
    def unique(self) -> int:
        return len(self.first)


@dataclass(frozen=True, slots=True)
class ProcessSample:
    at: float
    cpu_s: float
    peak_rss_mb: float


def sample(pid: int) -> ProcessSample:
    """A process's CPU seconds so far (user + system) and its peak RSS (VmHWM)."""
    try:
        times = psutil.Process(pid).cpu_times()
        peak = 0.0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except (psutil.Error, OSError) as error:
        raise BenchError(f"the worker process is gone: {error}") from error
    return ProcessSample(time.monotonic(), float(times.user + times.system), peak)


# -- the run ------------------------------------------------------------------------------


@dataclass(slots=True)
class WorkerBenchReport:
    options: WorkerBenchOptions
    events: int = 0
    publish_s: float = 0.0
    judged_s: float = 0.0
    committed_s: float | None = None
    worker_cpu_s: float = 0.0
    worker_peak_mb: float = 0.0
    changelog_records: int = 0
    engine_detections: int = 0
    engine_missing: int = 0
    detections: DetectionLog = field(default_factory=DetectionLog)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "command": self.options.command(),
            "cpus": os.cpu_count(),
            "homes": self.options.homes,
            "events": self.events,
            "partitions": self.options.partitions,
            "publish_s": self.publish_s,
            "judged_s": self.judged_s,
            "committed_s": self.committed_s,
            "worker_cpu_s": self.worker_cpu_s,
            "changelog_records": self.changelog_records,
            "detections": {
                "received": self.detections.received,
                "unique": self.detections.unique,
                "repeated": self.detections.repeated,
                "differing": self.detections.differing,
                "engine": self.engine_detections,
                "engine_missing": self.engine_missing,
            },
            "figures": {figure.key: figure.as_json() for figure in self.figures},
            "notes": self.notes,
        }


Say = Callable[[str], None]


def run_worker_bench(options: WorkerBenchOptions, say: Say) -> WorkerBenchReport:
    workdir = Path(tempfile.mkdtemp(prefix="anxin-bench-worker-"))
    keep = options.keep
    try:
        return asyncio.run(_run(options, workdir, say))
    except BenchError:
        keep = True  # the logs it points to
        raise
    finally:
        if keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _run(options: WorkerBenchOptions, workdir: Path, say: Say) -> WorkerBenchReport:
    say(f"simulating {options.events:,} readings of {options.homes:,} homes")
    simulated = simulated_events(
        options.homes,
        options.events,
        seed=options.seed,
        end=datetime.now(UTC),
        timezone=options.timezone,
    )
    engine_ids = {d.detection_id for d in engine_detections(simulated)}
    events = [encode(event) for event in simulated]
    tansu = Tansu(workdir)
    try:
        tansu.start()
    except (OSError, RuntimeError) as error:  # TimeoutError is an OSError
        raise BenchError(f"Tansu did not start ({error}); see {workdir}/tansu.log") from error
    worker = _worker_process(workdir, tansu.bootstrap, options.partitions)
    try:
        await _create_topics(tansu.bootstrap, options.partitions)
        process = worker.start()
        report = await _measure(options, events, tansu.bootstrap, process.pid, workdir, say)
    finally:
        worker.stop()
        tansu.stop()
    report.engine_detections = len(engine_ids)
    report.engine_missing = len(engine_ids - report.detections.first.keys())
    report.figures = figures(report)
    report.notes = notes(report)
    return report


def _worker_process(workdir: Path, bootstrap: str, partitions: int) -> ServerProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")},
        "ANXIN_KAFKA__BOOTSTRAP": bootstrap,
        "ANXIN_DATA_DIR": str(workdir / "data"),
        "ANXIN_LOG_FORMAT": "json",
    }
    argv = [str(Path(sys.executable).parent / "anxin"), "worker"]
    argv += ["--partitions", str(partitions), "--session-timeout", str(SESSION_TIMEOUT_S)]
    return ServerProcess(argv, log=workdir / "worker.log", env=env)


async def _create_topics(bootstrap: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, partitions, 1) for name in (TELEMETRY, DETECTIONS)]
        )
    finally:
        await admin.close()


async def _measure(
    options: WorkerBenchOptions,
    events: list[tuple[bytes, bytes]],
    bootstrap: str,
    pid: int,
    workdir: Path,
    say: Say,
) -> WorkerBenchReport:
    report = WorkerBenchReport(options=options, events=len(events))
    log = report.detections
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    consumer = AIOKafkaConsumer(
        DETECTIONS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    collector = asyncio.create_task(_collect(consumer, log))
    try:
        say("waiting for the worker to join and judge a warm-up press on every partition")
        warm = [encode(e) for e in sos_presses("bench-warm", options.partitions, _now())]
        log.await_homes([key.decode() for key, _ in warm])
        await _publish(producer, warm)
        await _until(log.all_arrived, READY_TIMEOUT_S, pid, workdir, "the warm-up detections")
        changelog_before = await _end_offsets(consumer, CHANGELOG, options.partitions)
        closing = [encode(e) for e in sos_presses("bench-end", options.partitions, _now())]
        log.await_homes([key.decode() for key, _ in closing])
        say(f"publishing {len(events):,} readings")
        before = sample(pid)
        started = time.monotonic()
        await _publish(producer, events + closing)
        report.publish_s = time.monotonic() - started
        await _until(
            log.all_arrived, options.judge_timeout_s(), pid, workdir, "the closing detections"
        )
        after = sample(pid)
        report.judged_s = max(log.arrived.values()) - started
        report.worker_cpu_s = after.cpu_s - before.cpu_s
        report.worker_peak_mb = after.peak_rss_mb
        total = len(warm) + len(events) + len(closing)
        committed = await _until_committed(bootstrap, total, options.partitions)
        report.committed_s = None if committed is None else committed - started
        changelog_after = await _end_offsets(consumer, CHANGELOG, options.partitions)
        report.changelog_records = changelog_after - changelog_before
    finally:
        collector.cancel()
        await asyncio.gather(collector, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
    return report


def _now() -> datetime:
    return datetime.now(UTC)


async def _collect(consumer: AIOKafkaConsumer, log: DetectionLog) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=int(POLL_S * 1000))
        at = time.monotonic()
        for records in batches.values():
            for record in records:
                log.add(record.value, at)


async def _publish(producer: AIOKafkaProducer, records: list[tuple[bytes, bytes]]) -> None:
    sent = [await producer.send(TELEMETRY, key=key, value=value) for key, value in records]
    await producer.flush()
    await asyncio.gather(*sent)


async def _until(
    done: Callable[[], bool], timeout_s: float, pid: int, workdir: Path, what: str
) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if not _alive(pid):
            raise BenchError(
                f"the worker exited while waiting for {what}; see {workdir}/worker.log"
            )
        if time.monotonic() > deadline:
            raise BenchError(f"no {what} within {timeout_s:.0f} s; see {workdir}/worker.log")
        await asyncio.sleep(POLL_S / 4)


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


async def _until_committed(bootstrap: str, total: int, partitions: int) -> float | None:
    """When the worker's group had committed `total` telemetry offsets; None if it never did."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await reader.start()
    try:
        deadline = time.monotonic() + COMMIT_TIMEOUT_S
        while time.monotonic() < deadline:
            offsets = [
                await reader.committed(TopicPartition(TELEMETRY, p)) for p in range(partitions)
            ]
            if sum(offset or 0 for offset in offsets) >= total:
                return time.monotonic()
            await asyncio.sleep(POLL_S)
        return None
    finally:
        await reader.stop()


async def _end_offsets(consumer: AIOKafkaConsumer, topic: str, partitions: int) -> int:
    """Records in `topic` (its end offsets, summed: right on Tansu for one-record batches)."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ends = await consumer.end_offsets(tps)
    return sum(ends.values())


# -- the report ---------------------------------------------------------------------------


def figures(report: WorkerBenchReport) -> list[Figure]:
    events = report.events
    log = report.detections
    cpu_us = report.worker_cpu_s / events * 1e6 if events else None
    committed = report.committed_s
    return [
        Figure(
            "events_per_s",
            "events judged per second, first publish to last closing detection",
            rate(events, report.judged_s),
            "events/s",
        ),
        Figure(
            "committed_per_s",
            "events per second, first publish to every offset committed",
            None if committed is None else rate(events, committed),
            "events/s",
            note=""
            if committed is not None
            else f"not all committed within {COMMIT_TIMEOUT_S:g} s",
        ),
        Figure(
            "publish_per_s",
            "publish rate (one aiokafka producer)",
            rate(events, report.publish_s),
            "events/s",
        ),
        Figure("worker_cpu_us", "worker CPU per event", cpu_us, "µs"),
        Figure("worker_peak_mb", "worker peak memory (VmHWM)", report.worker_peak_mb, "MB"),
        Figure(
            "changelog_per_event",
            "state changelog records written per event",
            report.changelog_records / events if events else None,
            "",
        ),
        Figure("detections", "detections received", float(log.received), ""),
        Figure("unique_detections", "distinct detection ids", float(log.unique), ""),
        Figure(
            "engine_missing",
            "the pure engine's detections not received",
            float(report.engine_missing),
            "",
            note=f"of {report.engine_detections:,}; the engine does not tick (the worker does)",
        ),
        Figure(
            "differing_repeats",
            "repeated ids with different content",
            float(log.differing),
            "",
            target="0",
            passed=log.differing == 0,
        ),
    ]


def notes(report: WorkerBenchReport) -> list[str]:
    said = [
        f"{report.options.homes:,} homes, {report.events:,} readings over "
        f"{report.options.partitions} partitions; one worker process; Tansu in memory",
    ]
    if report.detections.repeated:
        said.append(f"{report.detections.repeated:,} detections arrived more than once (same id)")
    return said


def render_report(report: WorkerBenchReport, console: Console) -> None:
    render_figures(
        "anxin bench worker", report.figures, report.notes, report.options.command(), console
    )


def write_json(report: WorkerBenchReport, path: Path) -> None:
    write_json_file(report.as_json(), path)
