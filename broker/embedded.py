"""The zero-setup MQTT broker of `anxin up`: amqtt 0.12.1 in-process, logins from the registry.

It enforces the rules of `broker.access`, the same ones the Mosquitto ACL file
carries, with two amqtt plugins:

- `RegistryAuthPlugin` lets in a service account, or a device whose client id
  is its username and whose password matches its registry hash; a device's
  last will must name one of its own topics (amqtt sends a will without any
  topic check, so a foreign one is refused at CONNECT; Mosquitto instead
  accepts the CONNECT and drops such a will when it fires).
- `TopicAccessPlugin` decides every publish, subscribe and delivery; the broker
  reports each refused publish, with its payload, to `on_refused`, so the
  gateway can dead-letter it as `topic_mismatch`. The device itself sees
  success: amqtt PUBACKs a refused QoS 1 message and drops it.

amqtt quirks handled here: a plugin that raises leaves the client without a
CONNACK (every plugin method catches everything); `plugins` replaces the
default set, so there is no anonymous login, `$SYS` tree or websocket
listener; amqtt deletes (clean session) or adopts and takes over (persistent
session) the session of a CONNECT's client id *before* authenticating it, so
`_GuardedBroker` authenticates first: an unauthenticated client can no longer
drop the gateway's subscriptions, and a device may only use its own id. amqtt
also ended a client's loop on its DISCONNECT before delivering the QoS 1 messages it
had already acknowledged; `_GuardedBroker` delivers them first.
amqtt has no shared subscriptions: a `$share/...` SUBSCRIBE is refused
(SUBACK 0x80) instead of granted and silently never delivered; the gateway
uses the plain filter here. Only MQTT 3.1.1 is spoken.

Sessions, queued messages and retained messages live in memory only: a
broker restart forgets them (amqtt's `SessionDBPlugin` would need aiosqlite,
which Anxin does not depend on). In `anxin up` the gateway restarts with the
broker, and devices re-send their unacknowledged QoS 1 messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.utils import gen_client_id

from broker.access import (
    DevicePrincipal,
    Principal,
    ServiceAccount,
    ServicePrincipal,
    may_publish,
    may_receive,
    may_subscribe,
)
from devices.credentials import verify_password
from devices.registry import DeviceDirectory

log = structlog.get_logger("anxin.broker")

RefusedPublish = Callable[[str | None, str, bytes], None]
"""`on_refused(username, topic, payload)`: a publish the broker dropped."""

_PRINCIPAL: Final = "anxin.principal"
_CACHE_TTL_S: Final = 30.0
_CACHE_MAX: Final = 50_000
_RENEWED_ON_RECONNECT: Final = (
    "will_flag",
    "will_message",
    "will_topic",
    "will_qos",
    "keep_alive",
    "username",
    "password",
)
"""What a CONNECT resuming a persistent session brings along (as amqtt 0.12.1 does)."""


class Gatekeeper:
    """Checks logins against the registry and service accounts; shared by both plugins.

    The registry lookup is synchronous SQL on the event loop, so a verified
    (username, password) pair is remembered for `cache_ttl_s`: a reconnect
    storm costs one query and one hash per device, and a removed device or
    changed password keeps working that long at most. Failures are not
    cached, so a device provisioned a moment ago gets in on its next try.
    """

    def __init__(
        self,
        directory: DeviceDirectory,
        accounts: Iterable[ServiceAccount],
        on_refused: RefusedPublish | None = None,
        *,
        cache_ttl_s: float = _CACHE_TTL_S,
    ) -> None:
        self._directory = directory
        self._accounts = {account.username: account for account in accounts}
        self._on_refused = on_refused
        self._ttl = cache_ttl_s
        self._verified: dict[tuple[str, bytes], tuple[Principal, float]] = {}

    def authenticate(self, session: Any) -> Principal | None:
        """The principal a CONNECT speaks for, or None to refuse it."""
        username: str | None = session.username
        password: str | None = session.password
        if not username or password is None:
            log.info("broker_login_refused", reason="anonymous")
            return None
        principal = self._verify(username, password)
        if principal is None:
            log.info("broker_login_refused", username=username, reason="bad_credentials")
            return None
        if isinstance(principal, DevicePrincipal) and session.client_id != username:
            log.info("broker_login_refused", username=username, reason="client_id_mismatch")
            return None
        if session.will_flag and not may_publish(principal, session.will_topic or ""):
            log.info("broker_login_refused", username=username, reason="will_topic")
            return None
        return principal

    def _verify(self, username: str, password: str) -> Principal | None:
        key = (username, hashlib.sha256(password.encode()).digest())
        now = time.monotonic()
        cached = self._verified.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        principal = self._check(username, password)
        if principal is not None:
            if len(self._verified) >= _CACHE_MAX:
                self._verified.clear()
            self._verified[key] = (principal, now + self._ttl)
        return principal

    def _check(self, username: str, password: str) -> Principal | None:
        # A service account's name shadows a device of the same id, as in the
        # Mosquitto files (`broker.access.broker_devices`).
        account = self._accounts.get(username)
        if account is not None:
            if verify_password(password, account.password_hash):
                return ServicePrincipal(username=username)
            return None
        device = self._directory.lookup(username)
        if device is None or not verify_password(password, device.password_hash):
            return None
        return DevicePrincipal(device_id=device.device_id, home_id=device.home_id)

    def refused(self, username: str | None, topic: str, payload: bytes) -> None:
        log.info("broker_publish_refused", username=username, topic=topic[:200], size=len(payload))
        if self._on_refused is None:
            return
        try:
            self._on_refused(username, topic, payload)
        except Exception:
            log.exception("broker_on_refused_failed", username=username)


def _principal_of(session: Any) -> Principal | None:
    if session is None:
        return None
    principal = session.attributes.get(_PRINCIPAL)
    return principal if isinstance(principal, DevicePrincipal | ServicePrincipal) else None


class RegistryAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """amqtt authentication through a `Gatekeeper` (config: `{"gate": Gatekeeper}`)."""

    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Any) -> bool:
        try:
            session.attributes.pop(_PRINCIPAL, None)
            principal = self.config.gate.authenticate(session)
            if principal is None:
                return False
            session.attributes[_PRINCIPAL] = principal
            return True
        except Exception:
            log.exception("broker_login_failed")
            return False


class TopicAccessPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """amqtt topic checks by `broker.access` (refused publishes are reported by the broker)."""

    @dataclass
    class Config:
        gate: Any = None

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Action | None = None
    ) -> bool:
        try:
            principal = _principal_of(session)
            if principal is None or not topic:
                return False
            if action == Action.PUBLISH:
                return may_publish(principal, topic)
            if action == Action.RECEIVE:
                return may_receive(principal, topic)
            if action == Action.SUBSCRIBE:
                allowed = not topic.startswith("$share/") and may_subscribe(principal, topic)
                if not allowed:
                    log.info(
                        "broker_subscribe_refused",
                        username=session.username,
                        topic_filter=topic[:200],
                    )
                return allowed
            return False
        except Exception:
            log.exception("broker_topic_check_failed")
            return False


class _GuardedBroker(Broker):  # type: ignore[misc]
    """amqtt's broker, authenticating a CONNECT before it touches any existing session,
    reporting refused publishes, and delivering what a client sent before it left."""

    def __init__(self, config: dict[str, Any], gate: Gatekeeper) -> None:
        super().__init__(config)
        self._gate = gate

    async def _handle_message_delivery(
        self, client_session: Any, handler: Any, wait_deliver: Any
    ) -> bool:
        # Judged here, with the sender's session at hand: amqtt's message-received plugin
        # event runs later, when a device that disconnected at once may be gone, and its
        # refused publish went unreported.
        message = wait_deliver.result()
        principal = _principal_of(client_session)
        if message is not None and principal is not None:
            topic: str = message.topic or ""
            if topic and not may_publish(principal, topic):
                self._gate.refused(client_session.username, topic, bytes(message.data or b""))
        return bool(await super()._handle_message_delivery(client_session, handler, wait_deliver))

    async def _handle_disconnect(
        self, client_session: Any, handler: Any, disconnect_waiter: Any
    ) -> None:
        # amqtt 0.12.1 acknowledges a QoS 1 PUBLISH when it queues it for delivery, and
        # ends the client's loop on its DISCONNECT without emptying that queue: a device
        # that publishes and leaves at once (a battery device's SOS) lost messages it had
        # been told were received. Deliver them first.
        pending = client_session.delivered_message_queue
        while not pending.empty():
            queued = asyncio.get_running_loop().create_future()
            queued.set_result(pending.get_nowait())
            await self._handle_message_delivery(client_session, handler, queued)
        await super()._handle_disconnect(client_session, handler, disconnect_waiter)

    async def _initialize_client_session(
        self, reader: Any, writer: Any, remote_address: str, remote_port: int
    ) -> tuple[Any, Any]:
        # amqtt 0.12.1's own version, with the authentication moved up: it deleted
        # (clean session) or adopted and took over (persistent session) the
        # existing session of the CONNECT's client id before authenticating,
        # so anyone could drop the gateway's subscriptions by reusing its id.
        try:
            handler, session = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager
            )
        except (AMQTTError, NoDataError) as exc:
            raise AMQTTError(exc) from exc
        except MQTTError as exc:
            await writer.close()
            raise MQTTError(exc) from exc

        if not await self._authenticate(session, None):
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
            await writer.close()
            raise MQTTError(f"CONNECT refused from {remote_address}:{remote_port}")

        if session.clean_session:
            if session.client_id:
                await self._delete_session(session.client_id)
            else:
                session.client_id = gen_client_id()
            session.parent = 0
        elif session.client_id in self._sessions:
            existing, _ = self._sessions[session.client_id]
            for name in _RENEWED_ON_RECONNECT:
                setattr(existing, name, getattr(session, name))
            session = existing
            session.parent = 1
        else:
            session.parent = 0

        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        return handler, session

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        # amqtt 0.12.1 calls this on every CONNECT for each topic filter anyone on the
        # broker subscribed to, so a connecting device received other devices' retained
        # statuses (and 5,000 connecting clients cost millions of deliveries). Only the
        # session's own subscriptions may send it retained messages.
        subscribers = self._subscriptions.get(subscription[0], ())
        if any(subscriber.client_id == session.client_id for subscriber, _ in subscribers):
            await super()._publish_retained_messages_for_subscription(subscription, session)


class EmbeddedBroker:
    """An MQTT 3.1.1 broker in this process, for `anxin up` and tests."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        directory: DeviceDirectory,
        accounts: Iterable[ServiceAccount],
        on_refused: RefusedPublish | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._gate = Gatekeeper(directory, accounts, on_refused)
        # Kept for the API: amqtt persists nothing without aiosqlite (see module doc).
        self.data_dir = data_dir
        self._broker: Broker | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one chosen by the OS once started, if given 0)."""
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{_bind_address(self._host, self._port)}"

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("embedded broker already started")
        gate = {"gate": self._gate}
        bind = _bind_address(self._host, self._port)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": bind}},
            "plugins": {
                f"{__name__}.{RegistryAuthPlugin.__name__}": gate,
                f"{__name__}.{TopicAccessPlugin.__name__}": gate,
            },
        }
        broker = _GuardedBroker(config, self._gate)
        await broker.start()
        self._broker = broker
        if self._port == 0:
            # amqtt keeps its listening servers only in a private attribute.
            server = broker._servers["default"].instance
            self._port = int(server.sockets[0].getsockname()[1])
        log.info("broker_started", host=self._host, port=self._port)

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
            log.info("broker_stopped", port=self._port)


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
