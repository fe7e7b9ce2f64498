"""`anxin api`: the HTTP API with the alert service behind it, in a production deployment.

Detections arrive from `anxin.detections` (written by `anxin worker`), are
applied by the alert service in a consumer group, and escalate on this
process's timer. Run one instance per deployment while the escalation timer
and offer rounds are single-writer; the database's locks keep concurrent HTTP
actions and detections consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import structlog
from prometheus_client import CollectorRegistry

from alerts.intake import KafkaDetections
from alerts.service import AlertService
from anxin.admin import ADMIN, bootstrap_admin
from anxin.alerting import api_context, build_alert_stack, offers_client
from anxin.logs import configure_logging
from anxin.registry import open_database
from anxin.services import http_server, open_time_series, stop_on_signals, until
from anxin.settings import PLACEHOLDER, Settings, SettingsError
from api.app import create_app
from api.health import Readiness

log = structlog.get_logger("anxin.api")


async def consume_detections(
    bootstrap: str, topic: str, service: AlertService, stop: asyncio.Event
) -> None:
    """Apply detections from Kafka until `stop`, reconnecting while Kafka is away."""
    delay = 0.5
    while not stop.is_set():
        try:
            await KafkaDetections(bootstrap, topic).run(service, stop)
            delay = 0.5
        except Exception as error:  # aiokafka raises several unrelated types
            log.warning("detections_unavailable", error=str(error), retry_in_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 15)


def check_alert_secrets(settings: Settings) -> None:
    """In production the offers account needs a real password, as the gateway's does."""
    if (
        settings.environment == "production"
        and settings.alerts.mqtt_password.get_secret_value() == PLACEHOLDER
    ):
        raise SettingsError("ANXIN_ALERTS__MQTT_PASSWORD is still the placeholder")


async def run_api_service(settings: Settings) -> None:
    configure_logging(settings.log_format)
    stop = stop_on_signals()
    metrics = CollectorRegistry()
    readiness = Readiness()
    for service in ("api", "alerts"):
        readiness.expect(service)
    database = await asyncio.to_thread(open_database, settings)
    time_series = await open_time_series(settings)
    alerting = build_alert_stack(
        settings,
        database,
        offers=offers_client(
            settings,
            host=settings.mqtt.host,
            port=settings.mqtt.port,
            password=settings.alerts.mqtt_password.get_secret_value(),
        ),
    )
    await alerting.start(stop)
    generated = await bootstrap_admin(database, settings.admin_password)
    if generated is not None:
        log.warning("admin_created", username=ADMIN, hint="password printed on stderr once")
        print(f"anxin: admin password (shown once): {generated}", file=sys.stderr)
    tasks: list[asyncio.Task[None]] = []
    if settings.kafka.bootstrap:
        tasks.append(
            asyncio.create_task(
                consume_detections(
                    settings.kafka.bootstrap,
                    settings.kafka.detections_topic,
                    alerting.service,
                    stop,
                ),
                name="detections",
            )
        )
    else:
        log.warning("no_detections_source", hint="set ANXIN_KAFKA__BOOTSTRAP")
    readiness.ready("alerts")
    server = http_server(
        settings,
        create_app(
            readiness=readiness,
            metrics=metrics,
            context=api_context(settings, database, alerting, time_series.reader),
            cors_origins=settings.http.cors_origins,
            max_body_bytes=settings.http.max_body_bytes,
        ),
    )
    serving = asyncio.create_task(server.serve(), name="http")
    await until(lambda: server.started or serving.done())
    readiness.ready("api")
    log.info("api_started", http_port=settings.http.port, database=database.url.drivername)
    await stop.wait()
    alerting.changes.close()  # ends open alert streams, or uvicorn would wait for them
    server.should_exit = True
    for task in (*tasks, serving):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await alerting.aclose()
    for close in time_series.closers:
        await close()
    database.dispose()
