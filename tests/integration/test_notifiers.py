"""Notification channels against real servers: the webhook against a local HTTP server,
the worker-app channel against Mosquitto with a paho subscriber."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import queue
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alerts.notifiers.base import Notification, Recipient
from alerts.notifiers.fanout import Notifier
from alerts.notifiers.mqtt import MqttOfferChannel
from alerts.notifiers.stream import Broadcast, StreamChannel
from alerts.notifiers.webhook import WebhookChannel
from anxin.testbed.mosquitto import Mosquitto
from anxin.testbed.process import free_port
from gateway.mqtt import MqttClient

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def notification(
    recipient: Recipient | None = None, notification_id: str = "n1", **extra: Any
) -> Notification:
    fields: dict[str, Any] = {
        "notification_id": notification_id,
        "recipient": recipient or Recipient(kind="family", id="fam-1"),
        "reason": "opened",
        "message": "new alert",
        "at": T0,
        "home_id": "home-1",
        "severity": "critical",
        "service": "medical",
        "summary": "fall detected by radar-1",
        "alert_id": "a1",
        "kind": "fall",
        "status": "open",
    }
    return Notification.model_validate({**fields, **extra})


# --- a real HTTP server ------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpServer:
    """HTTP/1.1 on loopback answering with `statuses` in turn (the last one repeats)."""

    statuses: list[int]
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, value = header.decode().split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(method, path, headers, body))
                status = self.statuses[min(len(self.requests), len(self.statuses)) - 1]
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    server = HttpServer(statuses=[200])
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server
        listener.close()


class TestWebhook:
    async def test_posts_the_notification_as_json(self, http_server: HttpServer) -> None:
        channel = WebhookChannel(http_server.url, secret="s3cret")
        try:
            assert await channel.send(notification())
        finally:
            await channel.aclose()
        (request,) = http_server.requests
        assert (request.method, request.path) == ("POST", "/hook")
        assert request.headers["content-type"] == "application/json"
        assert request.headers["idempotency-key"] == "n1"
        sent = json.loads(request.body)
        assert sent["recipient"] == {"kind": "family", "id": "fam-1"}
        assert (sent["alert_id"], sent["severity"], sent["reason"]) == ("a1", "critical", "opened")
        assert sent["at"] == "2026-11-23T08:00:00Z"
        expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-anxin-signature"] == f"sha256={expected}"
        assert (channel.sent, channel.failed) == (1, 0)

    async def test_a_server_error_is_retried_until_it_succeeds(
        self, http_server: HttpServer
    ) -> None:
        http_server.statuses = [500, 503, 200]
        channel = WebhookChannel(http_server.url, backoff=0.01)
        try:
            assert await channel.send(notification())
        finally:
            await channel.aclose()
        assert len(http_server.requests) == 3
        assert {r.body for r in http_server.requests} == {http_server.requests[0].body}
        assert (channel.sent, channel.retries, channel.failed) == (1, 2, 0)

    async def test_a_client_error_is_not_retried(self, http_server: HttpServer) -> None:
        http_server.statuses = [400]
        channel = WebhookChannel(http_server.url, backoff=0.01)
        try:
            assert not await channel.send(notification())
        finally:
            await channel.aclose()
        assert len(http_server.requests) == 1
        assert channel.failed == 1

    async def test_gives_up_after_its_attempts_without_raising(
        self, http_server: HttpServer
    ) -> None:
        http_server.statuses = [502]
        channel = WebhookChannel(http_server.url, attempts=3, backoff=0.01)
        try:
            assert not await channel.send(notification())
        finally:
            await channel.aclose()
        assert len(http_server.requests) == 3
        assert (channel.failed, channel.retries) == (1, 2)

    async def test_a_dead_url_fails_quietly(self) -> None:
        channel = WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", attempts=2, backoff=0.01)
        try:
            assert not await channel.send(notification())
        finally:
            await channel.aclose()
        assert channel.failed == 1

    async def test_only_its_recipient_kinds(self, http_server: HttpServer) -> None:
        channel = WebhookChannel(http_server.url, recipients=frozenset({"family"}))
        try:
            assert channel.accepts(notification())
            assert not channel.accepts(notification(Recipient(kind="dispatcher", id="d1")))
        finally:
            await channel.aclose()


# --- real Mosquitto ----------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, "allow_anonymous true\n")
    server.start()
    yield server
    server.stop()


class Subscriber:
    """A paho client subscribed at QoS 1, collecting (topic, qos, JSON) in a queue."""

    def __init__(self, port: int, topic: str) -> None:
        self.messages: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        subscribed = queue.Queue[bool]()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-worker-app")
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, m.qos, json.loads(m.payload))
        )
        self.client.on_subscribe = lambda *_: subscribed.put(True)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        subscribed.get(timeout=10)

    def next(self, timeout: float = 10.0) -> tuple[str, int, Any]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def offer(worker_id: str = "w-1") -> Notification:
    return notification(
        Recipient(kind="worker", id=worker_id),
        notification_id="offer-1",
        reason="offer",
        message="new job offered",
        dispatch_id="disp-1",
        expires_at="2026-11-23T08:02:00Z",
    )


def offer_channel(port: int, timeout: float = 5.0) -> MqttOfferChannel:
    client = MqttClient(host="127.0.0.1", port=port, client_id="anxin-offers", clean_session=True)
    return MqttOfferChannel(client, timeout=timeout)


class TestMqttOffers:
    async def test_an_offer_arrives_on_the_workers_topic_at_qos_1(self, broker: Mosquitto) -> None:
        subscriber = Subscriber(broker.port, "anxin/v1/workers/+/offers")
        channel = offer_channel(broker.port)
        try:
            assert await channel.send(offer())
            topic, qos, payload = await asyncio.to_thread(subscriber.next)
        finally:
            await channel.aclose()
            subscriber.close()
        assert (topic, qos) == ("anxin/v1/workers/w-1/offers", 1)
        assert (payload["dispatch_id"], payload["reason"], payload["notification_id"]) == (
            "disp-1",
            "offer",
            "offer-1",
        )
        assert payload["recipient"] == {"kind": "worker", "id": "w-1"}
        assert channel.sent == 1

    async def test_it_reconnects_after_the_broker_restarts(self, broker: Mosquitto) -> None:
        channel = offer_channel(broker.port)
        try:
            assert await channel.send(offer())
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)
            subscriber = await asyncio.to_thread(
                Subscriber, broker.port, "anxin/v1/workers/w-2/offers"
            )
            try:
                assert await channel.send(offer("w-2"))
                topic, _, _ = await asyncio.to_thread(subscriber.next)
            finally:
                subscriber.close()
        finally:
            await channel.aclose()
        assert topic == "anxin/v1/workers/w-2/offers"

    async def test_no_broker_fails_quietly(self) -> None:
        channel = offer_channel(free_port(), timeout=2.0)
        assert not await channel.send(offer())
        assert channel.failed == 1
        await channel.aclose()

    async def test_only_workers(self, broker: Mosquitto) -> None:
        channel = offer_channel(broker.port)
        assert channel.accepts(offer())
        assert not channel.accepts(notification())


class TestNotifierOverRealChannels:
    async def test_a_dead_webhook_does_not_stop_the_stream_or_the_worker_app(
        self, broker: Mosquitto
    ) -> None:
        broadcast: Broadcast[Notification] = Broadcast()
        subscription = broadcast.subscribe()
        subscriber = Subscriber(broker.port, "anxin/v1/workers/+/offers")
        webhook = WebhookChannel(f"http://127.0.0.1:{free_port()}/", attempts=2, backoff=0.01)
        mqtt = offer_channel(broker.port)
        notifier = Notifier([webhook, StreamChannel(broadcast), mqtt], clock=lambda: T0)
        try:
            report = await notifier.notify([notification(), offer()])
            _, _, payload = await asyncio.to_thread(subscriber.next)
        finally:
            await webhook.aclose()
            await mqtt.aclose()
            subscriber.close()
        assert (report.delivered, report.failed) == (2, 1)
        assert subscription.get_nowait() == notification()
        assert payload["dispatch_id"] == "disp-1"
