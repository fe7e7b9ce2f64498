"""`anxin api` in a production shape: detections from Kafka (Tansu) become alerts in SQL."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from anxin.testbed.process import ServerProcess, free_port
from anxin.testbed.tansu import Tansu
from devices.registry import Home
from processors.detection import Detection
from records.alerts import AlertStore
from records.database import open_engine
from records.devices import open_registry
from tests.integration.rig import anxin_executable

pytestmark = pytest.mark.integration


async def produce(bootstrap: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait("anxin.detections", value, key=b"h1")
    finally:
        await producer.stop()


def test_detections_on_kafka_open_alerts_once(tansu: Tansu, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'anxin.db'}"
    registry = open_registry(database_url)
    registry.add_home(Home(home_id="h1", lat=22.5, lon=113.4))
    http_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    env.update(
        {
            "ANXIN_KAFKA__BOOTSTRAP": tansu.bootstrap,
            "ANXIN_DATABASE__URL": database_url,
            "ANXIN_MQTT__URL": f"mqtt://127.0.0.1:{free_port()}",  # nobody: offers wait
        }
    )
    api = ServerProcess(
        [anxin_executable(), "api", "--http-port", str(http_port), "--data-dir", str(tmp_path)],
        log=tmp_path / "api.log",
        env=env,
    )
    detection = Detection(
        detection_id="det-1",
        home_id="h1",
        kind="smoke",
        severity="critical",
        service="medical",
        at=datetime.now(UTC),
        summary="smoke alarm in the kitchen",
    )
    process = api.start()
    engine = open_engine(database_url)
    try:
        value = detection.model_dump_json().encode()
        asyncio.run(produce(tansu.bootstrap, [value, value, b"garbage"]))  # a redelivery too
        store = AlertStore(engine)
        deadline = time.monotonic() + 60
        while not store.recent():
            assert process.poll() is None, (tmp_path / "api.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        health = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=5)
        assert health.status_code == 200
        time.sleep(1)  # the redelivered copy has been consumed by now
        [alert] = store.recent()
        assert (alert.kind, alert.status) == ("smoke", "open")
        assert [t.event for t in alert.history] == ["opened"]
    finally:
        api.stop()
        engine.dispose()
    assert process.returncode == 0
