"""The gateway end to end: devices → Mosquitto → gateway → InfluxDB and processing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from anxin.services import GatewayStack, build_gateway
from anxin.settings import Settings
from anxin.testbed.influxdb import InfluxDB
from anxin.testbed.process import ServerProcess, free_port
from devices.events import GatewayEvent, Reading
from devices.telemetry import TELEMETRY_TYPES
from gateway.deadletter import FileDeadLetters
from gateway.handoff import InProcessHandoff
from gateway.metrics import GatewayMetrics
from simulators.provision import provision
from simulators.samples import SAMPLES_HOME, replay_samples, samples_home
from tests.integration.rig import DATABASE, Device, Rig, anxin_executable, motion

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parent.parent / "contract" / "samples"


@pytest.fixture
def rig(tmp_path: Path, influxdb: InfluxDB) -> Iterator[Rig]:
    rig = Rig(tmp_path, influxdb)
    rig.passwords.update(provision(rig.registry, [samples_home(SAMPLES)]))
    for index in range(4):
        rig.add_device(f"pir-{index}", f"home-{index % 2 + 2}")
    mosquitto = rig.start_mosquitto()
    yield rig
    mosquitto.stop()


class InProcessGateway:
    def __init__(self, stack: GatewayStack, handoff: InProcessHandoff, letters: FileDeadLetters):
        self.stack = stack
        self.handed_on = handoff.subscribe()
        self.letters = letters

    def events(self) -> list[GatewayEvent]:
        events = []
        while not self.handed_on.empty():
            events.append(self.handed_on.get_nowait())
        return events


@contextlib.asynccontextmanager
async def running_gateway(
    rig: Rig, settings: Settings, handoff: InProcessHandoff | None = None
) -> AsyncIterator[InProcessGateway]:
    handoff = handoff or InProcessHandoff()
    letters = FileDeadLetters(settings.data_dir / "deadletter")
    stack = await build_gateway(
        settings,
        registry=rig.registry,
        handoff=handoff,
        dead_letters=letters,
        metrics=GatewayMetrics(CollectorRegistry()),
        mqtt_password=settings.mqtt.password.get_secret_value(),
        shared_subscription=True,
    )
    running = InProcessGateway(stack, handoff, letters)
    stack.start()
    try:
        await asyncio.wait_for(stack.gateway.connected.wait(), 10)
        yield running
    finally:
        await stack.stop()


@pytest.fixture
async def gateway(rig: Rig) -> AsyncIterator[InProcessGateway]:
    async with running_gateway(rig, rig.settings()) as running:
        yield running


async def until(condition: Callable[[], bool], within: float = 30) -> None:
    """Poll state that lives in other processes (InfluxDB, files) until it holds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def test_every_contract_sample_replayed_by_the_simulator_is_stored_and_handed_on(
    rig: Rig, gateway: InProcessGateway
) -> None:
    assert rig.mosquitto is not None
    acknowledged = await replay_samples(
        SAMPLES, host="127.0.0.1", port=rig.mosquitto.port, credentials=rig.passwords
    )
    assert acknowledged == len(TELEMETRY_TYPES)
    await until(lambda: all(rig.stored(kind) == 1 for kind in TELEMETRY_TYPES))
    handed = [event for event in gateway.events() if isinstance(event, Reading)]
    assert sorted(event.telemetry.type for event in handed) == sorted(TELEMETRY_TYPES)
    assert all(event.home_id == SAMPLES_HOME for event in handed)


async def test_a_reading_is_handed_on_without_waiting_for_its_store_batch(rig: Rig) -> None:
    """The store's batches linger to fill; an SOS must not wait for that."""
    lingering = {"url": rig.influxdb.url, "database": DATABASE, "linger_ms": 3000}
    async with running_gateway(rig, rig.settings(influx=lingering)) as gateway:
        device = Device(rig, "pir-0")
        device.publish(motion(1))
        await asyncio.to_thread(device.flush)
        async with asyncio.timeout(1.5):
            event = await gateway.handed_on.get()
        assert isinstance(event, Reading)
        assert event.device_id == "pir-0"
        assert rig.stored() == 0  # its batch is still lingering
        await until(lambda: rig.stored() == 1)
        device.close()


class FailsOnce(InProcessHandoff):
    """A processing hand-off that is down for its first batch (Kafka away, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def send(self, events: Sequence[GatewayEvent]) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("processing is down")
        await super().send(events)


async def test_readings_whose_hand_on_failed_are_handed_on_when_they_come_again(
    rig: Rig,
) -> None:
    """The gateway drops the connection on a failed hand-off, so the broker delivers
    what was not acknowledged again; it must not refuse those as duplicates of readings
    it decoded but never acknowledged (an SOS would never reach the detectors)."""
    handoff = FailsOnce()
    async with running_gateway(rig, rig.settings(), handoff) as gateway:
        device = Device(rig, "pir-0")
        for seq in range(20):
            device.publish(motion(seq))
        await asyncio.to_thread(device.flush)
        handed: set[int] = set()

        def all_handed() -> bool:
            handed.update(
                event.telemetry.seq for event in gateway.events() if isinstance(event, Reading)
            )
            return handed == set(range(20))

        await until(all_handed)
        assert handoff.failed
        await until(lambda: rig.stored() == 20)
        assert not list((rig.settings().data_dir / "deadletter").glob("*.jsonl"))
        device.close()


HOSTILE = [
    (b"{not json", "invalid_json"),
    (b"\xff\xfe\xfa", "invalid_json"),
    (b"[" * 3000, "invalid_json"),
    (b'{"type": "motion"}', "schema"),
    (b'{"type": "vitals", "ts": 1795392000000, "seq": 1, "data": {"spo2": 140}}', "schema"),
    (
        json.dumps(
            {
                "type": "motion",
                "ts": "2099-01-01T00:00:00Z",
                "seq": 1,
                "data": {"room": "hall", "motion": True},
            }
        ).encode(),
        "future_timestamp",
    ),
    (b" " * 20_000, "too_large"),
    (
        b'{"type":"motion","ts":1795392000000,"seq":1,"data":{"room":"x","motion":true},'
        b'"home_id":"elsewhere"}',
        "topic_mismatch",
    ),
]


async def test_a_flood_of_garbage_loses_no_valid_reading(
    rig: Rig, gateway: InProcessGateway
) -> None:
    devices = [Device(rig, f"pir-{index}") for index in range(4)]
    valid = 0
    for seq in range(3000):
        device = devices[seq % 4]
        device.publish(motion(seq))
        valid += 1
        garbage, _ = HOSTILE[seq % len(HOSTILE)]
        device.publish(garbage)
    # A device re-sending its latest reading is recognised as a duplicate.
    devices[0].publish(motion(2996))
    for device in devices:
        await asyncio.to_thread(device.flush)
        device.close()
    assert await asyncio.to_thread(rig.wait_stored, valid) == valid

    def all_letters_kept() -> bool:
        return len(gateway.letters.read()) >= 3000 + 1

    await until(all_letters_kept, within=10)
    reasons: Counter[str] = Counter(letter.reason for letter in gateway.letters.read())
    expected: Counter[str] = Counter(
        reason for seq in range(3000) for reason in [HOSTILE[seq % len(HOSTILE)][1]]
    )
    expected["duplicate"] += 1
    assert reasons == expected, reasons - expected
    big = next(letter for letter in gateway.letters.read() if letter.reason == "too_large")
    assert big.size == 20_000
    assert big.payload == b" " * 20_000
    assert big.topic.endswith("/telemetry")


async def test_readings_are_spooled_while_influxdb_is_down_and_all_arrive_after(
    rig: Rig, gateway: InProcessGateway
) -> None:
    rig.influxdb.stop()
    device = Device(rig, "pir-0")
    for seq in range(2000):
        device.publish(motion(seq))
    await asyncio.to_thread(device.flush)
    device.close()
    # Acknowledged by the gateway only once spooled: the spool holds them all.
    await until(lambda: gateway.stack.writer.spooled == 2000)
    assert gateway.stack.spool.bytes_used > 0
    await asyncio.to_thread(rig.influxdb.start)
    assert await asyncio.to_thread(rig.wait_stored, 2000) == 2000
    await until(lambda: gateway.stack.writer.replayed == 2000)


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "gateway exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("gateway never became healthy")


def test_killing_the_gateway_mid_stream_loses_nothing_and_stores_each_reading_once(
    rig: Rig,
) -> None:
    port = free_port()
    gateway = ServerProcess(
        [anxin_executable(), "gateway"], log=rig.root / "gateway.log", env=rig.environment(port)
    )
    wait_healthy(port, gateway.start())
    devices = [Device(rig, f"pir-{index}") for index in range(4)]
    total = 40_000
    for seq in range(total // 2):
        devices[seq % 4].publish(motion(seq))
    # Kill -9 while the gateway is working through the stream.
    deadline = time.monotonic() + 30
    while rig.stored() < 2000 and time.monotonic() < deadline:
        time.sleep(0.02)
    gateway.stop(signal.SIGKILL)
    stored_at_kill = rig.stored()
    assert stored_at_kill < total
    for seq in range(total // 2, total):
        devices[seq % 4].publish(motion(seq))
    for device in devices:
        device.flush()
        device.close()
    restarted = ServerProcess(
        [anxin_executable(), "gateway"], log=rig.root / "gateway2.log", env=rig.environment(port)
    )
    wait_healthy(port, restarted.start())
    try:
        assert rig.wait_stored(total, timeout=90) == total
        time.sleep(1)
        # Redelivered readings overwrite their own points: still exactly one each.
        assert rig.stored() == total
        rows = rig.influxdb.query("anxin", 'SELECT count(seq), min(seq), max(seq) FROM "motion"')
        assert rows[0][1:] == [total, 0, total - 1]
    finally:
        restarted.stop()
