"""Drain a QoS 1 backlog with four MQTT clients and compare messages/s and CPU per message.

    .venv/bin/python -m tests.perf.receive_paths [--messages 150000] [--profile]

A Mosquitto started here (no inflight or queue limits, as the gateway's broker runs) keeps
one persistent session per client; one pass of ~200-byte QoS 1 telemetry-like messages
fills all four queues, then each client reconnects and drains its own, acknowledging as it
goes: (a) gateway.mqtt acking each batch, (b) paho-mqtt 2.x with manual_ack, one ack per
message, (c) aiomqtt 2.5 (paho underneath, acks automatically), (d) `mosquitto_sub -q 1`
(C, libmosquitto). CPU is the client's own (process time, or the child's rusage), and the
broker's CPU over the same drain is shown beside it. Finally the decoder alone is timed on
the same bytes, to separate parsing from the socket and event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho
import psutil  # type: ignore[import-untyped]
from paho.mqtt.enums import CallbackAPIVersion

from anxin.testbed.mosquitto import Mosquitto
from anxin.testbed.process import ensure_debian_package
from gateway.mqtt import MqttClient, MqttMessage
from gateway.mqtt_codec import Decoder, encode_publish

HOST = "127.0.0.1"
FILTER = "anxin/v1/homes/+/devices/+/telemetry"
CLIENT_IDS = ("perf-anxin", "perf-paho", "perf-aiomqtt", "perf-mosquitto-sub")
CONFIG = "allow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n"


def telemetry(i: int) -> tuple[str, bytes]:
    topic = f"anxin/v1/homes/h{i % 500:04d}/devices/d{i % 7}/telemetry"
    payload = (
        b'{"type":"vitals","ts":"2026-11-23T08:15:00.123Z","seq":%d,"battery":83,'
        b'"data":{"heart_rate":72,"resp_rate":16,"spo2":97,"systolic_bp":128,'
        b'"diastolic_bp":82,"temperature":36.8,"on_oxygen":false,"consciousness":"A"}}' % i
    )
    return topic, payload


@dataclass
class Result:
    name: str
    messages: int
    wall: float
    cpu: float
    broker_cpu: float

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.messages / self.wall:>10,.0f} msg/s"
            f" {self.cpu / self.messages * 1e6:>8.2f} us CPU/msg"
            f"   broker {self.broker_cpu / self.messages * 1e6:>5.2f} us/msg"
        )


def broker_cpu() -> float:
    """CPU seconds used so far by the Mosquitto child of this process."""
    for child in psutil.Process().children():
        if child.name() == "mosquitto":
            times = child.cpu_times()
            return float(times.user + times.system)
    raise RuntimeError("no mosquitto child process")


async def build_backlog(port: int, count: int) -> None:
    for client_id in CLIENT_IDS:
        client = MqttClient(host=HOST, port=port, client_id=client_id)
        await client.connect()
        await client.subscribe([(FILTER, 1)])
        await client.disconnect()
    async with MqttClient(host=HOST, port=port, client_id="perf-pub", clean_session=True) as pub:
        for start in range(0, count, 5000):
            await asyncio.gather(
                *(pub.publish(*telemetry(i), qos=1) for i in range(start, min(count, start + 5000)))
            )


async def drain_anxin(port: int, count: int) -> tuple[int, float, float]:
    client = MqttClient(host=HOST, port=port, client_id="perf-anxin")
    cpu, wall = time.process_time(), time.perf_counter()
    await client.connect()
    received = 0
    async for batch in client.batches():
        received += len(batch)
        client.ack(batch)
        if received >= count:
            break
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.disconnect()
    return received, wall, cpu


def drain_paho(port: int, count: int) -> tuple[int, float, float]:
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id="perf-paho",
        clean_session=False,
        manual_ack=True,
    )
    received = 0

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        nonlocal received
        received += 1
        client.ack(message.mid, message.qos)
        if received >= count:
            client.disconnect()

    client.on_message = on_message
    cpu, wall = time.process_time(), time.perf_counter()
    client.connect(HOST, port)
    client.loop_forever()
    return received, time.perf_counter() - wall, time.process_time() - cpu


async def drain_aiomqtt(port: int, count: int) -> tuple[int, float, float]:
    received = 0
    cpu, wall = time.process_time(), time.perf_counter()
    async with aiomqtt.Client(HOST, port, identifier="perf-aiomqtt", clean_session=False) as c:
        async for _ in c.messages:
            received += 1
            if received >= count:
                break
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return received, wall, cpu


def drain_mosquitto_sub(port: int, count: int) -> tuple[int, float, float]:
    binary = ensure_debian_package("mosquitto-clients", "mosquitto_sub")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(
        [
            binary,
            "-h",
            HOST,
            "-p",
            str(port),
            "-i",
            "perf-mosquitto-sub",
            "-c",
            "-q",
            "1",
            "-t",
            FILTER,
            "-C",
            str(count),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return count, wall, cpu


def decoder_alone(count: int) -> Result:
    """Parse `count` PUBLISHes arriving in 256 KiB reads (as asyncio reads) and ack them."""
    stream = b"".join(
        encode_publish(*telemetry(i), qos=1, packet_id=i % 65535 + 1) for i in range(count)
    )
    reads = [stream[i : i + 262_144] for i in range(0, len(stream), 262_144)]
    decoder = Decoder(1)
    messages: list[MqttMessage] = []
    cpu = time.process_time()
    for data in reads:
        decoder.feed(data, messages)
        decoder.unacked.clear()
    cpu = time.process_time() - cpu
    assert len(messages) == count
    return Result("gateway.mqtt Decoder alone", count, cpu, cpu, 0.0)


def measure(name: str, drain: Callable[[], tuple[int, float, float]], count: int) -> Result:
    before = broker_cpu()
    received, wall, cpu = drain()
    assert received >= count, f"{name}: {received} of {count}"
    return Result(name, received, wall, cpu, broker_cpu() - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=150_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the gateway client")
    args = parser.parse_args()
    count: int = args.messages
    with tempfile.TemporaryDirectory() as workdir:
        broker = Mosquitto(Path(workdir), CONFIG)
        broker.start()
        try:
            started = time.perf_counter()
            asyncio.run(build_backlog(broker.port, count))
            print(
                f"backlog of {count:,} messages x {len(CLIENT_IDS)} sessions built in "
                f"{time.perf_counter() - started:.1f} s"
            )
            profile = cProfile.Profile() if args.profile else None
            if profile is not None:
                profile.enable()
            results = [
                measure(
                    "(a) gateway.mqtt, ack per batch",
                    lambda: asyncio.run(drain_anxin(broker.port, count)),
                    count,
                )
            ]
            if profile is not None:
                profile.disable()
            results += [
                measure(
                    "(b) paho-mqtt 2.x, manual_ack", lambda: drain_paho(broker.port, count), count
                ),
                measure(
                    "(c) aiomqtt 2.5 (auto ack)",
                    lambda: asyncio.run(drain_aiomqtt(broker.port, count)),
                    count,
                ),
                measure(
                    "(d) mosquitto_sub -q 1 -C N",
                    lambda: drain_mosquitto_sub(broker.port, count),
                    count,
                ),
            ]
        finally:
            broker.stop()
    results.append(decoder_alone(count))
    for result in results:
        print(result.line())
    if profile is not None:
        print("\ncProfile of (a), by own time (profiling slows it several times):")
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
