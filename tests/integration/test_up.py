"""`anxin up`: the whole thing in one process, used the way a device and an operator would."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine

from anxin.testbed.process import ServerProcess, free_port
from devices.registry import Home
from devices.telemetry import TELEMETRY_TYPES
from devices.topics import telemetry_topic
from gateway.deadletter import DeadLetter, FileDeadLetters
from gateway.localstore import FILE_NAME, LocalStore
from records.alerts import AlertStore
from records.devices import DeviceRegistry, open_registry
from tests.integration.rig import anxin_executable

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parent.parent / "contract" / "samples"


class Up:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.http_port = free_port()
        self.mqtt_port = free_port()
        self.process = ServerProcess(
            [
                anxin_executable(),
                "up",
                "--simulate",
                "2",
                "--http-port",
                str(self.http_port),
                "--mqtt-port",
                str(self.mqtt_port),
                "--data-dir",
                str(data_dir),
            ],
            log=data_dir.parent / "up.log",
        )

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.http_port}{path}", timeout=5)

    def metric(self, name: str) -> float:
        total = 0.0
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    data_dir = tmp_path / "data"
    running = Up(data_dir)
    process = running.process.start()
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp_path / "up.log").read_text()
        try:
            if running.get("/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "anxin up never became healthy"
        time.sleep(0.2)
    yield running
    running.process.stop()


def device(port: int, device_id: str, password: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311)
    client.username_pw_set(device_id, password)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_up_stores_what_devices_send_and_keeps_what_it_refuses(up: Up) -> None:
    registry_engine = create_engine(f"sqlite:///{up.data_dir / 'anxin.db'}")
    registry = DeviceRegistry(registry_engine)
    registry.add_home(Home(home_id="home-x", lat=22.5, lon=113.4))
    _, password_a = registry.add_device(device_id="dev-a", home_id="home-x", type="vitals")
    registry.add_device(device_id="dev-b", home_id="home-x", type="vitals")

    client = device(up.mqtt_port, "dev-a", password_a)
    try:
        for kind in TELEMETRY_TYPES:
            info = client.publish(
                telemetry_topic("home-x", "dev-a"), (SAMPLES / f"{kind}.json").read_bytes(), qos=1
            )
            info.wait_for_publish(5)
        # Speaking for another device is dropped by the broker and kept as evidence.
        client.publish(
            telemetry_topic("home-x", "dev-b"), b'{"spoof": true}', qos=1
        ).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()

    async def stored() -> dict[str, int]:
        store = LocalStore(up.data_dir / FILE_NAME)
        try:
            return {kind: await store.count(kind) for kind in TELEMETRY_TYPES}
        finally:
            await store.aclose()

    deadline = time.monotonic() + 60
    while (counts := asyncio.run(stored())) and not all(counts.values()):
        assert time.monotonic() < deadline, counts
        time.sleep(0.3)

    def spoofed() -> list[DeadLetter]:
        letters = FileDeadLetters(up.data_dir / "deadletter").read()
        return [letter for letter in letters if letter.payload == b'{"spoof": true}']

    deadline = time.monotonic() + 60
    while not (spoof := spoofed()):
        assert time.monotonic() < deadline, "the refused publish was not kept"
        time.sleep(0.2)
    assert [letter.reason for letter in spoof] == ["topic_mismatch"]
    assert spoof[0].topic == telemetry_topic("home-x", "dev-b")
    assert up.metric('anxin_telemetry_rejected_total{reason="topic_mismatch"}') == 1

    # The SOS press among the samples became an alert, stored with its evidence.
    alerts = AlertStore(registry_engine)
    deadline = time.monotonic() + 60
    while not (sos := [a for a in alerts.recent() if (a.home_id, a.kind) == ("home-x", "sos")]):
        assert time.monotonic() < deadline, "the SOS press opened no alert"
        time.sleep(0.2)
    assert sos[0].status == "open"
    assert [(e.device_id, e.type) for e in sos[0].evidence] == [("dev-a", "sos")]


def test_up_runs_a_simulated_neighbourhood_and_stops_cleanly(up: Up) -> None:
    deadline = time.monotonic() + 60
    # Every simulated device announces itself online through the broker and gateway.
    while up.metric('anxin_device_status_changes_total{status="online"}') < 20:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert (up.data_dir / "simulator-credentials.json").stat().st_mode & 0o777 == 0o600
    # The neighbourhood has people: demo logins that open the API, and workers on duty.
    logins_file = up.data_dir / "demo-logins.json"
    while not logins_file.exists():  # written once the people are provisioned
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert logins_file.stat().st_mode & 0o777 == 0o600
    logins = json.loads(logins_file.read_text())
    assert {"dispatcher", "family", "worker-1", "worker-5"} <= set(logins)
    for username in ("dispatcher", "family", "worker-1"):
        token = httpx.post(
            f"http://127.0.0.1:{up.http_port}/api/v1/auth/token",
            data={"username": username, "password": logins[username]},
            timeout=10,
        )
        assert token.status_code == 200, token.text
        assert token.json()["role"] == username.split("-")[0]
    process = up.process.process
    assert process is not None
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


async def test_a_gateway_whose_subscription_is_refused_keeps_retrying_not_pretending(
    tmp_path: Path,
) -> None:
    """amqtt refuses `$share/...`: the gateway must not report itself connected."""
    from prometheus_client import CollectorRegistry

    from anxin.services import build_gateway
    from anxin.settings import Settings
    from broker.access import ServiceAccount
    from broker.embedded import EmbeddedBroker
    from gateway.handoff import InProcessHandoff
    from gateway.metrics import GatewayMetrics

    registry = open_registry(f"sqlite:///{tmp_path / 'r.db'}")
    broker = EmbeddedBroker(
        host="127.0.0.1",
        port=0,
        directory=registry,
        accounts=[ServiceAccount.with_password("anxin-gateway", "pw")],
    )
    await broker.start()
    settings = Settings(data_dir=tmp_path, mqtt={"url": broker.url})
    stack = await build_gateway(
        settings,
        registry=registry,
        handoff=InProcessHandoff(),
        dead_letters=FileDeadLetters(tmp_path / "dl"),
        metrics=GatewayMetrics(CollectorRegistry()),
        mqtt_password="pw",
        shared_subscription=True,
    )
    stack.start()
    try:
        await asyncio.sleep(2)
        assert not stack.gateway.connected.is_set()
        assert stack.task is not None
        assert not stack.task.done()
    finally:
        await stack.stop()
        await broker.stop()
