"""Simulated devices publishing to a real Mosquitto, each on its own authenticated connection."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.testbed.mosquitto import Mosquitto
from devices.credentials import hash_password
from devices.telemetry import TELEMETRY_ADAPTER
from devices.topics import parse_device_topic
from records.devices import open_registry
from simulators.errors import SimulatorError
from simulators.fleet import build_fleet
from simulators.provision import provision, save_credentials
from simulators.run import SimulationOptions, run_simulation
from simulators.samples import load_samples, replay_samples, samples_home
from simulators.stream import SimEvent, merged, simulate_fleet
from simulators.truth import read_truth

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parents[1] / "contract" / "samples"
WATCHER = ("watcher", "watcher-password")
SEED = 21
HOMES = 70  # 1,050 devices: more than 1,000 connections from one process


@dataclass
class Broker:
    mosquitto: Mosquitto
    credentials: dict[str, str]
    workdir: Path

    @property
    def port(self) -> int:
        return self.mosquitto.port


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """Mosquitto with a password file and per-device ACL made from a provisioned registry."""
    workdir = tmp_path_factory.mktemp("mosquitto")
    registry = open_registry(f"sqlite:///{workdir / 'registry.db'}")
    credentials = provision(registry, [*build_fleet(HOMES, seed=SEED), samples_home(SAMPLES)])
    users = [f"{device.device_id}:{device.password_hash}" for device in registry.devices()]
    users.append(f"{WATCHER[0]}:{hash_password(WATCHER[1])}")
    (workdir / "passwords").write_text("\n".join(users) + "\n")
    (workdir / "acl").write_text(
        f"user {WATCHER[0]}\ntopic read anxin/v1/#\n\n"
        "pattern write anxin/v1/homes/+/devices/%u/telemetry\n"
        "pattern write anxin/v1/homes/+/devices/%u/status\n"
    )
    config = (
        # As root Mosquitto would switch to its own user, who cannot read pytest's temp dirs.
        ("user root\n" if os.geteuid() == 0 else "") + "allow_anonymous false\n"
        f"password_file {workdir / 'passwords'}\n"
        f"acl_file {workdir / 'acl'}\n"
        "max_queued_messages 0\n"
        "max_inflight_messages 0\n"
    )
    mosquitto = Mosquitto(workdir, config)
    mosquitto.start()
    try:
        yield Broker(mosquitto, credentials, workdir)
    finally:
        mosquitto.stop()


@dataclass
class Watcher:
    """A subscriber on its own thread recording (topic, payload, retained)."""

    port: int
    topic: str = "anxin/v1/homes/+/devices/+/+"
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    subscribed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watcher-{id(self)}")
        client.username_pw_set(*WATCHER)
        client.on_connect = lambda c, *_: c.subscribe(self.topic, qos=1)
        client.on_subscribe = lambda *_: self.subscribed.set()
        client.on_message = self._on_message
        self.client = client

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def __enter__(self) -> Watcher:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "watcher did not subscribe"
        return self

    def __exit__(self, *_: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def telemetry(self) -> list[tuple[str, bytes]]:
        with self.lock:
            return [(t, p) for t, p, _ in self.messages if t.endswith("/telemetry")]

    def statuses(self) -> dict[str, bytes]:
        """Latest status per device id."""
        with self.lock:
            latest = {}
            for topic, payload, _ in self.messages:
                where = parse_device_topic(topic)
                if where is not None and where.channel == "status":
                    latest[where.device_id] = payload
            return latest

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()


def _retained_statuses(port: int) -> dict[str, bytes]:
    with Watcher(port, topic="anxin/v1/homes/+/devices/+/status") as watcher:
        time.sleep(1.0)
        return watcher.statuses()


def _options(homes: int, **changes: Any) -> SimulationOptions:
    """An unpaced run over a past window (ending an hour ago) unless `changes` say otherwise."""
    duration = changes.get("duration", timedelta(hours=2)) or timedelta(hours=2)
    start = datetime.now(UTC).replace(microsecond=0) - duration - timedelta(hours=1)
    values: dict[str, Any] = {
        "homes": homes,
        "seed": SEED,
        "broker_port": 1883,
        "speed": float("inf"),
        "start": start,
        "duration": timedelta(hours=2),
    }
    return SimulationOptions.model_validate({**values, **changes})


def _expected(options: SimulationOptions) -> list[SimEvent]:
    assert options.start is not None
    assert options.duration is not None
    fleet = build_fleet(options.homes, seed=options.seed)
    simulations = simulate_fleet(
        fleet, options.start, seed=options.seed, injections=options.injections
    )
    end = options.start + options.duration
    return [item for item in merged(simulations, options.start, end) if isinstance(item, SimEvent)]


class TestPublishing:
    def test_every_message_arrives_in_order_with_statuses_retained(
        self, broker: Broker, tmp_path: Path
    ) -> None:
        offline = "sim-0002-climate-bedroom"
        options = _options(
            3,
            broker_port=broker.port,
            truth_path=tmp_path / "truth.jsonl",
            injections=["fall@sim-0001+1h", f"device_offline@sim-0002+30m/{offline}"],
            offline_on_stop=False,
        )
        expected = _expected(options)
        with Watcher(broker.port) as watcher:
            report = asyncio.run(run_simulation(options, credentials=broker.credentials))
            assert watcher.wait_for(lambda: len(watcher.telemetry()) >= len(expected))
            received = watcher.telemetry()
        assert report.published == report.sent == len(expected) == len(received)
        assert report.devices_taken_offline == 1
        assert report.injections_without_truth == ()
        assert sorted(payload for _, payload in received) == sorted(e.body() for e in expected)
        seqs: dict[str, list[int]] = {}
        for topic, payload in received:
            telemetry = TELEMETRY_ADAPTER.validate_json(payload)
            device = parse_device_topic(topic)
            assert device is not None
            seqs.setdefault(device.device_id, []).append(telemetry.seq)
        assert all(values == sorted(values) for values in seqs.values())

        statuses = _retained_statuses(broker.port)
        devices = {d.device_id for home in build_fleet(3, seed=SEED) for d in home.devices}
        assert set(statuses) >= devices
        assert statuses[offline] == b"offline"  # its will fired when it "died"
        assert {statuses[d] for d in devices - {offline}} == {b"online"}
        assert {record.kind for record in read_truth(tmp_path / "truth.jsonl")} == {
            "fall",
            "device_offline",
        }

    def test_devices_say_offline_when_the_simulation_stops(self, broker: Broker) -> None:
        options = _options(1, broker_port=broker.port, duration=timedelta(minutes=30), seed=SEED)
        asyncio.run(run_simulation(options, credentials=broker.credentials))
        statuses = _retained_statuses(broker.port)
        assert {statuses[d.device_id] for d in build_fleet(1, seed=SEED)[0].devices} == {b"offline"}

    def test_a_wrong_password_is_a_clear_error(self, broker: Broker) -> None:
        credentials = dict(broker.credentials)
        credentials["sim-0001-watch"] = "wrong"
        options = _options(1, broker_port=broker.port, connect_timeout_s=3)
        with pytest.raises(SimulatorError, match=r"1 of 15 devices not connected.*sim-0001-watch"):
            asyncio.run(run_simulation(options, credentials=credentials))

    def test_a_thousand_devices_publish_from_one_process(self, broker: Broker) -> None:
        options = _options(HOMES, broker_port=broker.port, duration=timedelta(hours=8))
        expected = len(_expected(options))
        with Watcher(broker.port) as watcher:
            report = asyncio.run(run_simulation(options, credentials=broker.credentials))
            assert watcher.wait_for(lambda: len(watcher.telemetry()) >= expected, timeout=60)
        assert report.devices == 15 * HOMES > 1000
        assert report.published == expected == len(watcher.telemetry())
        print(
            f"\n{report.devices} connections: {report.published} QoS 1 messages in "
            f"{report.wall_seconds:.1f} s = {report.rate_per_s:.0f} msg/s"
        )

    def test_a_device_profile_connects_and_publishes_only_its_devices(self, broker: Broker) -> None:
        options = _options(3, broker_port=broker.port, roles="wearable,bed")
        watch_and_bed = {
            d.device_id
            for home in build_fleet(3, seed=SEED)
            for d in home.devices
            if d.role in ("wearable", "bed")
        }
        expected = [e for e in _expected(options) if e.device_id in watch_and_bed]
        # Only the profile's passwords: connecting any other device would fail the run.
        credentials = {d: p for d, p in broker.credentials.items() if d in watch_and_bed}
        with Watcher(broker.port) as watcher:
            report = asyncio.run(run_simulation(options, credentials=credentials))
            assert watcher.wait_for(lambda: len(watcher.telemetry()) >= len(expected))
            received = watcher.telemetry()
        assert report.devices == len(watch_and_bed) == 6
        assert report.published == len(expected) == len(received) > 0
        senders = {where.device_id for t, _ in received if (where := parse_device_topic(t))}
        assert senders == watch_and_bed
        assert sorted(p for _, p in received) == sorted(e.body() for e in expected)

    def test_a_stop_event_ends_an_open_ended_run(self, broker: Broker) -> None:
        async def scenario() -> Any:
            stop = asyncio.Event()
            options = _options(1, broker_port=broker.port, duration=None, speed=3600.0)
            run = asyncio.create_task(
                run_simulation(options, credentials=broker.credentials, stop=stop)
            )
            await asyncio.sleep(2.0)
            stop.set()
            return await asyncio.wait_for(run, 20)

        report = asyncio.run(scenario())
        assert report.stopped
        assert report.published > 0
        assert report.end is None


class TestResilience:
    def test_devices_reconnect_after_the_broker_restarts(self, broker: Broker) -> None:
        async def scenario() -> Any:
            options = _options(
                1,
                broker_port=broker.port,
                speed=400.0,
                duration=timedelta(hours=1),
                offline_on_stop=False,
            )
            run = asyncio.create_task(run_simulation(options, credentials=broker.credentials))
            await asyncio.sleep(2.0)
            broker.mosquitto.stop()
            await asyncio.sleep(1.0)
            await asyncio.to_thread(broker.mosquitto.start)
            return await asyncio.wait_for(run, 60)

        report = asyncio.run(scenario())
        assert report.reconnects >= 15
        assert report.published == report.sent
        statuses = _retained_statuses(broker.port)
        assert {statuses[d.device_id] for d in build_fleet(1, seed=SEED)[0].devices} == {b"online"}

    def test_a_killed_publisher_leaves_every_device_offline(
        self, broker: Broker, tmp_path: Path
    ) -> None:
        credentials_path = tmp_path / "credentials.json"
        save_credentials(credentials_path, broker.credentials)
        script = (
            "import asyncio\n"
            "from simulators.provision import load_credentials\n"
            "from simulators.run import SimulationOptions, run_simulation\n"
            f"options = SimulationOptions(homes=2, seed={SEED}, broker_port={broker.port})\n"
            f"credentials = load_credentials(__import__('pathlib').Path({str(credentials_path)!r}))\n"
            "asyncio.run(run_simulation(options, credentials=credentials))\n"
        )
        devices = {d.device_id for home in build_fleet(2, seed=SEED) for d in home.devices}
        with Watcher(broker.port, topic="anxin/v1/homes/+/devices/+/status") as watcher:
            process = subprocess.Popen(
                [sys.executable, "-c", script],
                cwd=Path.cwd(),
                env={**os.environ, "PYTHONPATH": str(Path.cwd())},
            )
            try:
                assert watcher.wait_for(
                    lambda: all(watcher.statuses().get(d) == b"online" for d in devices)
                ), "devices did not come online"
            finally:
                process.kill()
                process.wait(timeout=10)
            assert watcher.wait_for(
                lambda: all(watcher.statuses().get(d) == b"offline" for d in devices)
            ), "wills did not fire"
        statuses = _retained_statuses(broker.port)
        assert {statuses[d] for d in devices} == {b"offline"}


class TestSamples:
    def test_contract_samples_replay_byte_for_byte(self, broker: Broker) -> None:
        samples = dict(load_samples(SAMPLES))
        with Watcher(broker.port, topic="anxin/v1/homes/sim-samples/devices/+/telemetry") as w:
            published = asyncio.run(
                replay_samples(
                    SAMPLES, host="127.0.0.1", port=broker.port, credentials=broker.credentials
                )
            )
            assert w.wait_for(lambda: len(w.telemetry()) >= len(samples))
            received = w.telemetry()
        assert published == len(samples)
        assert {topic.split("/")[5]: payload for topic, payload in received} == {
            f"sim-samples-{type_}": raw for type_, raw in samples.items()
        }
