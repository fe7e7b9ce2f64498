"""A real deployment in miniature for gateway tests: registry, Mosquitto, InfluxDB.

Mosquitto runs on the password file and ACL that `broker.mosquitto` generates
from the registry, so devices log in exactly as they would in production.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from anxin.settings import Settings
from anxin.testbed.influxdb import InfluxDB
from anxin.testbed.mosquitto import Mosquitto
from broker.access import ServiceAccount
from broker.mosquitto import write_mosquitto_files
from devices.registry import Home
from devices.telemetry import TelemetryType
from devices.topics import telemetry_topic
from records.devices import open_registry

GATEWAY_USER: Final = "anxin-gateway"
GATEWAY_PASSWORD: Final = "gateway-test-secret"
DATABASE: Final = "anxin"
T0: Final = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Rig:
    def __init__(self, root: Path, influxdb: InfluxDB) -> None:
        self.root = root
        self.influxdb = influxdb
        self.database_url = f"sqlite:///{root / 'registry.db'}"
        self.registry = open_registry(self.database_url)
        self.passwords: dict[str, str] = {}
        self.homes: dict[str, str] = {}
        self.mosquitto: Mosquitto | None = None

    def add_device(self, device_id: str, home_id: str, type: TelemetryType = "motion") -> None:
        if self.registry.home(home_id) is None:
            self.registry.add_home(Home(home_id=home_id, lat=22.5, lon=113.4))
        _, password = self.registry.add_device(
            device_id=device_id, home_id=home_id, type=type, room="living"
        )
        self.passwords[device_id] = password
        self.homes[device_id] = home_id

    def start_mosquitto(self) -> Mosquitto:
        files = write_mosquitto_files(
            self.root / "mosquitto-files",
            self.registry.devices(),
            [ServiceAccount.with_password(GATEWAY_USER, GATEWAY_PASSWORD)],
            persistence_location=self.root / "mosquitto-data",
        )
        config = files.conf_file.read_text()
        if os.geteuid() == 0:
            # As root Mosquitto drops to its own user, which cannot enter pytest's temp dirs.
            config = f"user root\n{config}"
        workdir = self.root / "mosquitto"
        workdir.mkdir(exist_ok=True)
        self.mosquitto = Mosquitto(workdir, config)
        self.mosquitto.start()
        return self.mosquitto

    def settings(self, **overrides: object) -> Settings:
        assert self.mosquitto is not None
        values: dict[str, object] = {
            "data_dir": self.root / "gateway-data",
            "database": {"url": self.database_url},
            "mqtt": {
                "url": self.mosquitto.url,
                "username": GATEWAY_USER,
                "password": GATEWAY_PASSWORD,
                "client_id": GATEWAY_USER,
            },
            "influx": {"url": self.influxdb.url, "database": DATABASE, "linger_ms": 20},
            "http": {"port": 0},
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    def environment(self, http_port: int) -> dict[str, str]:
        """The same settings as `ANXIN_*` variables, for a gateway run as a process."""
        assert self.mosquitto is not None
        return {
            **os.environ,
            "ANXIN_DATA_DIR": str(self.root / "gateway-data"),
            "ANXIN_DATABASE__URL": self.database_url,
            "ANXIN_MQTT__URL": self.mosquitto.url,
            "ANXIN_MQTT__USERNAME": GATEWAY_USER,
            "ANXIN_MQTT__PASSWORD": GATEWAY_PASSWORD,
            "ANXIN_MQTT__CLIENT_ID": GATEWAY_USER,
            "ANXIN_INFLUX__URL": self.influxdb.url,
            "ANXIN_INFLUX__DATABASE": DATABASE,
            "ANXIN_HTTP__PORT": str(http_port),
            "ANXIN_LOG_FORMAT": "json",
        }

    def stored(self, measurement: str = "motion") -> int:
        return self.influxdb.count(DATABASE, measurement)

    def wait_stored(self, expected: int, measurement: str = "motion", timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        count = self.stored(measurement)
        while count < expected and time.monotonic() < deadline:
            time.sleep(0.2)
            count = self.stored(measurement)
        return count


def anxin_executable() -> str:
    return str(Path(sys.executable).parent / "anxin")


def motion(seq: int, *, at: datetime | None = None) -> bytes:
    moment = at or T0 + timedelta(seconds=seq)
    return json.dumps(
        {
            "type": "motion",
            "ts": moment.isoformat().replace("+00:00", "Z"),
            "seq": seq,
            "data": {"room": "kitchen", "motion": seq % 2 == 0},
        }
    ).encode()


class Device:
    """A device's own MQTT connection (paho, its credentials, QoS 1)."""

    def __init__(self, rig: Rig, device_id: str) -> None:
        assert rig.mosquitto is not None
        self.topic = telemetry_topic(rig.homes[device_id], device_id)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
        )
        self.client.username_pw_set(device_id, rig.passwords[device_id])
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", rig.mosquitto.port)
        self.client.loop_start()
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def publish(self, payload: bytes, topic: str | None = None) -> None:
        self._pending.append(self.client.publish(topic or self.topic, payload, qos=1))

    def flush(self, timeout: float = 60) -> None:
        """Wait until the broker has acknowledged everything published."""
        deadline = time.monotonic() + timeout
        for info in self._pending:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
            assert info.is_published()
        self._pending.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def readings(count: int) -> Iterator[bytes]:
    return (motion(seq) for seq in range(count))
