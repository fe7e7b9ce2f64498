"""The worker app's channel: JSON on `anxin/v1/workers/{worker_id}/offers` at QoS 1.

It uses the project's own MQTT client (`gateway.mqtt.MqttClient`), whose `publish(...,
qos=1)` returns only once the broker's PUBACK arrived, so "sent" means the broker has
it. The client does not reconnect by itself and does not resend a publish cut off by a
lost connection; this channel does both, once per message: connect when needed, and on
a lost connection reconnect and publish again. That makes delivery at-least-once, which
the worker app absorbs by `notification_id` (and an offer by its `dispatch_id`).

Give the client its own id (not the gateway's) and `clean_session=True`: the platform
only publishes here, so there is no session worth keeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson
import structlog

from alerts.notifiers.base import Notification
from devices.topics import offers_topic
from gateway.mqtt import MqttClient, MqttError

log = structlog.get_logger(__name__)


class MqttOfferChannel:
    """Publishes notifications for workers (offers, and their withdrawal) to the worker app."""

    name = "mqtt"

    def __init__(self, client: MqttClient, *, timeout: float = 10.0) -> None:
        self.client = client
        self.timeout = timeout
        self._connecting = asyncio.Lock()
        self.sent = 0
        self.failed = 0

    def accepts(self, notification: Notification) -> bool:
        return notification.recipient.kind == "worker"

    async def send(self, notification: Notification) -> bool:
        """Publish the notification as JSON to its worker's offers topic."""
        return await self.publish(
            notification.recipient.id,
            notification.model_dump(mode="json"),
            notification_id=notification.notification_id,
        )

    async def publish(
        self, worker_id: str, message: Mapping[str, Any], *, notification_id: str | None = None
    ) -> bool:
        """Publish `message` as JSON to the worker's topic at QoS 1; True once acknowledged.

        Never raises (an invalid worker id is a failure like any other).
        """
        bound = log.bind(worker_id=worker_id, notification_id=notification_id)
        try:
            topic = offers_topic(worker_id)
            payload = orjson.dumps(message)
        except (ValueError, TypeError) as exc:
            self.failed += 1
            bound.warning("offer_publish_failed", problem=str(exc))
            return False
        problem = ""
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self.timeout):
                    await self._connected()
                    await self.client.publish(topic, payload, qos=1)
            except (MqttError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if attempt == 1:
                    bound.info("offer_publish_retry", problem=problem)
                    self.client.abort()  # whatever state it is in, the next try starts afresh
            else:
                self.sent += 1
                return True
        self.failed += 1
        bound.warning("offer_publish_failed", problem=problem)
        return False

    async def _connected(self) -> None:
        async with self._connecting:  # one reconnect for every publish waiting on it
            if not self.client.connected:
                await self.client.connect(timeout=self.timeout)

    async def aclose(self) -> None:
        await self.client.disconnect()
