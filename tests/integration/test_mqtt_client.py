"""gateway.mqtt.MqttClient against a real Mosquitto (and, for failure modes a broker never
shows, a raw TCP peer that is silent or speaks garbage)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.testbed.mosquitto import Mosquitto
from anxin.testbed.process import free_port
from devices.credentials import hash_password
from gateway.mqtt import MqttClient, MqttError, MqttMessage, Will

pytestmark = pytest.mark.integration

# Without these Mosquitto sends 20 QoS 1 messages at a time and drops an offline backlog
# beyond 1,000: the gateway's broker runs with both limits off.
BROKER_CONFIG = "allow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n"
SHARED = "$share/anxin-gateway/anxin/v1/homes/+/devices/+/telemetry"
TELEMETRY = "anxin/v1/homes/+/devices/+/telemetry"


def telemetry_topic(home: int, device: int) -> str:
    return f"anxin/v1/homes/h{home}/devices/d{device}/telemetry"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, BROKER_CONFIG)
    server.start()
    yield server
    server.stop()


def client_of(broker: Mosquitto, client_id: str, **options: object) -> MqttClient:
    return MqttClient(host="127.0.0.1", port=broker.port, client_id=client_id, **options)  # type: ignore[arg-type]


async def publish_many(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 with up to 2,000 PUBACKs outstanding, fast enough for backlogs."""
    async with client_of(broker, "test-publisher", clean_session=True) as publisher:
        for start in range(0, len(messages), 2000):
            await asyncio.gather(
                *(
                    publisher.publish(topic, payload, qos=1)
                    for topic, payload in messages[start : start + 2000]
                )
            )


def paho_publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 from paho-mqtt, waiting for every PUBACK."""
    publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="paho-publisher")
    publisher.connect("127.0.0.1", port)
    publisher.loop_start()
    try:
        infos = [publisher.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        publisher.disconnect()
        publisher.loop_stop()


async def collect(
    client: MqttClient, count: int, *, ack: bool = True, within: float = 20.0
) -> list[MqttMessage]:
    """The next `count` messages (acknowledged unless told otherwise)."""
    received: list[MqttMessage] = []
    async with asyncio.timeout(within):
        async for batch in client.batches(max_messages=1000, linger=0.01):
            received += batch
            if ack:
                client.ack(batch)
            if len(received) >= count:
                break
    return received


async def quiet_for(client: MqttClient, seconds: float) -> list[MqttMessage]:
    """Whatever arrives within `seconds` (acknowledged)."""
    received: list[MqttMessage] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for batch in client.batches():
                received += batch
                client.ack(batch)
    return received


async def persistent_subscriber(broker: Mosquitto, client_id: str, filter_: str) -> MqttClient:
    """A subscriber whose session lives on in the broker while it is disconnected."""
    client = client_of(broker, client_id)
    assert await client.connect() is False
    assert await client.subscribe([(filter_, 1)]) == [1]
    await client.disconnect()
    return client


class TestConnect:
    async def test_session_present_is_reported_only_for_a_resumed_session(
        self, broker: Mosquitto
    ) -> None:
        client = client_of(broker, "gw-1")
        assert await client.connect() is False
        await client.disconnect()
        assert await client.connect() is True
        assert client.session == 2
        await client.disconnect()

    async def test_bad_credentials_are_refused_with_the_connack_code(self, tmp_path: Path) -> None:
        passwords = tmp_path / "passwords"
        passwords.write_text(f"gateway:{hash_password('right-password')}\n")
        # `user root`: started as root, Mosquitto would drop to user mosquitto, who cannot
        # read pytest's private tmp_path (the setting does nothing when not root).
        broker = Mosquitto(
            tmp_path, f"user root\nallow_anonymous false\npassword_file {passwords}\n"
        )
        broker.start()
        try:
            wrong = client_of(broker, "gw-1", username="gateway", password="wrong")
            with pytest.raises(MqttError, match="refused") as refused:
                await wrong.connect()
            assert refused.value.return_code in (4, 5)
            assert not wrong.connected
            async with client_of(
                broker, "gw-1", username="gateway", password="right-password"
            ) as right:
                assert right.connected
        finally:
            broker.stop()

    async def test_nothing_listening_raises_mqtt_error(self) -> None:
        client = MqttClient(host="127.0.0.1", port=free_port(), client_id="gw-1")
        with pytest.raises(MqttError, match="cannot connect"):
            await client.connect()

    async def test_connecting_twice_is_refused(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1") as client:
            with pytest.raises(MqttError, match="already connected"):
                await client.connect()


class TestReceive:
    async def test_subscribed_qos1_messages_arrive_in_order(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1") as client:
            assert await client.subscribe([(TELEMETRY, 1)]) == [1]
            sent = [(telemetry_topic(1, 2), b'{"seq":%d}' % i) for i in range(50)]
            await asyncio.to_thread(paho_publish, broker.port, sent)
            received = await collect(client, 50)
        assert [(m.topic, m.payload) for m in received] == sent
        assert {(m.qos, m.retain, m.session) for m in received} == {(1, False, 1)}
        assert all(m.packet_id for m in received)

    async def test_qos1_publish_returns_after_the_broker_acknowledged_it(
        self, broker: Mosquitto
    ) -> None:
        async with client_of(broker, "gw-1") as client:
            await client.subscribe([("anxin/v1/homes/+/devices/+/status", 0)])
            await client.publish(
                "anxin/v1/homes/h1/devices/d1/status", b"online", qos=1, retain=True
            )
            [message] = await collect(client, 1)
        assert (message.payload, message.qos, message.packet_id) == (b"online", 0, None)

    async def test_a_cancelled_qos1_publish_leaves_the_connection_working(
        self, broker: Mosquitto
    ) -> None:
        async with client_of(broker, "gw-1") as client:
            await client.subscribe([(TELEMETRY, 1)])
            cancelled = asyncio.create_task(client.publish(telemetry_topic(1, 1), b"1", qos=1))
            await asyncio.sleep(0)
            cancelled.cancel()
            await client.publish(telemetry_topic(1, 1), b"2", qos=1)
            received = await collect(client, 2)
            assert client.connected
        assert [m.payload for m in received] == [b"1", b"2"]

    async def test_subscribe_refuses_qos_2(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1") as client:
            with pytest.raises(ValueError, match="QoS 2"):
                await client.subscribe([(TELEMETRY, 2)])

    async def test_a_qos2_publish_is_delivered_at_the_granted_qos1(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1") as client:
            await client.subscribe([(TELEMETRY, 1)])
            publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="paho-qos2")
            publisher.connect("127.0.0.1", broker.port)
            publisher.loop_start()
            publisher.publish(telemetry_topic(1, 1), b"{}", qos=2).wait_for_publish(10)
            publisher.disconnect()
            publisher.loop_stop()
            [message] = await collect(client, 1)
        assert message.qos == 1

    async def test_a_20000_message_backlog_drains_completely(self, broker: Mosquitto) -> None:
        client = await persistent_subscriber(broker, "gw-1", TELEMETRY)
        sent = [(telemetry_topic(i % 40, i % 7), b'{"seq":%d}' % i) for i in range(20_000)]
        await publish_many(broker, sent)
        await client.connect()
        received = await collect(client, 20_000, within=60)
        assert sorted(m.payload for m in received) == sorted(p for _, p in sent)
        assert client.unacked == 0
        assert await quiet_for(client, 0.3) == []
        await client.disconnect()


class TestPersistentSession:
    async def test_messages_published_while_offline_arrive_after_reconnecting(
        self, broker: Mosquitto
    ) -> None:
        client = await persistent_subscriber(broker, "gw-1", TELEMETRY)
        sent = [(telemetry_topic(1, 1), b"%d" % i) for i in range(300)]
        await asyncio.to_thread(paho_publish, broker.port, sent)
        assert await client.connect() is True
        received = await collect(client, 300)
        assert [m.payload for m in received] == [p for _, p in sent]
        await client.disconnect()

    async def test_messages_not_acked_are_redelivered_after_reconnecting(
        self, broker: Mosquitto
    ) -> None:
        async with client_of(broker, "gw-1") as client:
            await client.subscribe([(TELEMETRY, 1)])
            await publish_many(broker, [(telemetry_topic(1, 1), b"%d" % i) for i in range(100)])
            first = await collect(client, 100, ack=False)
            assert client.unacked == 100
        assert await client.connect() is True
        again = await collect(client, 100)
        assert sorted(m.payload for m in again) == sorted(m.payload for m in first)
        assert {m.session for m in again} == {2}
        await client.disconnect()

    async def test_messages_acked_are_not_redelivered(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1") as client:
            await client.subscribe([(TELEMETRY, 1)])
            await publish_many(broker, [(telemetry_topic(1, 1), b"%d" % i) for i in range(100)])
            received = await collect(client, 100, ack=False)
            client.ack(received[:60])
            assert client.unacked == 40
        await client.connect()
        await publish_many(broker, [(telemetry_topic(1, 1), b"marker")])
        after = await collect(client, 41)
        assert [m.payload for m in after] == [b"%d" % i for i in range(60, 100)] + [b"marker"]
        await client.disconnect()

    async def test_an_ack_from_an_earlier_connection_is_ignored(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1") as client:
            await client.subscribe([(TELEMETRY, 1)])
            await publish_many(broker, [(telemetry_topic(1, 1), b"%d" % i) for i in range(10)])
            old = await collect(client, 10, ack=False)
            client.abort()
            await client.connect()
            again = await collect(client, 10, ack=False)
            client.ack(old)
            assert client.unacked == 10
            client.ack(again)
            client.ack(again)  # a repeated ack sends nothing more
            assert client.unacked == 0
        await client.connect()
        assert await quiet_for(client, 0.3) == []
        await client.disconnect()


class TestSharedSubscription:
    async def test_two_gateways_split_the_messages_and_none_is_lost(
        self, broker: Mosquitto
    ) -> None:
        gateways = [client_of(broker, f"gw-{n}") for n in (1, 2)]
        for gateway in gateways:
            await gateway.connect()
            assert await gateway.subscribe([(SHARED, 1)]) == [1]
        sent = [(telemetry_topic(i % 10, i % 3), b"%d" % i) for i in range(2000)]
        received: list[list[MqttMessage]] = [[], []]
        all_in = asyncio.Event()

        async def consume(index: int) -> None:
            async for batch in gateways[index].batches(linger=0.01):
                received[index] += batch
                gateways[index].ack(batch)
                if len(received[0]) + len(received[1]) >= len(sent):
                    all_in.set()

        consumers = [asyncio.create_task(consume(n)) for n in (0, 1)]
        await publish_many(broker, sent)
        async with asyncio.timeout(20):
            await all_in.wait()
        for gateway in gateways:
            await gateway.disconnect()
        await asyncio.gather(*consumers)
        payloads = [m.payload for share in received for m in share]
        assert sorted(payloads) == sorted(p for _, p in sent)
        assert min(len(share) for share in received) > 500


class TestLastWill:
    async def test_the_will_is_published_when_the_connection_is_aborted(
        self, broker: Mosquitto
    ) -> None:
        status = "anxin/v1/homes/h1/devices/d1/status"
        async with client_of(broker, "watcher") as watcher:
            await watcher.subscribe([(status, 1)])
            device = client_of(broker, "d1", will=Will(status, b"offline"))
            await device.connect()
            await device.publish(status, b"online", qos=1)
            device.abort()
            received = await collect(watcher, 2)
        assert [(m.payload, m.retain) for m in received] == [
            (b"online", False),
            (b"offline", False),
        ]

    async def test_a_clean_disconnect_sends_no_will(self, broker: Mosquitto) -> None:
        status = "anxin/v1/homes/h1/devices/d1/status"
        async with client_of(broker, "watcher") as watcher:
            await watcher.subscribe([(status, 1)])
            async with client_of(broker, "d1", will=Will(status, b"offline")):
                pass
            await publish_many(broker, [(status, b"marker")])
            [message] = await collect(watcher, 1)
        assert message.payload == b"marker"


class TestFlowControl:
    async def test_reading_stops_beyond_the_receive_window_until_messages_are_acked(
        self, broker: Mosquitto
    ) -> None:
        client = await persistent_subscriber(broker, "gw-1", TELEMETRY)
        sent = [(telemetry_topic(1, 1), b"%05d" % i + bytes(2000)) for i in range(3000)]
        await publish_many(broker, sent)
        client = client_of(broker, "gw-1", receive_window=100)
        await client.connect()
        held: list[MqttMessage] = []

        async def hold() -> None:
            async for batch in client.batches(linger=0.01):
                held.extend(batch)

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(hold(), 0.5)
        assert client.reading_paused
        # One socket read (up to 256 KiB: ~130 of these messages) may overshoot the window.
        assert 100 < len(held) < 400
        client.ack(held)
        rest = await collect(client, 3000 - len(held))
        assert sorted(m.payload for m in held + rest) == sorted(p for _, p in sent)
        await client.disconnect()

    async def test_a_subscribe_queued_behind_a_backlog_larger_than_the_window_completes(
        self, broker: Mosquitto
    ) -> None:
        # The broker streams the session's backlog before it answers a new SUBSCRIBE;
        # pausing at the window then would wait for the SUBACK forever.
        client = await persistent_subscriber(broker, "gw-1", TELEMETRY)
        await publish_many(broker, [(telemetry_topic(1, 1), b"x" * 500)] * 2000)
        client = client_of(broker, "gw-1", receive_window=50)
        await client.connect()
        granted = await asyncio.wait_for(client.subscribe([(TELEMETRY, 1)]), 10)
        assert granted == [1]
        received = await collect(client, 2000)
        assert len(received) == 2000
        await client.disconnect()


class TestConnectionEnd:
    async def test_batches_raise_when_the_broker_goes_away(self, broker: Mosquitto) -> None:
        client = client_of(broker, "gw-1")
        await client.connect()
        await client.subscribe([(TELEMETRY, 1)])
        broker.stop()
        with pytest.raises(MqttError, match=r"closed by the broker|connection lost"):
            await collect(client, 1)
        assert not client.connected
        with pytest.raises(MqttError):
            await client.publish(telemetry_topic(1, 1), b"{}", qos=1)

    async def test_batches_raise_after_abort(self, broker: Mosquitto) -> None:
        client = client_of(broker, "gw-1")
        await client.connect()
        client.abort()
        with pytest.raises(MqttError, match="aborted"):
            await collect(client, 1)

    async def test_disconnect_ends_batches_without_error(self, broker: Mosquitto) -> None:
        client = client_of(broker, "gw-1")
        await client.connect()
        consumer = asyncio.create_task(collect(client, 1))
        await asyncio.sleep(0.05)
        await client.disconnect()
        assert await consumer == []

    async def test_keepalive_pings_hold_an_idle_connection_open(self, broker: Mosquitto) -> None:
        async with client_of(broker, "gw-1", keepalive=1) as client:
            await client.subscribe([(TELEMETRY, 1)])
            await asyncio.sleep(2.5)  # Mosquitto drops a client silent for 1.5 keepalives
            await client.publish(telemetry_topic(1, 1), b"{}", qos=1)
            assert len(await collect(client, 1)) == 1


@pytest.fixture
async def raw_peer() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TCP peer that answers a CONNECT with the chunks the test puts in the list, 50 ms
    apart, then reads and ignores everything until the client goes."""
    script: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await reader.read(1024)
            for chunk in script:
                writer.write(chunk)
                await asyncio.sleep(0.05)
            while await reader.read(1024):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, script
    server.close()
    for writer in writers:
        writer.close()
    await server.wait_closed()
    await asyncio.sleep(0.01)


class TestMisbehavingPeer:
    async def test_no_connack_times_out(self, raw_peer: tuple[int, list[bytes]]) -> None:
        client = MqttClient(host="127.0.0.1", port=raw_peer[0], client_id="gw-1")
        with pytest.raises(MqttError, match="no CONNACK"):
            await client.connect(timeout=0.3)

    async def test_garbage_after_connack_raises_and_closes(
        self, raw_peer: tuple[int, list[bytes]]
    ) -> None:
        port, script = raw_peer
        script += [b"\x20\x02\x00\x00", b"\x32\x05\x00\x01a\x00\x01", b"\x00\x07garbage"]
        client = MqttClient(host="127.0.0.1", port=port, client_id="gw-1")
        await client.connect()
        with pytest.raises(MqttError, match="unexpected packet"):
            await collect(client, 100, within=5)
        assert not client.connected

    async def test_a_silent_broker_is_given_up_after_one_and_a_half_keepalives(
        self, raw_peer: tuple[int, list[bytes]]
    ) -> None:
        port, script = raw_peer
        script.append(b"\x20\x02\x00\x00")
        client = MqttClient(host="127.0.0.1", port=port, client_id="gw-1", keepalive=1)
        await client.connect()
        with pytest.raises(MqttError, match="no packet from the broker"):
            await collect(client, 1, within=5)
