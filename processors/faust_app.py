"""`anxin worker`: the engine as a faust-streaming app over Kafka.

`anxin.telemetry` (JSON gateway events keyed by home_id) in, `anxin.detections`
(JSON detections keyed by home_id) out. Each home's `HomeState` lives in a
table keyed by home_id, whose changelog restores it after a restart or a
rebalance; a timer ticks the homes this worker holds. Delivery is
at-least-once: after a crash some events are judged again, and the
detections they raise again carry the same `detection_id`.

Tansu, the Kafka-compatible broker of the test bed, fixes three settings:
no idempotent producer (InitProducerId fails), no `exactly_once` (crashes at
start), and one record per produce batch (a multi-record batch reports a
wrong end offset, which cuts changelog recovery short).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import faust
import orjson
import structlog
from aiokafka.partitioner import murmur2
from pydantic import Field, TypeAdapter, ValidationError

from devices.events import GatewayEvent, Reading, StatusChange
from processors.detection import Detection
from processors.engine import AnyDetector, HomeState, step, tick
from processors.homes import HomeDirectory

log = structlog.get_logger("anxin.processors")

EVENT_ADAPTER: Final[TypeAdapter[GatewayEvent]] = TypeAdapter(
    Annotated[Reading | StatusChange, Field(discriminator="kind")]
)
TABLE_NAME: Final = "home-state"


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the gateway's producer) picks."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class HomeTable(faust.Table[bytes, bytes]):
    """A table whose key's partition is Kafka's default partitioner over the key bytes.

    The timer writes states outside any event, where faust has no source
    partition to copy; computing it here (rather than `use_partitioner`, which
    asks the running producer) keeps it the same as the gateway's partitioner.
    """

    def partition_for_key(self, key: bytes) -> int:
        return partition_of(key, self.partitions or self.app.conf.topic_partitions)


@dataclass
class Processor:
    """The app and its parts, so tests can drive the agent and read the table."""

    app: faust.App
    agent: Any
    table: Any
    telemetry: Any
    detections: Any
    directory: HomeDirectory
    detectors: tuple[AnyDetector, ...]
    parsed: dict[bytes, tuple[bytes, HomeState]] = field(default_factory=dict)
    """The state last written per key, with the exact bytes written: parsing the table's
    JSON on every event cost more than the detectors. A value restored from the
    changelog is a different bytes object, so it is parsed afresh."""

    def load(self, key: bytes) -> HomeState:
        raw = self.table.get(key)
        if raw is None:
            return HomeState()
        cached = self.parsed.get(key)
        if cached is not None and cached[0] is raw:
            return cached[1]
        state = HomeState.from_json(orjson.loads(raw), self.detectors)
        self.parsed[key] = (raw, state)
        return state

    def store(self, key: bytes, state: HomeState) -> None:
        raw = state.model_dump_json().encode()
        self.table[key] = raw
        self.parsed[key] = (raw, state)

    def state(self, home_id: str) -> HomeState:
        return self.load(home_id.encode())


def create_app(
    *,
    bootstrap: str,
    detectors: Sequence[AnyDetector],
    directory: HomeDirectory,
    telemetry_topic: str = "anxin.telemetry",
    detections_topic: str = "anxin.detections",
    app_id: str = "anxin-processors",
    partitions: int = 8,
    tick_s: float = 1.0,
    refresh_s: float = 60.0,
    session_timeout_s: float = 30.0,
    store: str = "memory://",
    broker: str | None = None,
) -> Processor:
    """The worker's faust app over `bootstrap` (`broker` overrides it, e.g. `memory://` in tests)."""
    app = faust.App(
        app_id,
        broker=broker or f"kafka://{bootstrap}",
        store=store,
        processing_guarantee="at_least_once",
        topic_partitions=partitions,
        table_standby_replicas=0,
        # One record per produce batch (see module docstring): a batch holds at
        # least one record, so a 1-byte limit makes every batch a single record.
        producer_max_batch_size=1,
        producer_linger=0.0,
        producer_acks=-1,
        broker_session_timeout=session_timeout_s,
        broker_heartbeat_interval=max(1.0, session_timeout_s / 10),
        broker_rebalance_timeout=session_timeout_s,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    detectors = tuple(detectors)
    # Declared by the worker, so the source topic has as many partitions as the
    # table's changelog: states stay co-partitioned with the events of their homes.
    telemetry = app.topic(
        telemetry_topic,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        internal=True,
    )
    out = app.topic(detections_topic, key_type=bytes, value_type=bytes, internal=True)
    table = HomeTable(
        app,
        name=TABLE_NAME,
        default=None,
        beacon=app.tables.beacon,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
    )
    app.tables.add(table)

    processor: Processor

    async def publish(detections: Sequence[Detection]) -> None:
        # force: send now rather than as an "attachment" published at the next offset
        # commit: on Tansu attachments were sometimes never published after a restart.
        # Still at-least-once: faust flushes the producer before committing offsets.
        for detection in detections:
            await out.send(
                key=detection.home_id.encode(),
                value=detection.model_dump_json().encode(),
                force=True,
            )

    async def process(stream: faust.StreamT[bytes]) -> AsyncIterator[list[Detection]]:
        """Judge each event; yields its detections (`agent.results` in tests)."""
        async for value in stream:
            try:
                event = EVENT_ADAPTER.validate_json(value)
            except ValidationError as error:
                log.warning("event_refused", errors=error.error_count())
                yield []
                continue
            key = event.home_id.encode()
            before = processor.load(key)
            state, detections = step(detectors, before, event, directory.context_for(event.home_id))
            if state is not before:
                processor.store(key, state)
            await publish(detections)
            yield detections

    agent = app.agent(telemetry, name="judge")(process)

    async def ticks() -> None:
        mine = {
            tp.partition
            for tp in app.assignor.assigned_actives()
            if tp.topic == table.changelog_topic.get_topic_name()
        }
        now = datetime.now(UTC)
        for key in list(table.keys()):
            if partition_of(key, partitions) not in mine:
                continue
            before = processor.load(key)
            home_id = key.decode()
            state, detections = tick(detectors, before, now, directory.context_for(home_id))
            if state is not before:
                processor.store(key, state)
            await publish(detections)

    app.timer(tick_s)(ticks)

    async def refresh() -> None:
        try:
            homes = await asyncio.to_thread(directory.refresh)
        except Exception as error:  # the registry may be briefly unavailable
            log.warning("homes_refresh_failed", error=str(error)[:300])
        else:
            log.info("homes_refreshed", homes=homes)

    app.timer(refresh_s, on_leader=False)(refresh)
    app.task(refresh)

    processor = Processor(app, agent, table, telemetry, out, directory, detectors)
    return processor


def run_worker(
    *,
    bootstrap: str,
    detectors: Sequence[AnyDetector],
    directory: HomeDirectory,
    telemetry_topic: str,
    detections_topic: str,
    partitions: int,
    session_timeout_s: float,
) -> None:
    """Run one worker until SIGTERM/SIGINT (blocking: faust owns the event loop)."""
    processor = create_app(
        bootstrap=bootstrap,
        detectors=detectors,
        directory=directory,
        telemetry_topic=telemetry_topic,
        detections_topic=detections_topic,
        partitions=partitions,
        session_timeout_s=session_timeout_s,
    )
    worker = faust.Worker(processor.app, loglevel="INFO")
    worker.execute_from_commandline()
