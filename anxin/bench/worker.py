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
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import psutil  # type: ignore[import-untyped]
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from anxin.bench.worker_load import (
    COMMIT_TIMEOUT_S,
    READY_TIMEOUT_S,
    WorkerBenchOptions,
    encode,
    engine_detections,
    simulated_events,
    sos_presses,
)
from anxin.bench.worker_report import DetectionLog, WorkerBenchReport, figures, notes
from anxin.testbed.process import ServerProcess
from anxin.testbed.tansu import Tansu

TELEMETRY: Final = "anxin.telemetry"
DETECTIONS: Final = "anxin.detections"
GROUP: Final = "anxin-processors"
CHANGELOG: Final = "anxin-processors-home-state-changelog"
SESSION_TIMEOUT_S: Final = 10
"""Tansu's group joins take about half the session timeout: keep it short."""
POLL_S: Final = 0.2


class BenchError(Exception):
    """The broker or the worker did not start, or the worker stopped judging."""


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
