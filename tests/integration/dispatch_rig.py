"""A dispatch centre in miniature for tests: the records, the alert service, the dispatch
service listening to it, dispatchers and a family, all on an injected clock.

Notifications go through real channels: the console's `StreamChannel` (dispatchers,
families) and, when a Mosquitto port is given, the worker app's `MqttOfferChannel`,
read back by a paho subscriber on `anxin/v1/workers/+/offers`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import queue
from datetime import UTC, date, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import Engine

from alerts.dispatching import DispatchService
from alerts.matching import MatchRules
from alerts.notifiers.base import Channel, Notification
from alerts.notifiers.fanout import Notifier
from alerts.notifiers.mqtt import MqttOfferChannel
from alerts.notifiers.stream import AlertChange, Broadcast, StreamChannel
from alerts.recipients import RecordRecipients
from alerts.service import AlertService
from alerts.workers import EARTH_RADIUS_M, Worker
from devices.registry import Home
from gateway.mqtt import MqttClient
from processors.detection import Detection, Evidence, Service
from records.accounts import AccountStore, NewAccount
from records.alerts import AlertStore
from records.bookings import BookingStore
from records.devices import DeviceRegistry
from records.dispatches import DispatchStore
from records.homes import HomeStore
from records.workers import NewWorker, WorkerStore

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
"""A Tuesday, 09:00 in Shanghai."""
HOME = (22.52, 113.39)
VALID = date(2027, 6, 30)

_ids = itertools.count(1)


def offset(
    north_m: float, east_m: float, origin: tuple[float, float] = HOME
) -> tuple[float, float]:
    """The point `north_m` north and `east_m` east of `origin` (degrees)."""
    lat = origin[0] + math.degrees(north_m / EARTH_RADIUS_M)
    lon = origin[1] + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat, lon


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def detection(
    n: int,
    *,
    kind: str = "sos",
    action: str = "open",
    severity: str = "critical",
    service: str = "medical",
    home: str = "h1",
) -> Detection:
    return Detection.model_validate(
        {
            "detection_id": f"det-{home}-{kind}-{action}-{n}",
            "home_id": home,
            "kind": kind,
            "action": action,
            "severity": severity,
            "service": service,
            "at": T0 + timedelta(seconds=n),
            "summary": f"{kind} {action} {n}",
            "evidence": [Evidence(device_id="btn", type="sos", ts=T0, seq=n)],
        }
    )


class Subscriber:
    """The worker app: a paho client on every worker's offers topic at QoS 1."""

    def __init__(self, port: int) -> None:
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"app-{next(_ids)}")
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, json.loads(m.payload))
        )
        self.client.on_subscribe = lambda *_: subscribed.put(True)
        self.client.on_connect = lambda c, *_: c.subscribe("anxin/v1/workers/+/offers", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        subscribed.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Rig:
    def __init__(
        self,
        engine: Engine,
        *,
        mqtt_port: int | None = None,
        rules: MatchRules | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        DeviceRegistry(engine).add_home(
            Home(home_id="h1", lat=HOME[0], lon=HOME[1], timezone="Asia/Shanghai")
        )
        self.accounts = AccountStore(engine)
        for name, role, tier, linked in (
            ("ann", "dispatcher", 1, ()),
            ("bo", "dispatcher", 2, ()),
            ("mei", "family", None, ("h1",)),
        ):
            self.accounts.create(
                NewAccount.model_validate(
                    {
                        "username": name,
                        "password": "password1",
                        "role": role,
                        "tier": tier,
                        "home_ids": linked,
                    }
                ),
                now=T0,
            )
        self.clock = clock or Clock()
        self.told: Broadcast[Notification] = Broadcast(maxsize=10_000)
        self.inbox = self.told.subscribe()
        channels: list[Channel] = [StreamChannel(self.told)]
        self.app: Subscriber | None = None
        self.channel: MqttOfferChannel | None = None
        if mqtt_port is not None:
            client = MqttClient(
                host="127.0.0.1",
                port=mqtt_port,
                client_id=f"anxin-offers-{next(_ids)}",
                clean_session=True,
            )
            self.channel = MqttOfferChannel(client, timeout=5.0)
            channels.append(self.channel)
            self.app = Subscriber(mqtt_port)
        self._seen = 0
        self.notifier = Notifier(channels, clock=self.clock)
        homes = HomeStore(engine)
        self.alert_store = AlertStore(engine)
        self.alerts = AlertService(
            self.alert_store,
            notifier=self.notifier,
            recipients=RecordRecipients(self.accounts, homes),
            changes=Broadcast[tuple[int, AlertChange]](),
            clock=self.clock,
        )
        self.workers = WorkerStore(engine)
        self.dispatches = DispatchStore(engine)
        self.service = self.dispatch_service(rules)

    def dispatch_service(self, rules: MatchRules | None = None) -> DispatchService:
        """A dispatch service on this rig's records and clock (tests may start a second)."""
        return DispatchService(
            self.dispatches,
            BookingStore(self.engine),
            self.workers,
            HomeStore(self.engine),
            self.accounts,
            notifier=self.notifier,
            alerts=self.alerts,
            rules=rules or MatchRules(),
            clock=self.clock,
            new_id=lambda: f"d{next(_ids)}",
        )

    async def add_worker(
        self,
        worker_id: str,
        north_m: float = 0.0,
        east_m: float = 0.0,
        *,
        skills: tuple[Service, ...] = ("medical",),
        on_shift: bool = True,
        expires: date = VALID,
        username: str | None = None,
    ) -> Worker:
        lat, lon = offset(north_m, east_m)
        return await self.service.add_worker(
            NewWorker.model_validate(
                {
                    "worker_id": worker_id,
                    "name": f"Worker {worker_id}",
                    "skills": skills,
                    "credential_code": f"AX-{worker_id}",
                    "credential_expires": expires,
                    "lat": lat,
                    "lon": lon,
                    "on_shift": on_shift,
                    "username": username,
                    "password": None if username is None else "password1",
                }
            )
        )

    async def worker_app(self) -> list[tuple[str, str, str]]:
        """(worker, reason, dispatch) of every message the worker app got since last asked."""
        await self.notifier.aclose()
        assert self.channel is not None
        assert self.app is not None
        got: list[tuple[str, str, str]] = []
        for _ in range(self.channel.sent - self._seen):
            topic, payload = await asyncio.to_thread(self.app.messages.get, True, 10.0)
            assert topic == f"anxin/v1/workers/{payload['recipient']['id']}/offers"
            got.append((payload["recipient"]["id"], payload["reason"], payload["dispatch_id"]))
        self._seen = self.channel.sent
        return got

    async def console(self) -> list[tuple[str, str]]:
        """(recipient, reason) of every console notification since last asked."""
        await self.notifier.aclose()
        out: list[tuple[str, str]] = []
        while (item := self.inbox.get_nowait()) is not None:
            assert isinstance(item, Notification)
            out.append((item.recipient.key, item.reason))
        return out

    async def close(self) -> None:
        await self.notifier.aclose()
        if self.channel is not None:
            await self.channel.aclose()
        if self.app is not None:
            self.app.close()
