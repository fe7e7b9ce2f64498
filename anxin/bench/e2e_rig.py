"""The end-to-end bench's moving parts: `anxin up`, the background simulator, the API, a button.

Everything is the real thing an operator runs: `anxin up` and `anxin simulate` are
child processes of the installed console script, the dispatcher is made through the
admin API and logs in with the password form, and the SOS button is a device with its
own MQTT credentials publishing QoS 1 like any other.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import httpx
import orjson
import paho.mqtt.client as mqtt
import psutil  # type: ignore[import-untyped]
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from sqlalchemy import event

from anxin.bench.figures import counter_values
from anxin.simulation import provision_fleet
from anxin.testbed.process import ServerProcess, answers, free_port
from devices.registry import Home
from devices.topics import telemetry_topic
from records.database import migrate, open_engine
from records.devices import DeviceRegistry
from simulators.fleet import ZHONGSHAN, Role

BENCH_HOME: Final = "bench-e2e"
BENCH_DEVICE: Final = "bench-e2e-sos"
DISPATCHER: Final = "bench-dispatcher"


class BenchError(Exception):
    """A process did not start, stopped answering, or a step of the bench failed."""


def child_env(**extra: str) -> dict[str, str]:
    """This environment without `ANXIN_*` settings (a child is configured by flags), plus
    `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANXIN_")}
    return {**env, **extra}


def anxin_argv(*args: str) -> list[str]:
    """The installed `anxin` console script beside this Python."""
    return [str(Path(sys.executable).parent / "anxin"), *args]


def provision(data_dir: Path, *, homes: int, roles: Sequence[Role], seed: int) -> tuple[Path, str]:
    """Background homes and the bench home in `anxin up`'s SQLite file, before it starts.

    Returns the simulator's credentials file and the SOS button's password. Provisioned
    before start-up so the processors' home directory and the broker know every device
    from the first message, as in a deployment that has been running a while.
    """
    engine = open_engine(f"sqlite:///{(data_dir / 'anxin.db').resolve()}")

    @event.listens_for(engine, "connect")
    def _fast(connection: sqlite3.Connection, _record: object) -> None:
        # One fsync per device would make 5,000 homes take a minute; anxin up opens
        # the file afresh with its own (durable) settings.
        connection.execute("PRAGMA synchronous=OFF")

    migrate(engine)
    registry = DeviceRegistry(engine)
    credentials = data_dir / "simulator-credentials.json"
    if homes:
        provision_fleet(registry, homes=homes, seed=seed, credentials_file=credentials, roles=roles)
    registry.add_home(
        Home(
            home_id=BENCH_HOME,
            address="Benchmark home",
            lat=ZHONGSHAN[0],
            lon=ZHONGSHAN[1],
            timezone="Asia/Shanghai",
        )
    )
    _, password = registry.add_device(
        device_id=BENCH_DEVICE, home_id=BENCH_HOME, type="sos", room="living"
    )
    engine.dispose()
    return credentials, password


class Child:
    """A child process with its output in a log file, its CPU time readable."""

    def __init__(self, argv: list[str], *, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._server = ServerProcess(argv, log=log, env=env)
        self.pid = 0

    def start(self) -> None:
        self.pid = self._server.start().pid

    def alive(self) -> bool:
        process = self._server.process
        return process is not None and process.poll() is None

    def cpu_s(self) -> float:
        """User + system CPU seconds so far."""
        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error as error:
            raise BenchError(f"process {self.pid} is gone; see {self.log}") from error
        return float(times.user + times.system)

    def peak_rss_mb(self) -> float:
        """High-water resident memory (VmHWM), MB."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError as error:
            raise BenchError(f"process {self.pid} is gone; see {self.log}") from error
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `timeout_s` (safe to call twice)."""
        process = self._server.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._server.kill()


class Up(Child):
    """`anxin up` on free ports with its own data dir and a known admin password."""

    def __init__(self, root: Path, data_dir: Path, admin_password: str) -> None:
        self.http_port = free_port()
        self.mqtt_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        env = child_env(ANXIN_ADMIN_PASSWORD=admin_password)
        argv = anxin_argv(
            "up",
            f"--http-port={self.http_port}",
            f"--mqtt-port={self.mqtt_port}",
            f"--data-dir={data_dir}",
        )
        super().__init__(argv, log=root / "up.log", env=env)

    def wait_healthy(self, timeout_s: float) -> None:
        if answers(f"{self.base_url}/healthz", 200, alive=self.alive, timeout_s=timeout_s):
            return
        if not self.alive():
            raise BenchError(f"anxin up exited; see {self.log}")
        raise BenchError(f"anxin up was not healthy within {timeout_s:g} s; see {self.log}")

    def metrics(self) -> str:
        response = httpx.get(f"{self.base_url}/metrics", timeout=10)
        response.raise_for_status()
        return response.text

    def online_devices(self) -> int:
        """Devices that have announced themselves `online` through the gateway."""
        changes = counter_values(self.metrics(), "anxin_device_status_changes", "status")
        return int(changes.get("online", 0))

    def received(self) -> int:
        """MQTT messages the gateway has received so far."""
        return int(sum(counter_values(self.metrics(), "anxin_mqtt_messages_received").values()))


class Api:
    """The HTTP calls the bench makes, as the admin and then as a dispatcher."""

    def __init__(self, base_url: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=30)
        self._token = ""
        self._login: tuple[str, str] = ("", "")

    def login(self, username: str, password: str) -> str:
        response = self._client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        if response.status_code != 200:
            raise BenchError(f"login as {username}: {response.status_code} {response.text}")
        self._token = str(response.json()["access_token"])
        self._login = (username, password)
        return self._token

    def create_dispatcher(self, username: str, password: str) -> None:
        response = self._post(
            "/api/v1/dispatchers", json={"username": username, "password": password, "tier": 1}
        )
        if response.status_code != 201:
            raise BenchError(f"creating the dispatcher: {response.status_code} {response.text}")

    def resolve(self, alert_id: str) -> None:
        response = self._post(f"/api/v1/alerts/{alert_id}/resolve", json={"reason": "bench"})
        if response.status_code == 401:  # the access token ran out: log in again
            self.login(*self._login)
            response = self._post(f"/api/v1/alerts/{alert_id}/resolve", json={"reason": "bench"})
        if response.status_code != 200:
            raise BenchError(f"resolving {alert_id}: {response.status_code} {response.text}")

    def open_alerts(self, home_id: str) -> list[str]:
        """Ids of the home's alerts still open (to clear up after a press that went missing)."""
        response = self._client.get(
            "/api/v1/alerts",
            params={"status": "open", "limit": 1000},
            headers={"Authorization": f"Bearer {self._token}"},
        )
        response.raise_for_status()
        items = response.json()
        return [str(item["alert_id"]) for item in items if item.get("home_id") == home_id]

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, *, json: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"}
        return self._client.post(path, json=json, headers=headers)


class SosButton:
    """The bench home's panic button: its own MQTT connection, QoS 1, increasing `seq`."""

    def __init__(self, port: int, password: str) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=BENCH_DEVICE, protocol=mqtt.MQTTv311
        )
        self._client.username_pw_set(BENCH_DEVICE, password)
        self._client.on_publish = self._on_publish
        self._port = port
        self._topic = telemetry_topic(BENCH_HOME, BENCH_DEVICE)
        self._seq = 0
        self.acked: dict[int, float] = {}
        """PUBACK arrival (perf_counter) by message id."""

    def connect(self) -> None:
        code = self._client.connect("127.0.0.1", self._port, keepalive=60)
        if code != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise BenchError(f"the SOS button could not connect: {mqtt.error_string(code)}")
        self._client.loop_start()

    def press(self) -> int:
        """Publish one press stamped now; returns its message id."""
        self._seq += 1
        payload = {
            "type": "sos",
            "ts": int(time.time() * 1000),
            "seq": self._seq,
            "data": {"action": "press"},
        }
        info = self._client.publish(self._topic, orjson.dumps(payload), qos=1)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise BenchError(f"publish failed: {mqtt.error_string(info.rc)}")
        return info.mid

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_publish(self, _client: object, _userdata: object, mid: int, *_rest: object) -> None:
        self.acked[mid] = time.perf_counter()
