"""The gateway's consume loop: MQTT in, validated, stored, handed on, then acknowledged.

A message is acknowledged (PUBACK) only after its reading is in the time-series
store or fsynced into the spool, and handed to processing; a rejected message
only after its dead letter is kept. Handing on does not wait for the store (whose
batches linger to fill), so an SOS reaches the detectors at once. So a crash at any point loses nothing the
broker holds: unacknowledged messages come again, and storing one twice
overwrites the same point.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, NamedTuple

import structlog

from devices.events import GatewayEvent, Reading, StatusChange
from devices.topics import SHARED_TELEMETRY_FILTER, STATUS_FILTER, TELEMETRY_FILTER
from gateway.deadletter import DeadLetter, DeadLetterSink
from gateway.decode import Decoder, Rejected
from gateway.handoff import ProcessingSink
from gateway.health import DeviceHealthBoard
from gateway.metrics import LAG_SAMPLE_EVERY, GatewayMetrics
from gateway.mqtt import MqttClient, MqttError, MqttMessage
from gateway.points import to_line
from gateway.storage import DurableWriter, Outcome

log = structlog.get_logger("anxin.gateway")

_BACKOFF_FIRST_S: Final = 0.5
_BACKOFF_MAX_S: Final = 15.0
_REFUSED: Final = 0x80
"""SUBACK return code for a refused subscription (amqtt refuses `$share/...`)."""
_PIPELINE_DEPTH: Final = 4
"""Batches decoded ahead while earlier ones are still being written."""


@dataclass(slots=True)
class Triage:
    """What one batch of messages turned into."""

    lines: list[str] = field(default_factory=list)
    events: list[GatewayEvent] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    sampled: list[datetime] = field(default_factory=list)
    """`ts` of every LAG_SAMPLE_EVERY-th accepted reading, for the ingest lag histogram."""


HandOn = tuple[list[GatewayEvent], asyncio.Future[None]]
"""A batch's events, and what tells the acknowledger they were handed on."""


class Batch(NamedTuple):
    """One batch on its way to its acknowledgement."""

    stored: asyncio.Future[Outcome]
    handed: asyncio.Future[None]
    triage: Triage
    messages: list[MqttMessage]
    started: float


class Gateway:
    def __init__(
        self,
        *,
        connect: Callable[[], MqttClient],
        shared_subscription: bool,
        decoder: Decoder,
        writer: DurableWriter,
        handoff: ProcessingSink,
        dead_letters: DeadLetterSink,
        health: DeviceHealthBoard,
        metrics: GatewayMetrics,
        batch_size: int = 5000,
    ) -> None:
        self._connect = connect
        self._telemetry_filter = (
            SHARED_TELEMETRY_FILTER if shared_subscription else TELEMETRY_FILTER
        )
        self._decoder = decoder
        self._writer = writer
        self._handoff = handoff
        self._dead_letters = dead_letters
        self._health = health
        self._metrics = metrics
        self._batch_size = batch_size
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff whenever the broker goes away."""
        backoff = _BACKOFF_FIRST_S
        while True:
            client = self._connect()
            try:
                await client.connect()
                granted = await client.subscribe([(self._telemetry_filter, 1), (STATUS_FILTER, 1)])
                if _REFUSED in granted:
                    raise MqttError(f"the broker refused the subscription (granted {granted})")
                log.info("gateway_connected", filter=self._telemetry_filter)
                self.connected.set()
                backoff = _BACKOFF_FIRST_S
                await self._consume(client)
            except MqttError as error:
                self.connected.clear()
                log.warning("gateway_disconnected", error=str(error), retry_in_s=backoff)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            except Exception:
                # A failing sink (dead-letter disk full, processing hand-off down) must not
                # end the gateway: drop the connection, so what was not acknowledged comes
                # again, and start over.
                self.connected.clear()
                log.exception("gateway_failed", retry_in_s=backoff)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            finally:
                client.abort()
                # What was decoded but not acknowledged comes again on the next connection.
                self._decoder.forget_seen()

    async def _consume(self, client: MqttClient) -> None:
        pipeline: asyncio.Queue[Batch] = asyncio.Queue(_PIPELINE_DEPTH)
        to_hand_on: asyncio.Queue[HandOn] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        acker = asyncio.create_task(self._acknowledge(client, pipeline))
        hander = asyncio.create_task(self._hand_on(to_hand_on))
        try:
            async for batch in client.batches(max_messages=self._batch_size):
                started = time.perf_counter()
                triage = self.triage(batch, now=datetime.now(UTC), monotonic_now=time.monotonic())
                if triage.dead:
                    await self._dead_letters.put(triage.dead)
                handed: asyncio.Future[None] = loop.create_future()
                to_hand_on.put_nowait((triage.events, handed))
                stored = self._writer.submit(triage.lines)
                await pipeline.put(Batch(stored, handed, triage, batch, started))
                if acker.done():
                    acker.result()
        finally:
            acker.cancel()
            hander.cancel()

    async def _hand_on(self, to_hand_on: asyncio.Queue[HandOn]) -> None:
        """Hand each batch's events on as soon as it is decoded, one batch after another.

        Not after the store: its batches linger (50 ms by default) to fill, and an SOS
        should not wait for that. Acknowledging still waits for both. The first failure
        ends the stage; the acknowledger raises it, and the connection starts again.
        """
        while True:
            events, handed = await to_hand_on.get()
            try:
                if events:
                    await self._handoff.send(events)
            except Exception as error:
                handed.set_exception(error)  # the acknowledger raises it
                return
            handed.set_result(None)

    async def _acknowledge(self, client: MqttClient, pipeline: asyncio.Queue[Batch]) -> None:
        """Acknowledge batches in the order they arrived, each once durable and handed on."""
        while True:
            stored, handed, triage, batch, started = await pipeline.get()
            outcome = await stored
            await handed
            if triage.sampled:
                now = time.time()
                observe = self._metrics.ingest_lag.observe
                for ts in triage.sampled:
                    observe(now - ts.timestamp())
            if triage.lines:
                counter = self._metrics.stored if outcome == "stored" else self._metrics.spooled
                counter.inc(len(triage.lines))
            client.ack(batch)
            self._metrics.ack_latency.observe(time.perf_counter() - started)

    def triage(
        self, batch: Sequence[MqttMessage], *, now: datetime, monotonic_now: float
    ) -> Triage:
        """Decode a batch: line protocol to store, events to hand on, letters to keep."""
        result = Triage()
        decode = self._decoder.decode
        accepted: Counter[str] = Counter()
        sampled = result.sampled
        for message in batch:
            outcome = decode(message.topic, message.payload, now=now, monotonic_now=monotonic_now)
            if isinstance(outcome, Reading):
                result.lines.append(to_line(outcome))
                result.events.append(outcome)
                telemetry = outcome.telemetry
                if (len(result.lines) - 1) % LAG_SAMPLE_EVERY == 0:
                    sampled.append(telemetry.ts)
                self._health.seen(outcome.device_id, outcome.home_id, now, telemetry.battery)
                accepted[telemetry.type] += 1
            elif isinstance(outcome, StatusChange):
                result.events.append(outcome)
                self._health.status(outcome.device_id, outcome.home_id, outcome.status, now)
                self._metrics.status_changes.labels(outcome.status).inc()
            else:
                result.dead.append(self.dead_letter(outcome, now))
        # Counted once per batch: a labelled increment per message would cost
        # more than decoding some readings.
        self._metrics.received.inc(len(batch))
        for kind, count in accepted.items():
            self._metrics.accepted.labels(kind).inc(count)
        return result

    def dead_letter(self, rejected: Rejected, now: datetime) -> DeadLetter:
        self._metrics.rejected.labels(rejected.reason).inc()
        log.info(
            "telemetry_rejected",
            topic=rejected.topic[:200],
            reason=rejected.reason,
            detail=rejected.detail,
        )
        return DeadLetter.of(rejected, received_at=now)
