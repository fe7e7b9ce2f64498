"""`anxin up`: every service in one process on embedded defaults.

The embedded amqtt broker, the gateway, the embedded time-series store and
SQLite registry, the HTTP API and, with `--simulate N`, a simulated
neighbourhood publishing through the broker like real devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry
from rich.console import Console

from anxin.admin import ADMIN, bootstrap_admin
from anxin.alerting import api_context, build_alert_stack, offers_client
from anxin.heap import keep_heap_settled, settle_heap
from anxin.logs import configure_logging
from anxin.registry import open_database
from anxin.services import build_gateway, http_server, stop_on_signals, until, wait_ready
from anxin.settings import Settings
from api.app import create_app
from api.health import Readiness
from broker.access import DEFAULT_SERVICE_USERNAME, ServiceAccount
from broker.embedded import EmbeddedBroker
from gateway.deadletter import DeadLetter, FileDeadLetters
from gateway.decode import Rejected
from gateway.handoff import InProcessHandoff
from gateway.metrics import GatewayMetrics
from processors.catalogue import all_detectors
from processors.engine import Engine
from processors.homes import HomeDirectory
from processors.local import LocalProcessor
from records.devices import DeviceRegistry

log = structlog.get_logger("anxin")


async def run_up(settings: Settings, *, mqtt_port: int | None, simulate: int, seed: int) -> None:
    configure_logging(settings.log_format)
    stop = stop_on_signals()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    console = Console()
    metrics = CollectorRegistry()
    readiness = Readiness()
    for service in ("broker", "gateway", "api", "processors"):
        readiness.expect(service)
    database = await asyncio.to_thread(open_database, settings)
    registry = DeviceRegistry(database)

    # The gateway's broker password lives only in this process: nothing else
    # needs it, and a fresh one each start leaves nothing on disk to steal.
    gateway_password = secrets.token_urlsafe(24)
    account = ServiceAccount.with_password(DEFAULT_SERVICE_USERNAME, gateway_password)
    offers_password = secrets.token_urlsafe(24)
    offers_account = ServiceAccount.with_password(settings.alerts.mqtt_username, offers_password)
    dead_letters = FileDeadLetters(settings.data_dir / "deadletter")
    gateway_metrics = GatewayMetrics(metrics)
    refused: set[asyncio.Task[None]] = set()

    def on_refused(username: str | None, topic: str, payload: bytes) -> None:
        """The broker dropped a publish outside the device's own topics: keep it as evidence."""
        rejected = Rejected(
            topic=topic,
            payload=payload,
            reason="topic_mismatch",
            detail=f"broker refused a publish by {username or 'anonymous'}",
        )
        gateway_metrics.rejected.labels(rejected.reason).inc()
        task = asyncio.create_task(
            dead_letters.put([DeadLetter.of(rejected, received_at=datetime.now(UTC))])
        )
        refused.add(task)
        task.add_done_callback(refused.discard)

    broker = EmbeddedBroker(
        host=settings.mqtt.host,
        port=settings.mqtt.port if mqtt_port is None else mqtt_port,
        directory=registry,
        accounts=[account, offers_account],
        on_refused=on_refused,
    )
    await broker.start()
    readiness.ready("broker")
    gateway_settings = settings.model_copy(
        update={
            "mqtt": settings.mqtt.model_copy(
                update={"username": DEFAULT_SERVICE_USERNAME, "url": broker.url}
            )
        }
    )
    alerting = build_alert_stack(
        settings,
        database,
        offers=offers_client(
            settings, host=settings.mqtt.host, port=broker.port, password=offers_password
        ),
    )
    await alerting.start(stop)
    admin_password = settings.admin_password
    generated = await bootstrap_admin(database, admin_password)
    handoff = InProcessHandoff()
    directory = HomeDirectory(registry)
    await asyncio.to_thread(directory.refresh)
    processor = LocalProcessor(
        Engine(all_detectors(), directory.context_for),
        handoff.subscribe(),
        alerting.service,
        directory=directory,
    )
    processor.start()
    readiness.ready("processors")
    stack = await build_gateway(
        gateway_settings,
        registry=registry,
        handoff=handoff,
        dead_letters=dead_letters,
        metrics=gateway_metrics,
        mqtt_password=gateway_password,
        shared_subscription=False,
    )
    stack.start()
    server = http_server(
        settings,
        create_app(
            readiness=readiness,
            metrics=metrics,
            context=api_context(settings, database, alerting, stack.time_series.reader),
            cors_origins=settings.http.cors_origins,
            max_body_bytes=settings.http.max_body_bytes,
        ),
    )
    tasks = [
        asyncio.create_task(server.serve(), name="http"),
        asyncio.create_task(wait_ready(stack.gateway.connected, readiness, "gateway")),
    ]
    await until(lambda: server.started)
    readiness.ready("api")
    # Read now: a stop requested while the simulation starts closes the sockets.
    http_port = (
        server.servers[0].sockets[0].getsockname()[1] if server.servers else settings.http.port
    )
    simulation = None
    demo: dict[str, str] = {}
    if simulate:
        from anxin.simulation import provision_people, start_simulation

        simulation = await start_simulation(
            settings,
            registry=registry,
            homes=simulate,
            seed=seed,
            broker_host=settings.mqtt.host,
            broker_port=broker.port,
            stop=stop,
        )
        await asyncio.to_thread(directory.refresh)  # the simulated homes just provisioned
        demo = await provision_people(
            settings, database, alerting.dispatching, homes=simulate, seed=seed
        )
    if generated is not None:
        login = f"user {ADMIN}, password {generated} (generated; shown once)"
    elif admin_password is not None:
        login = f"user {ADMIN}, password from ANXIN_ADMIN_PASSWORD"
    else:
        login = f"user {ADMIN}, password as generated at the first start"
    lines = [
        "[bold green]Anxin is up[/bold green]",
        f"  console  http://{settings.http.host}:{http_port}/",
        f"  login    {login}",
        f"  api      http://{settings.http.host}:{http_port}/openapi.json",
        f"  health   http://{settings.http.host}:{http_port}/healthz",
        f"  metrics  http://{settings.http.host}:{http_port}/metrics",
        f"  MQTT     {broker.url}",
        f"  data     {settings.data_dir.resolve()}",
    ]
    if simulate:
        lines.append(f"  homes    {simulate} simulated (seed {seed})")
        workers = sorted(
            (name for name in demo if name.startswith("worker-")),
            key=lambda name: int(name.removeprefix("worker-")),
        )
        lines.append(
            f"  demo     dispatcher, family, {workers[0]}..{workers[-1]}: password"
            f" {demo['dispatcher']} (in {settings.data_dir / 'demo-logins.json'})"
        )
    console.print("\n".join(lines), highlight=False)
    # Start-up objects (imports, registry, neighbourhood) out of every later collection,
    # then each connection's as it comes: a full collection over them stalled the event
    # loop for up to 0.9 s under a 5,000-home load (`anxin bench e2e`: p99 SOS-to-console
    # 0.78 s -> 0.12 s; see anxin/heap.py).
    settle_heap()
    tasks.append(asyncio.create_task(keep_heap_settled(), name="heap"))
    await stop.wait()
    log.info("anxin_stopping")
    if simulation is not None:
        simulation.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await simulation
    await stack.stop()
    await processor.stop()
    await alerting.aclose()
    server.should_exit = True
    for task in tasks[1:]:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await broker.stop()
