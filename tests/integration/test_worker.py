"""`anxin worker` on Tansu: telemetry in, detections out, per-home state in its table,
and a SIGKILL mid-stream survived: state restored from the changelog, nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from anxin.testbed.tansu import Tansu
from devices.events import GatewayEvent, Reading
from devices.telemetry import TELEMETRY_ADAPTER
from processors.catalogue import all_detectors
from processors.detection import Detection
from processors.detector import HomeContext
from processors.engine import Engine
from processors.rules import HomeRules

pytestmark = pytest.mark.integration

PARTITIONS = 2
TELEMETRY = "anxin.telemetry"
DETECTIONS = "anxin.detections"
SESSION_TIMEOUT_S = 10


def reading(home_id: str, device_id: str, payload: dict[str, Any]) -> Reading:
    return Reading(
        home_id=home_id,
        device_id=device_id,
        received_at=datetime.now(UTC),
        telemetry=TELEMETRY_ADAPTER.validate_python(payload),
    )


def telemetry(kind: str, ts: datetime, seq: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "ts": ts.isoformat(), "seq": seq, "data": data}


def scenario(start: datetime, homes: range) -> list[GatewayEvent]:
    """Per home: an sos press, a confident fall and a wet leak sensor."""
    events: list[GatewayEvent] = []
    for n in homes:
        home = f"home-{n:03d}"
        ts = start + timedelta(milliseconds=n)
        events.append(reading(home, f"sos-{n}", telemetry("sos", ts, 1, {"action": "press"})))
        events.append(reading(home, f"fall-{n}", telemetry("fall", ts, 1, {"confidence": 0.95})))
        events.append(reading(home, f"leak-{n}", telemetry("leak", ts, 1, {"wet": True})))
    return events


def heartbeats(start: datetime, home: int, count: int) -> list[GatewayEvent]:
    """`count` quiet readings of a home in the seconds before `start`: work, no detection."""
    return [
        reading(
            f"home-{home:03d}",
            f"hb-{home}",
            telemetry("heartbeat", start - timedelta(seconds=count - i), 1 + i, {"rssi": -60}),
        )
        for i in range(count)
    ]


def cancels(start: datetime, homes: range) -> list[GatewayEvent]:
    """An "I am fine" 20 s after each home's fall: it cancels the fall only with its state."""
    return [
        reading(
            f"home-{n:03d}",
            f"sos-{n}",
            telemetry("sos", start + timedelta(seconds=20), 2, {"action": "cancel"}),
        )
        for n in homes
    ]


class Worker:
    def __init__(self, workdir: Path, bootstrap: str) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "ANXIN_KAFKA__BOOTSTRAP": bootstrap,
            "ANXIN_DATA_DIR": str(workdir / "data"),
            "ANXIN_LOG_FORMAT": "json",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"worker-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "anxin"),
                "worker",
                "--partitions",
                str(PARTITIONS),
                "--session-timeout",
                str(SESSION_TIMEOUT_S),
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def worker(tmp_path: Path, tansu: Tansu) -> Iterator[Worker]:
    worker = Worker(tmp_path, tansu.bootstrap)
    yield worker
    worker.stop()


async def create_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, PARTITIONS, 1) for name in (TELEMETRY, DETECTIONS)]
        )
    finally:
        await admin.close()


async def publish(producer: AIOKafkaProducer, events: list[GatewayEvent]) -> None:
    for event in events:
        await producer.send(
            TELEMETRY, key=event.home_id.encode(), value=event.model_dump_json().encode()
        )
    await producer.flush()


async def collect_until(
    consumer: AIOKafkaConsumer,
    received: list[Detection],
    wanted: set[str],
    timeout_s: float,
) -> None:
    """Read detections into `received` until every id in `wanted` is there, or time is up."""
    await collect_while(
        consumer, received, lambda: not wanted <= {d.detection_id for d in received}, timeout_s
    )


async def collect_while(
    consumer: AIOKafkaConsumer,
    received: list[Detection],
    waiting: Callable[[], bool],
    timeout_s: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while waiting():
        left = deadline - loop.time()
        if left <= 0:
            return
        batches = await consumer.getmany(timeout_ms=int(min(left, 0.2) * 1000))
        for records in batches.values():
            received.extend(Detection.model_validate_json(record.value) for record in records)


async def committed(bootstrap: str) -> int:
    """Telemetry offsets the worker group has committed, over all partitions."""
    # A consumer that never subscribes only reads the group's offsets: it does not join.
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id="anxin-processors", enable_auto_commit=False
    )
    await reader.start()
    try:
        offsets = [await reader.committed(TopicPartition(TELEMETRY, p)) for p in range(PARTITIONS)]
    finally:
        await reader.stop()
    return sum(offset or 0 for offset in offsets)


async def until_committed(bootstrap: str, count: int, timeout_s: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    done = await committed(bootstrap)
    while done < count and loop.time() < deadline:
        await asyncio.sleep(0.5)
        done = await committed(bootstrap)
    return done


def expected(events: list[GatewayEvent]) -> list[Detection]:
    """What the pure engine finds in the same events: the worker must deliver all of it."""
    engine = Engine(all_detectors(), lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
    return engine.step_all(events)


def ids(detections: list[Detection]) -> set[str]:
    return {d.detection_id for d in detections}


def assert_all_delivered_once_each(wanted: list[Detection], received: list[Detection]) -> None:
    """Every wanted detection arrived; one arriving again is the very same detection."""
    first: dict[str, Detection] = {}
    for detection in received:
        assert detection == first.setdefault(detection.detection_id, detection)
    assert [(d.home_id, d.kind, d.action) for d in wanted if d.detection_id not in first] == []


async def test_worker_turns_telemetry_into_detections_with_stable_ids(
    tansu: Tansu, worker: Worker
) -> None:
    """Events in on `anxin.telemetry`, every detection the pure engine finds out on
    `anxin.detections`, with the same ids, and a fall cancelled from the table's state."""
    await create_topics(tansu.bootstrap)
    start = datetime.now(UTC).replace(microsecond=0)
    events = scenario(start, range(0, 20)) + cancels(start, range(0, 20))
    wanted = expected(events)
    assert {("fall", "cancel"), ("sos", "open"), ("leak", "open")} <= {
        (d.kind, d.action) for d in wanted
    }
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        DETECTIONS, bootstrap_servers=tansu.bootstrap, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    received: list[Detection] = []
    try:
        worker.start()
        await publish(producer, events)
        await collect_until(consumer, received, {d.detection_id for d in wanted}, timeout_s=40)
    finally:
        await consumer.stop()
        await producer.stop()
    assert_all_delivered_once_each(wanted, received)
    fall_cancels = {d.home_id for d in received if (d.kind, d.action) == ("fall", "cancel")}
    assert fall_cancels == {f"home-{n:03d}" for n in range(20)}


async def test_worker_killed_mid_stream_restarts_from_its_table_and_loses_nothing(
    tansu: Tansu, worker: Worker
) -> None:
    """SIGKILL while the worker judges a stream, then a restart on the same group.

    Homes 0-19 get an sos, a fall and a leak, all committed before the kill: after
    the restart the worker never reads them again, so the "I am fine" that cancels
    each of those falls can only be judged from the state restored from the table's
    changelog. Homes 20-39 (heartbeats, then the same three) are being judged when
    the first of their detections arrives and the worker is killed; what it had not
    committed is judged again after the restart. Every detection the pure engine
    finds must arrive, and one delivered twice must be the same detection (same id,
    same content).
    """
    await create_topics(tansu.bootstrap)
    start = datetime.now(UTC).replace(microsecond=0)
    committed_first = scenario(start, range(0, 20))
    mid_stream = [
        event
        for n in range(20, 40)
        for event in heartbeats(start, n, 15) + scenario(start, range(n, n + 1))
    ]
    after_kill = cancels(start, range(0, 40))
    wanted = expected(committed_first + mid_stream + after_kill)
    mid_stream_ids = ids(expected(scenario(start, range(20, 40))))
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        DETECTIONS, bootstrap_servers=tansu.bootstrap, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    received: list[Detection] = []
    try:
        worker.start()
        await publish(producer, committed_first)
        await collect_until(consumer, received, ids(expected(committed_first)), timeout_s=40)
        assert await until_committed(tansu.bootstrap, len(committed_first), 15) == len(
            committed_first
        )
        await publish(producer, mid_stream)
        await collect_while(
            consumer, received, lambda: not mid_stream_ids & ids(received), timeout_s=20
        )
        worker.kill()
        await publish(producer, after_kill)
        worker.start()
        await collect_until(consumer, received, ids(wanted), timeout_s=60)
    finally:
        await consumer.stop()
        await producer.stop()
    assert_all_delivered_once_each(wanted, received)
    fall_cancels = {d.home_id for d in received if (d.kind, d.action) == ("fall", "cancel")}
    assert fall_cancels == {f"home-{n:03d}" for n in range(40)}
