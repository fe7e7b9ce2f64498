"""Device logins and topic rights on real brokers, with paho clients.

Both brokers get the same registry: Mosquitto through the files
`broker.mosquitto` generates, the embedded amqtt broker through its plugins.
A message that must not arrive is checked with a marker: the same device then
publishes on its own topic, and once the gateway has the marker, the refused
message would have come first.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from anxin.testbed.mosquitto import Mosquitto
from broker.access import ServiceAccount
from broker.embedded import EmbeddedBroker
from broker.mosquitto import write_mosquitto_files
from devices.registry import Home
from devices.topics import (
    SHARED_TELEMETRY_FILTER,
    STATUS_FILTER,
    TELEMETRY_FILTER,
    status_topic,
    telemetry_topic,
)
from records.devices import DeviceRegistry, open_registry

pytestmark = pytest.mark.integration

GATEWAY_USER: Final = "anxin-gateway"
GATEWAY_PASSWORD: Final = "gateway-secret"
GATEWAY_CLIENT_ID: Final = "anxin-gateway-1"
ACCOUNTS: Final = (ServiceAccount.with_password(GATEWAY_USER, GATEWAY_PASSWORD),)
WAIT_S: Final = 5.0


@dataclass
class Fleet:
    """A registry with dev-a and dev-b in home-1, dev-c in home-2."""

    registry: DeviceRegistry
    passwords: dict[str, str] = field(default_factory=dict)
    homes: dict[str, str] = field(default_factory=dict)

    def add(self, device_id: str, home_id: str) -> None:
        _, password = self.registry.add_device(device_id=device_id, home_id=home_id, type="vitals")
        self.passwords[device_id] = password
        self.homes[device_id] = home_id

    def telemetry(self, device_id: str) -> str:
        return telemetry_topic(self.homes[device_id], device_id)


class BrokerUnderTest(Protocol):
    kind: str
    port: int
    telemetry_filter: str
    """What the gateway subscribes to: shared on Mosquitto, plain on amqtt (CONTRACT §1)."""

    def sync_registry(self) -> None:
        """Make devices added to the registry since start known to the broker."""
        ...

    def stop(self) -> None: ...


class MosquittoUnderTest:
    kind = "mosquitto"
    telemetry_filter = SHARED_TELEMETRY_FILTER

    def __init__(self, tmp_path: Path, fleet: Fleet) -> None:
        self._fleet = fleet
        self._files_dir = tmp_path / "mosquitto-files"
        files = write_mosquitto_files(self._files_dir, fleet.registry.devices(), ACCOUNTS)
        config = files.conf_file.read_text()
        if os.geteuid() == 0:
            # Started as root, Mosquitto drops to its own user, which cannot enter
            # pytest's private temp dirs; production passes `owner=` instead.
            config = f"user root\n{config}"
        workdir = tmp_path / "mosquitto"
        workdir.mkdir()
        self._server = Mosquitto(workdir, config)
        self.port = self._server.port
        self._server.start()

    def sync_registry(self) -> None:
        write_mosquitto_files(self._files_dir, self._fleet.registry.devices(), ACCOUNTS)
        self._server.reload()

    def stop(self) -> None:
        self._server.stop()


class EmbeddedUnderTest:
    """The embedded broker on its own event loop thread, so blocking paho calls cannot stall it."""

    kind = "embedded"
    telemetry_filter = TELEMETRY_FILTER

    def __init__(self, fleet: Fleet) -> None:
        self.refused: queue.Queue[tuple[str | None, str, bytes]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.broker = EmbeddedBroker(
            host="127.0.0.1",
            port=0,
            directory=fleet.registry,
            accounts=ACCOUNTS,
            on_refused=lambda user, topic, payload: self.refused.put((user, topic, payload)),
        )
        self._run(self.broker.start())
        self.port = self.broker.port

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def sync_registry(self) -> None:
        """Nothing to do: the embedded broker reads the registry at each login."""

    def stop(self) -> None:
        try:
            self._run(self.broker.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()


class Peer:
    """A paho MQTT 3.1.1 client on its own network thread, queueing what it sees."""

    def __init__(
        self,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        *,
        clean_session: bool = True,
        will_topic: str | None = None,
    ) -> None:
        self.port = port
        self.connacks: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.disconnects = 0
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean_session,
        )
        if username is not None:
            client.username_pw_set(username, password)
        if will_topic is not None:
            client.will_set(will_topic, b"offline", qos=1, retain=True)
        client.on_connect = lambda _c, _u, _f, code, _p: self.connacks.put(code)
        client.on_subscribe = lambda _c, _u, _m, codes, _p: self.subacks.put(list(codes))
        client.on_message = lambda _c, _u, message: self.messages.put(message)
        client.on_disconnect = self._disconnected
        self.client = client

    def _disconnected(self, *_: object) -> None:
        self.disconnects += 1

    def connect(self) -> ReasonCode:
        """Connect and return the broker's CONNACK; a refused client is stopped, not retried."""
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        code = self.connacks.get(timeout=WAIT_S)
        if code.is_failure:
            self.close()
        return code

    def subscribe(self, *filters: str) -> list[ReasonCode]:
        self.client.subscribe([(f, 1) for f in filters])
        return self.subacks.get(timeout=WAIT_S)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=WAIT_S)
        assert info.is_published()

    def until(self, payload: bytes) -> list[mqtt.MQTTMessage]:
        """Messages received up to and including the one carrying `payload`."""
        seen: list[mqtt.MQTTMessage] = []
        deadline = time.monotonic() + WAIT_S
        while not seen or seen[-1].payload != payload:
            seen.append(self.messages.get(timeout=max(0.01, deadline - time.monotonic())))
        return seen

    def drain(self, settle_s: float = 0.3) -> list[mqtt.MQTTMessage]:
        time.sleep(settle_s)
        seen = []
        while not self.messages.empty():
            seen.append(self.messages.get_nowait())
        return seen

    def kill(self) -> None:
        """Drop the connection without a DISCONNECT, as a crashed device does."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        # Disconnecting first lets the network thread end at once instead of
        # at its next one-second select timeout.
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.add_home(Home(home_id="home-1", lat=31.23, lon=121.47))
    registry.add_home(Home(home_id="home-2", lat=31.25, lon=121.50))
    fleet = Fleet(registry=registry)
    fleet.add("dev-a", "home-1")
    fleet.add("dev-b", "home-1")
    fleet.add("dev-c", "home-2")
    return fleet


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(
    request: pytest.FixtureRequest, tmp_path: Path, fleet: Fleet
) -> Iterator[BrokerUnderTest]:
    started: BrokerUnderTest = (
        MosquittoUnderTest(tmp_path, fleet)
        if request.param == "mosquitto"
        else EmbeddedUnderTest(fleet)
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def embedded(fleet: Fleet) -> Iterator[EmbeddedUnderTest]:
    started = EmbeddedUnderTest(fleet)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        peer.close()


def _peer(peers: list[Peer], broker: BrokerUnderTest, *args: Any, **kwargs: Any) -> Peer:
    peer = Peer(broker.port, *args, **kwargs)
    peers.append(peer)
    return peer


def _device(peers: list[Peer], broker: BrokerUnderTest, fleet: Fleet, device_id: str) -> Peer:
    peer = _peer(peers, broker, device_id, device_id, fleet.passwords[device_id])
    assert not peer.connect().is_failure
    return peer


def _gateway(peers: list[Peer], broker: BrokerUnderTest, *, clean_session: bool = True) -> Peer:
    gateway = _peer(
        peers,
        broker,
        GATEWAY_CLIENT_ID,
        GATEWAY_USER,
        GATEWAY_PASSWORD,
        clean_session=clean_session,
    )
    assert not gateway.connect().is_failure
    codes = gateway.subscribe(broker.telemetry_filter, STATUS_FILTER)
    assert not any(code.is_failure for code in codes)
    return gateway


class TestPublishing:
    def test_a_device_publishes_its_own_telemetry_to_the_gateway(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker)
        device = _device(peers, broker, fleet, "dev-a")
        device.publish(fleet.telemetry("dev-a"), b'{"seq": 1}')
        device.publish(status_topic("home-1", "dev-a"), b"online", retain=True)
        first, second = gateway.until(b"online")
        assert (first.topic, first.payload) == (fleet.telemetry("dev-a"), b'{"seq": 1}')
        assert second.topic == status_topic("home-1", "dev-a")

    @pytest.mark.parametrize(
        "topic",
        [
            telemetry_topic("home-1", "dev-b"),
            telemetry_topic("home-2", "dev-c"),
            status_topic("home-2", "dev-c"),
            telemetry_topic("home-2", "dev-a"),
            "anxin/v1/workers/w-1/offers",
        ],
        ids=["same-home", "other-home", "other-status", "own-id-wrong-home", "offers"],
    )
    def test_a_device_cannot_speak_for_another(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer], topic: str
    ) -> None:
        gateway = _gateway(peers, broker)
        device = _device(peers, broker, fleet, "dev-a")
        device.publish(topic, b"forged")
        device.publish(fleet.telemetry("dev-a"), b"marker")
        seen = gateway.until(b"marker") + gateway.drain()
        assert [m.payload for m in seen] == [b"marker"]

    def test_a_will_on_another_devices_topic_never_reaches_the_gateway(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker)
        forger = _peer(
            peers,
            broker,
            "dev-a",
            "dev-a",
            fleet.passwords["dev-a"],
            will_topic=status_topic("home-1", "dev-b"),
        )
        if not forger.connect().is_failure:  # Mosquitto accepts it and drops the will
            forger.kill()
        device = _device(peers, broker, fleet, "dev-c")
        time.sleep(0.3)
        device.publish(fleet.telemetry("dev-c"), b"marker")
        seen = gateway.until(b"marker") + gateway.drain()
        assert [m.payload for m in seen] == [b"marker"]


class TestLogins:
    @pytest.mark.parametrize(
        ("client_id", "username", "password"),
        [
            ("dev-a", "dev-a", "wrong-password"),
            ("dev-x", "dev-x", "any-password"),
            ("dev-a", None, None),
            ("dev-a", "dev-a", ""),
            (GATEWAY_CLIENT_ID, GATEWAY_USER, "wrong-password"),
        ],
        ids=["wrong-password", "unknown-user", "anonymous", "empty-password", "gateway-wrong"],
    )
    def test_a_bad_login_is_refused(
        self,
        broker: BrokerUnderTest,
        peers: list[Peer],
        client_id: str,
        username: str | None,
        password: str | None,
    ) -> None:
        code = _peer(peers, broker, client_id, username, password).connect()
        assert code.is_failure

    def test_a_device_added_to_the_registry_can_log_in(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker)
        fleet.add("dev-new", "home-2")
        if broker.kind == "mosquitto":
            early = _peer(peers, broker, "dev-new", "dev-new", fleet.passwords["dev-new"])
            assert early.connect().is_failure, "Mosquitto knows only the files it has read"
        broker.sync_registry()
        device = _connect_soon(peers, broker, fleet, "dev-new")
        device.publish(fleet.telemetry("dev-new"), b"hello")
        assert gateway.until(b"hello")[-1].topic == fleet.telemetry("dev-new")

    def test_reusing_the_gateways_client_id_does_not_cut_it_off(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker, clean_session=False)
        anonymous = _peer(peers, broker, GATEWAY_CLIENT_ID)
        assert anonymous.connect().is_failure
        impostor = _peer(peers, broker, GATEWAY_CLIENT_ID, "dev-a", fleet.passwords["dev-a"])
        impostor.connect()  # refused by amqtt; on Mosquitto it is renamed to "dev-a"
        impostor.close()
        device = _device(peers, broker, fleet, "dev-b")
        device.publish(fleet.telemetry("dev-b"), b"still-here")
        assert gateway.until(b"still-here")[-1].topic == fleet.telemetry("dev-b")
        assert gateway.disconnects == 0


class TestSubscribing:
    def test_a_device_cannot_read_other_devices(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker)
        snoop = _device(peers, broker, fleet, "dev-b")
        codes = snoop.subscribe(fleet.telemetry("dev-a"), TELEMETRY_FILTER, "#")
        if broker.kind == "embedded":
            assert all(code.is_failure for code in codes)
        # Mosquitto 2.0 grants the SUBACK and checks `read` on each delivery instead.
        device = _device(peers, broker, fleet, "dev-a")
        device.publish(fleet.telemetry("dev-a"), b"private")
        gateway.until(b"private")
        assert snoop.drain() == []

    def test_a_device_gets_no_retained_status_it_did_not_subscribe_to(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker)
        device = _device(peers, broker, fleet, "dev-a")
        device.publish(status_topic("home-1", "dev-a"), b"online", retain=True)
        gateway.until(b"online")
        # Another device connecting later subscribes to nothing: it must hear nothing,
        # though the gateway's subscription matches the retained status.
        late = _device(peers, broker, fleet, "dev-b")
        assert late.drain() == []
        # The gateway reconnecting does get the retained status again.
        again = _gateway(peers, broker)
        assert [m.payload for m in again.until(b"online")] == [b"online"]


class TestPublishAndLeave:
    """Battery devices connect, publish and disconnect at once: a PUBACKed message must
    still be delivered (amqtt 0.12.1 ended the client's loop on the DISCONNECT first)."""

    ROUNDS: Final = 30

    def test_every_acknowledged_message_reaches_the_gateway(
        self, broker: BrokerUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, broker)
        for n in range(self.ROUNDS):
            device = _device(peers, broker, fleet, "dev-a")
            device.publish(fleet.telemetry("dev-a"), f"sos {n}".encode())
            device.close()
        got = [m.payload for m in gateway.until(f"sos {self.ROUNDS - 1}".encode())]
        got += [m.payload for m in gateway.drain()]
        assert sorted(set(got)) == sorted(f"sos {n}".encode() for n in range(self.ROUNDS))

    def test_a_refused_publish_is_reported_though_the_device_left_at_once(
        self, embedded: EmbeddedUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        forged_topic = telemetry_topic("home-2", "dev-c")
        for n in range(self.ROUNDS):
            device = _device(peers, embedded, fleet, "dev-a")
            device.publish(forged_topic, f"forged {n}".encode())
            device.close()
        reported = [embedded.refused.get(timeout=WAIT_S)[2] for _ in range(self.ROUNDS)]
        assert sorted(reported) == sorted(f"forged {n}".encode() for n in range(self.ROUNDS))


class TestEmbeddedOnly:
    def test_a_refused_publish_is_reported_with_its_payload(
        self, embedded: EmbeddedUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        gateway = _gateway(peers, embedded)
        device = _device(peers, embedded, fleet, "dev-a")
        forged_topic = telemetry_topic("home-2", "dev-c")
        device.publish(forged_topic, b'{"forged": true}')
        device.publish(fleet.telemetry("dev-a"), b"marker")
        gateway.until(b"marker")
        assert embedded.refused.get(timeout=WAIT_S) == ("dev-a", forged_topic, b'{"forged": true}')
        time.sleep(0.2)
        assert embedded.refused.empty(), "an allowed publish was reported as refused"

    def test_a_device_must_use_its_id_as_client_id(
        self, embedded: EmbeddedUnderTest, fleet: Fleet, peers: list[Peer]
    ) -> None:
        code = _peer(peers, embedded, "dev-b", "dev-a", fleet.passwords["dev-a"]).connect()
        assert code.is_failure

    def test_a_shared_subscription_is_refused_rather_than_silently_empty(
        self, embedded: EmbeddedUnderTest, peers: list[Peer]
    ) -> None:
        gateway = _peer(peers, embedded, GATEWAY_CLIENT_ID, GATEWAY_USER, GATEWAY_PASSWORD)
        assert not gateway.connect().is_failure
        (code,) = gateway.subscribe(SHARED_TELEMETRY_FILTER)
        assert code.is_failure


def _connect_soon(peers: list[Peer], broker: BrokerUnderTest, fleet: Fleet, device_id: str) -> Peer:
    """Mosquitto applies a SIGHUP asynchronously: retry the login for a few seconds."""
    deadline = time.monotonic() + WAIT_S
    while True:
        peer = _peer(peers, broker, device_id, device_id, fleet.passwords[device_id])
        if not peer.connect().is_failure:
            return peer
        assert time.monotonic() < deadline, f"{device_id} still refused after the reload"
        time.sleep(0.1)
