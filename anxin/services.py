"""Building the gateway's parts from settings, and the `anxin gateway` service.

This is the one place that decides which adapters sit behind the seams:
InfluxDB (v1 or v2) or the embedded store, Kafka or the in-process hand-off,
Kafka or file dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
import uvicorn
from prometheus_client import CollectorRegistry

from anxin.heap import keep_heap_settled, settle_heap
from anxin.logs import configure_logging
from anxin.registry import open_registry
from anxin.settings import Settings
from api.health import Readiness
from api.ops import closed_by_default, operators_app
from gateway.deadletter import DeadLetterSink, FileDeadLetters
from gateway.decode import Decoder
from gateway.dedup import SeenReadings
from gateway.directory import CachedDirectory
from gateway.handoff import InProcessHandoff, ProcessingSink
from gateway.health import DeviceHealthBoard
from gateway.influx import InfluxQLReader, InfluxV1Writer, InfluxV2Writer
from gateway.localstore import FILE_NAME, LocalStore
from gateway.metrics import GatewayMetrics
from gateway.mqtt import MqttClient
from gateway.service import Gateway
from gateway.spool import Spool
from gateway.storage import DurableWriter
from gateway.timeseries import LineWriter, TimeSeriesReader
from records.devices import DeviceRegistry

if TYPE_CHECKING:
    # Imported where used: aiokafka costs ~4 MB of every gateway that runs without Kafka.
    from gateway.kafka import KafkaProducer

log = structlog.get_logger("anxin")

Closer = Callable[[], Awaitable[None]]


@dataclass
class TimeSeries:
    writer: LineWriter
    reader: TimeSeriesReader
    closers: list[Closer] = field(default_factory=list)


async def open_time_series(settings: Settings) -> TimeSeries:
    """InfluxDB when a URL is configured, else the embedded file-backed store."""
    influx = settings.influx
    if influx.url is None:
        store = LocalStore(settings.data_dir / FILE_NAME)
        return TimeSeries(store, store, [store.aclose])
    reader = InfluxQLReader.from_settings(influx)
    writer: InfluxV1Writer | InfluxV2Writer
    writer = (
        InfluxV1Writer.from_settings(influx)
        if influx.api == "v1"
        else InfluxV2Writer.from_settings(influx)
    )
    await writer.start()
    return TimeSeries(writer, reader, [writer.aclose, reader.aclose])


@dataclass
class GatewayStack:
    """A gateway with what it writes to, started, and how to stop it without loss."""

    gateway: Gateway
    writer: DurableWriter
    spool: Spool
    time_series: TimeSeries
    health: DeviceHealthBoard
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.gateway.run(), name="gateway")

    async def stop(self) -> None:
        """Stop consuming, then write or spool whatever was already taken in."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.writer.stop()
        await asyncio.to_thread(self.spool.close)
        for close in self.time_series.closers:
            await close()


async def build_gateway(
    settings: Settings,
    *,
    registry: DeviceRegistry,
    handoff: ProcessingSink,
    dead_letters: DeadLetterSink,
    metrics: GatewayMetrics,
    mqtt_password: str,
    shared_subscription: bool,
) -> GatewayStack:
    time_series = await open_time_series(settings)
    spool = Spool(settings.data_dir / "spool", max_bytes=settings.influx.spool_max_mb << 20)

    def store_refused(lines: Sequence[str], error: Exception) -> None:
        log.error("store_refused_lines", lines=len(lines), error=str(error)[:300])

    writer = DurableWriter(
        time_series.writer,
        spool,
        batch_size=settings.influx.batch_size,
        linger_s=settings.influx.linger_ms / 1000,
        retry_max_s=settings.influx.retry_max_s,
        on_rejected=store_refused,
    )
    metrics.spool_bytes.set_function(lambda: writer.spool_bytes)
    await writer.start()
    devices = await asyncio.to_thread(registry.devices)
    health = DeviceHealthBoard()
    mqtt = settings.mqtt

    def connect() -> MqttClient:
        return MqttClient(
            host=mqtt.host,
            port=mqtt.port,
            client_id=mqtt.client_id,
            username=mqtt.username,
            password=mqtt_password,
            clean_session=False,
            receive_window=mqtt.receive_window,
        )

    gateway = Gateway(
        connect=connect,
        shared_subscription=shared_subscription,
        decoder=Decoder(CachedDirectory(registry, devices), SeenReadings()),
        writer=writer,
        handoff=handoff,
        dead_letters=dead_letters,
        health=health,
        metrics=metrics,
        batch_size=settings.influx.batch_size,
    )
    return GatewayStack(gateway, writer, spool, time_series, health)


def http_server(settings: Settings, app: object) -> uvicorn.Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.http.host,
        port=settings.http.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    return uvicorn.Server(config)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so services shut down without losing data."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until(condition: Callable[[], bool]) -> None:
    """Poll a flag that offers no event to wait on (uvicorn's `started`)."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def wait_ready(event: asyncio.Event, readiness: Readiness, name: str) -> None:
    await event.wait()
    readiness.ready(name)


async def start_kafka(bootstrap: str, *, stop: asyncio.Event) -> KafkaProducer:
    """Connect to Kafka, retrying while it is not up yet (compose start order, restarts)."""
    from gateway.kafka import KafkaProducer

    delay = 0.5
    while True:
        producer = KafkaProducer(bootstrap)
        try:
            await producer.start()
            return producer
        except Exception as error:  # aiokafka raises several unrelated types here
            await producer.stop()
            log.warning("kafka_unavailable", error=str(error), retry_in_s=delay)
            if stop.is_set():
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15)


async def run_gateway_service(settings: Settings) -> None:
    """`anxin gateway`: one gateway instance of a production deployment."""
    configure_logging(settings.log_format)
    stop = stop_on_signals()
    metrics = CollectorRegistry()
    readiness = Readiness()
    readiness.expect("gateway")
    registry = await asyncio.to_thread(open_registry, settings)
    producer: KafkaProducer | None = None
    handoff: ProcessingSink
    dead_letters: DeadLetterSink
    if settings.kafka.bootstrap:
        from gateway.kafka import KafkaDeadLetters, KafkaHandoff

        producer = await start_kafka(settings.kafka.bootstrap, stop=stop)
        handoff = KafkaHandoff(producer, settings.kafka.telemetry_topic)
        dead_letters = KafkaDeadLetters(producer, settings.kafka.deadletter_topic)
    else:
        handoff = InProcessHandoff()
        dead_letters = FileDeadLetters(settings.data_dir / "deadletter")
    stack = await build_gateway(
        settings,
        registry=registry,
        handoff=handoff,
        dead_letters=dead_letters,
        metrics=GatewayMetrics(metrics),
        mqtt_password=settings.mqtt.password.get_secret_value(),
        shared_subscription=settings.mqtt.shared_subscription,
    )
    server = http_server(
        settings,
        closed_by_default(
            operators_app(readiness=readiness, metrics=metrics),
            max_body_bytes=settings.http.max_body_bytes,
        ),
    )
    settle_heap()
    stack.start()
    tasks = [
        asyncio.create_task(server.serve(), name="http"),
        asyncio.create_task(wait_ready(stack.gateway.connected, readiness, "gateway")),
        asyncio.create_task(keep_heap_settled(), name="heap"),
    ]
    log.info(
        "gateway_started",
        mqtt=settings.mqtt.url,
        http_port=settings.http.port,
        influx=settings.influx.url or "embedded",
        kafka=settings.kafka.bootstrap or "none",
    )
    started = time.monotonic()
    await stop.wait()
    log.info("gateway_stopping", uptime_s=round(time.monotonic() - started))
    await stack.stop()
    server.should_exit = True
    for task in tasks[1:]:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if producer is not None:
        await producer.stop()
