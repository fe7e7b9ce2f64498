"""`anxin up` for the console's end-to-end test, and what the test does to it through its API
and its broker, as an operator and a device would.

The scenario's people and devices are provisioned through the admin API in a home of
their own, away from the simulated neighbourhood, so the worker the platform offers
the job to is known without depending on the simulation's random staff.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from anxin.testbed.process import ServerProcess, free_port
from devices.topics import telemetry_topic
from tests.integration.rig import anxin_executable

ADMIN_PASSWORD: Final = "e2e-admin-password"
PASSWORD: Final = "e2e-console-password"
HOME_ID: Final = "e2e-home"
HOME_LAT: Final = 22.6100
HOME_LON: Final = 113.6200
"""About 20 km from the simulated homes: nobody else's worker is within 3 km."""
WORKER_CODE: Final = "E2E-CARE-0001"


class AnxinUp:
    """`anxin up --simulate N` on free ports, its data in `data_dir`."""

    def __init__(self, data_dir: Path, *, homes: int) -> None:
        self.http_port = free_port()
        self.mqtt_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log = data_dir.parent / "anxin-up.log"
        self.process = ServerProcess(
            [
                anxin_executable(),
                "up",
                "--simulate",
                str(homes),
                "--http-port",
                str(self.http_port),
                "--mqtt-port",
                str(self.mqtt_port),
                "--data-dir",
                str(data_dir),
            ],
            log=self.log,
            env={**os.environ, "ANXIN_ADMIN_PASSWORD": ADMIN_PASSWORD},
        )
        self.api = httpx.Client(base_url=self.url, timeout=10)

    def start(self, timeout: float = 90) -> None:
        process = self.process.start()
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, self.log.read_text()
            try:
                if self.api.get("/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "anxin up never became healthy"
            time.sleep(0.3)

    def stop(self) -> None:
        self.api.close()
        self.process.stop()

    def token(self, username: str, password: str) -> str:
        answer = self.api.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def call(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.api.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()


class Scenario:
    """A home with an SOS button and a watch, its family, a dispatcher and a care worker
    nearby, all made through the provisioning API; `devices` holds their MQTT logins."""

    def __init__(self, up: AnxinUp) -> None:
        self.up = up
        admin = up.token("admin", ADMIN_PASSWORD)
        up.call(
            "POST",
            "/api/v1/homes",
            admin,
            {
                "home_id": HOME_ID,
                "lat": HOME_LAT,
                "lon": HOME_LON,
                "address": "8 Riverside Road, Zhongshan",
                "resident": {"name": "Wang Fang", "birth_year": 1941},
            },
        )
        self.devices: dict[str, str] = {}
        for device_id, kind in (("e2e-button", "sos"), ("e2e-watch", "vitals")):
            made = up.call(
                "POST",
                f"/api/v1/homes/{HOME_ID}/devices",
                admin,
                {"device_id": device_id, "type": kind, "room": "living"},
            )
            self.devices[device_id] = made["password"]
        up.call(
            "POST",
            "/api/v1/workers",
            admin,
            {
                "worker_id": "e2e-worker",
                "name": "Zhang Wei",
                "skills": ["medical", "wellbeing"],
                "credential_code": WORKER_CODE,
                "credential_expires": (date.today() + timedelta(days=365)).isoformat(),
                "lat": HOME_LAT + 0.004,  # about 450 m north
                "lon": HOME_LON,
                "on_shift": True,
                "username": "e2e-worker",
                "password": PASSWORD,
            },
        )
        up.call(
            "POST",
            "/api/v1/families",
            admin,
            {"username": "e2e-family", "password": PASSWORD, "home_ids": [HOME_ID]},
        )
        up.call(
            "POST",
            "/api/v1/dispatchers",
            admin,
            {"username": "e2e-dispatcher", "password": PASSWORD, "tier": 1},
        )
        self.admin = admin
        self._seq = 0

    def publish(self, device_id: str, readings: list[tuple[str, dict[str, Any], datetime]]) -> None:
        """Readings `(type, data, at)` sent as the device over MQTT, each acknowledged (QoS 1)."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
        )
        client.username_pw_set(device_id, self.devices[device_id])
        client.connect("127.0.0.1", self.up.mqtt_port)
        client.loop_start()
        try:
            topic = telemetry_topic(HOME_ID, device_id)
            for kind, data, at in readings:
                self._seq += 1
                payload = {"type": kind, "ts": at.isoformat(), "seq": self._seq, "data": data}
                client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()

    def publish_vitals(self, hours: int) -> None:
        """Calm hourly vitals over the last `hours` hours, so the family's charts have a line."""
        now = datetime.now(UTC)
        calm = {"spo2": 97, "resp_rate": 14, "temperature": 36.6, "systolic_bp": 128}
        self.publish(
            "e2e-watch",
            [
                ("vitals", {"heart_rate": 68 + hour % 7, **calm}, now - timedelta(hours=hour))
                for hour in range(hours, 0, -1)
            ],
        )

    def press_sos(self) -> None:
        self.publish("e2e-button", [("sos", {"action": "press"}, datetime.now(UTC))])

    def alert(self) -> dict[str, Any] | None:
        """The home's SOS alert, as the admin sees it."""
        alerts = self.up.call("GET", "/api/v1/alerts?limit=1000", self.admin)
        found = [a for a in alerts if a["home_id"] == HOME_ID and a["kind"] == "sos"]
        return found[0] if found else None
