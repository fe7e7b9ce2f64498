"""`anxin worker`: the engine as a faust-streaming app over Kafka.

`anxin.telemetry` (JSON gateway events keyed by home_id) in, `anxin.detections`
(JSON detections keyed by home_id) out. Each home's `HomeState` lives in a
table keyed by home_id, whose changelog restores it after a restart or a
rebalance; a timer ticks the homes this worker holds. Delivery is
at-least-once: after a crash some events are judged again, and the
detections they raise again carry the same `detection_id`.

Events are judged in batches (`stream.take_events`: up to `batch_max`, or what
came in within `batch_within_s`): each home's state is written to the table once
per batch, not once per event, which is most of what a worker costs per event (a
state is several KB of JSON, and Tansu takes one record per produce batch). A
batch's detections are sent (and on the broker) before its states are written,
and its events acknowledged only after both, so a crash mid-batch judges the whole
batch again from the states it started from. A tick that
changes a home's state but raises nothing (some detectors note the time on every
tick) keeps the new state in memory, written with the home's next batch or after
`tick_write_s`: a crash loses at most that much of it, and the next tick redoes it.

Tansu, the Kafka-compatible broker of the test bed, fixes three settings:
no idempotent producer (InitProducerId fails), no `exactly_once` (crashes at
start), and one record per produce batch (a multi-record batch reports a
wrong end offset, which cuts changelog recovery short).

Two faust races lost events after a restart; `SeekFirstRecovery` and
`ActiveSnapshotConsumer` work around them (see their docstrings).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final, cast

import faust
import orjson
import structlog
from aiokafka.partitioner import murmur2
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport.consumer import RecordMap
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
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
BATCH_MAX: Final = 1000
"""Events judged together at most: a home's state is written once per batch."""
BATCH_WITHIN_S: Final = 0.1
"""How long a batch takes in events: the most a detection waits when traffic is light."""
TICK_WRITE_S: Final = 60.0
"""A tick that changes a home's state without a detection writes it at most this often."""


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


class SeekFirstRecovery(Recovery):
    """faust's recovery, but stream partitions resume only after the seek to committed offsets.

    faust 0.15.3 (`Recovery.on_recovery_completed`) resumes the stream partitions
    and then awaits the seek to their committed offsets, with `flow_control`
    already active since changelog recovery began. In that window the fetcher
    hands the streams what aiokafka prefetched while the changelogs were read
    (after a restart: the backlog from the committed offset on). The seek then
    rewinds the consumer's read offsets, but the fetcher is still delivering that
    stale batch and moves them forward again, so the same records fetched anew
    are dropped as already read; and `flow_control.resume()` right after the seek
    empties every stream queue (`clear_on_resume`), throwing away the records
    delivered but not yet taken by the agent. Those events are never processed
    nor acknowledged, and the first of them blocks the partition's commits for
    good: a restarted worker that "processes nothing" after "Worker ready".
    Seeking while the stream partitions are still paused leaves nothing in flight.
    """

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """faust's `on_recovery_completed`, with the seek moved before `resume_partitions`."""
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            self.log.warning("Recovery rebalancing again")
            return
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        self.completed.set()
        self.app.flow_control.resume()
        consumer.resume_flow()
        await cast(faust.App, self.app)._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")


class ActiveSnapshotConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer, fetching for a copy of the partitions active when it asks.

    faust hands aiokafka its live set of active partitions, and aiokafka reads an
    empty set as "every partition". When changelog recovery ends, faust pauses the
    changelog partitions while a fetch for them is still waiting: the set empties and
    that fetch returns stream records (after a restart: the backlog), which faust
    drops as not active after aiokafka has moved past them. Unless the seek to the
    committed offsets comes later, they are lost. A copy keeps the fetch to the
    partitions it was for.
    """

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:  # noqa: ASYNC109 (faust's signature)
        wanted = None if active_partitions is None else set(active_partitions)
        return await super()._getmany(wanted, timeout)


class KafkaTransport(faust_aiokafka.Transport):
    """faust's aiokafka transport with `ActiveSnapshotConsumer`."""

    Consumer = ActiveSnapshotConsumer


class SeekFirstTableManager(TableManager):
    """faust's table manager with `SeekFirstRecovery` (the worker always has its table, so
    recovery always ends in `on_recovery_completed`, never in faust's table-less path)."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery


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
    judge: Callable[[Sequence[faust.EventT[bytes]]], Awaitable[list[Detection]]]
    """What the agent does with a batch of events (tests call it directly)."""
    parsed: dict[bytes, tuple[bytes, HomeState]] = field(default_factory=dict)
    """The state last written (or kept) per key, with the table's bytes it was written as
    (or kept over): parsing the table's JSON on every event cost more than the detectors.
    A value restored from the changelog is a different bytes object, so it is parsed
    afresh."""
    written_at: dict[bytes, float] = field(default_factory=dict)
    """When this process last wrote each home's state to the table (monotonic seconds)."""

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
        """Write `state` to the table, and so to its changelog."""
        raw = state.model_dump_json().encode()
        self.table[key] = raw
        self.parsed[key] = (raw, state)
        self.written_at[key] = time.monotonic()

    def unwritten_for(self, key: bytes) -> float:
        """Seconds since this process last wrote the home's state (infinite: never)."""
        written = self.written_at.get(key)
        return math.inf if written is None else time.monotonic() - written

    def keep(self, key: bytes, state: HomeState) -> None:
        """Hold `state` in memory only, over the table's current value: the home's next
        `store` writes it. A value restored from the changelog replaces the table's
        value, and with it what was kept over the old one."""
        raw = self.table.get(key)
        if raw is None:
            self.store(key, state)
        else:
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
    batch_max: int = BATCH_MAX,
    batch_within_s: float = BATCH_WITHIN_S,
    tick_write_s: float = TICK_WRITE_S,
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
        TableManager=SeekFirstTableManager,
        key_serializer="raw",
        value_serializer="raw",
    )
    if app.conf.broker_consumer[0].scheme == "kafka":
        app.transport = KafkaTransport(app.conf.broker_consumer, app)
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

    lock = asyncio.Lock()
    """A batch, or one home's tick, at a time: each writes the states it judged only
    once its detections are on the broker (below), and none may judge a state that
    another has changed but not yet written."""

    async def publish(detections: Sequence[Detection]) -> None:
        """Send the detections and wait until the broker has them all.

        Before the states that raised them are written: a crash in between leaves the
        old state, so the events are judged again and the detections sent again, with
        the same ids. The other way round, the new state would be restored, judging
        again would raise nothing (the alert is already open) and they would be lost.
        """
        # force: send now rather than as an "attachment" published at the next offset
        # commit: on Tansu attachments were sometimes never published after a restart.
        sent = [
            await out.send(
                key=detection.home_id.encode(),
                value=detection.model_dump_json().encode(),
                force=True,
            )
            for detection in detections
        ]
        await asyncio.gather(*sent)

    async def judge(events: Sequence[faust.EventT[bytes]]) -> list[Detection]:
        """Judge a batch in order; send its detections, then write each home's state once."""
        async with lock:
            generation = app.consumer_generation_id
            loaded: dict[bytes, HomeState] = {}
            states: dict[bytes, HomeState] = {}
            found: list[Detection] = []
            for event in events:
                if event.message.generation_id != generation:
                    # Taken before a rebalance: its partition's new owner judges it again.
                    continue
                try:
                    gateway_event = EVENT_ADAPTER.validate_json(event.value)
                except ValidationError as error:
                    log.warning("event_refused", errors=error.error_count())
                    continue
                key = gateway_event.home_id.encode()
                before = states.get(key)
                if before is None:
                    before = loaded[key] = processor.load(key)
                context = directory.context_for(gateway_event.home_id)
                states[key], detections = step(detectors, before, gateway_event, context)
                found.extend(detections)
            await publish(found)
            for key, state in states.items():
                if state is not loaded[key]:
                    processor.store(key, state)
            return found

    async def process(stream: faust.StreamT[bytes]) -> AsyncIterator[list[Detection]]:
        """Judge the events in batches; yields each batch's detections (`agent.results`)."""
        batches = cast(faust.Stream[bytes], stream).take_events(batch_max, within=batch_within_s)
        async for events in batches:
            yield await judge(events)

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
            async with lock:
                before = processor.load(key)
                home_id = key.decode()
                state, detections = tick(detectors, before, now, directory.context_for(home_id))
                if detections:
                    await publish(detections)
                if state is before:
                    continue
                if detections or processor.unwritten_for(key) >= tick_write_s:
                    processor.store(key, state)
                else:
                    processor.keep(key, state)

    app.timer(tick_s)(ticks)

    async def refresh() -> None:
        try:
            homes = await asyncio.to_thread(directory.refresh)
        except Exception as error:  # the registry may be briefly unavailable
            log.warning("homes_refresh_failed", error=str(error)[:300])
        else:
            log.info("homes_refreshed", reloaded=homes)

    app.timer(refresh_s, on_leader=False)(refresh)
    app.task(refresh)

    processor = Processor(app, agent, table, telemetry, out, directory, detectors, judge)
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
