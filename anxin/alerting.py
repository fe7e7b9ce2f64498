"""Wiring of the alert service: its store, channels, live streams and timer, from the settings.

`anxin up` and `anxin api` both build an `AlertStack`; only where detections
come from differs (the in-process runner, or `anxin.detections` on Kafka).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

from alerts.dispatching import DispatchService
from alerts.escalation import EscalationPolicy
from alerts.matching import MatchRules
from alerts.notifiers.base import Channel, Notification
from alerts.notifiers.fanout import Notifier
from alerts.notifiers.mqtt import MqttOfferChannel
from alerts.notifiers.stream import AlertChange, Broadcast, StreamChannel
from alerts.notifiers.webhook import WebhookChannel
from alerts.offers import OfferTimeouts
from alerts.recipients import RecordRecipients
from alerts.service import AlertService
from anxin.settings import Settings
from api.context import ApiContext
from api.tokens import TokenIssuer, load_secret
from gateway.mqtt import MqttClient
from gateway.timeseries import TimeSeriesReader
from records.accounts import AccountStore
from records.alerts import AlertStore
from records.audit import AuditLog
from records.bookings import BookingStore
from records.devices import DeviceRegistry
from records.dispatches import DispatchStore
from records.homes import HomeStore
from records.workers import WorkerStore


@dataclass
class AlertStack:
    service: AlertService
    dispatching: DispatchService
    changes: Broadcast[tuple[int, AlertChange]]
    """Alert changes with their event ids: the console's live stream."""
    notifications: Broadcast[Notification]
    """Notifications for people with a console (dispatchers, families)."""
    notifier: Notifier
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self, stop: asyncio.Event) -> None:
        await self.dispatching.start()
        self.tasks += [
            asyncio.create_task(self.service.run_timer(stop), name="alert-escalation"),
            asyncio.create_task(self.dispatching.run_timer(stop), name="dispatch-offers"),
        ]

    async def aclose(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.notifier.aclose()
        self.changes.close()
        self.notifications.close()


def offers_client(settings: Settings, *, host: str, port: int, password: str) -> MqttClient:
    """The platform's publishing client for worker offers (its own account and id)."""
    return MqttClient(
        host=host,
        port=port,
        client_id=settings.alerts.mqtt_username,
        username=settings.alerts.mqtt_username,
        password=password,
        clean_session=True,
    )


def build_alert_stack(
    settings: Settings, engine: Engine, *, offers: MqttClient | None
) -> AlertStack:
    changes: Broadcast[tuple[int, AlertChange]] = Broadcast(maxsize=1024)
    notifications: Broadcast[Notification] = Broadcast(maxsize=1024)
    channels: list[Channel] = [StreamChannel(notifications)]
    alerts = settings.alerts
    if alerts.webhook_url is not None:
        secret = None if alerts.webhook_secret is None else alerts.webhook_secret
        channels.append(
            WebhookChannel(
                alerts.webhook_url,
                secret=None if secret is None else secret.get_secret_value(),
            )
        )
    if offers is not None:
        channels.append(MqttOfferChannel(offers))
    notifier = Notifier(channels)
    accounts, homes = AccountStore(engine), HomeStore(engine)
    service = AlertService(
        AlertStore(engine),
        notifier=notifier,
        recipients=RecordRecipients(accounts, homes),
        changes=changes,
        policy=EscalationPolicy(dispatcher_tiers=alerts.dispatcher_tiers),
    )
    dispatching = DispatchService(
        DispatchStore(engine),
        BookingStore(engine),
        WorkerStore(engine),
        homes,
        accounts,
        notifier=notifier,
        alerts=service,
        rules=MatchRules(radius_m=alerts.radius_m, max_active_jobs=alerts.max_active_jobs),
        timeouts=OfferTimeouts(
            critical_s=alerts.offer_timeout_critical_s, other_s=alerts.offer_timeout_s
        ),
        booking_lead=timedelta(hours=alerts.booking_lead_h),
    )
    return AlertStack(service, dispatching, changes, notifications, notifier)


def api_context(
    settings: Settings, engine: Engine, alerting: AlertStack, timeseries: TimeSeriesReader
) -> ApiContext:
    """What the API's routes work with, over the same database and alert service."""
    http = settings.http
    secret = (
        http.token_secret.get_secret_value().encode()
        if http.token_secret is not None
        else load_secret(settings.data_dir / "token.key")
    )
    return ApiContext(
        tokens=TokenIssuer(
            secret,
            access_ttl=timedelta(minutes=http.access_token_minutes),
            refresh_ttl=timedelta(days=http.refresh_token_days),
        ),
        accounts=AccountStore(engine),
        homes=HomeStore(engine),
        registry=DeviceRegistry(engine),
        alerts=alerting.service.store,
        alert_service=alerting.service,
        dispatching=alerting.dispatching,
        changes=alerting.changes,
        notifications=alerting.notifications,
        audit=AuditLog(engine),
        timeseries=timeseries,
    )
