"""The benchmark's deployment in miniature: registry, Mosquitto, InfluxDB, a gateway process.

Mosquitto runs on the password file, ACL and limits `broker.mosquitto` renders from the
registry, exactly as in production; the gateway is the real `anxin gateway` process
configured by `ANXIN_*` variables, so what is measured is what an operator runs.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import psutil  # type: ignore[import-untyped]
from sqlalchemy import create_engine, event

from anxin.bench.fleet import ROOMS, BenchDevice, fleet_ids
from anxin.testbed.influxdb import InfluxDB
from anxin.testbed.mosquitto import Mosquitto
from anxin.testbed.process import ServerProcess, answers, ensure_debian_package, free_port
from broker.access import ServiceAccount
from broker.mosquitto import MosquittoSettings, write_mosquitto_files
from devices.credentials import new_password
from devices.registry import Home
from devices.topics import TELEMETRY_FILTER
from gateway.mqtt import MqttClient
from records.database import migrate
from records.devices import DeviceRegistry

GATEWAY_USER: Final = "anxin-gateway"
SUBSCRIBER_USER: Final = "bench-mosquitto-sub"
"""A second service account: `use_username_as_clientid` would otherwise hand
`mosquitto_sub` the gateway's own session."""


class RigError(Exception):
    """A server or the gateway did not start, or stopped answering."""


def raise_open_files_limit(needed: int) -> None:
    """Let this process and its children (Mosquitto, publishers) hold `needed` sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RigError(f"{needed} open files needed; the hard limit is {hard} (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """A process's CPU seconds (user + system) and high-water RSS at one moment."""

    at: float
    cpu_s: float
    peak_rss_mb: float


def py_spy() -> str:
    """The py-spy sampling profiler beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RigError("--profile needs py-spy: pip install py-spy")
    return found


class GatewayProcess:
    """`anxin gateway` as a child process, with its CPU and memory watched."""

    def __init__(self, env: dict[str, str], log: Path, http_port: int) -> None:
        self.log = log
        self.http_port = http_port
        argv = [str(Path(sys.executable).parent / "anxin"), "gateway"]
        self._server = ServerProcess(argv, log=log, env=env)
        self._log_offset = log.stat().st_size if log.exists() else 0
        self.pid = 0
        self.started_at = 0.0
        self._profiler: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.pid = self._server.start().pid

    def profile(self, output: Path) -> None:
        """Sample the running gateway with py-spy until it exits (format from the suffix)."""
        formats = {".svg": "flamegraph", ".json": "speedscope"}
        argv = [py_spy(), "record", "--pid", str(self.pid), "--output", str(output)]
        argv += ["--format", formats.get(output.suffix, "raw"), "--rate", "250", "--nonblocking"]
        self._profiler = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def sample(self) -> ProcessSample:
        """CPU so far and peak RSS (VmHWM) of the gateway process."""
        try:
            process = psutil.Process(self.pid)
            times = process.cpu_times()
            cpu = float(times.user + times.system)
            peak = 0.0
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
        except (psutil.Error, OSError) as error:
            raise RigError(f"the gateway process is gone: {error}") from error
        return ProcessSample(time.monotonic(), cpu, peak)

    def alive(self) -> bool:
        process = self._server.process
        return process is not None and process.poll() is None

    def wait_logged(self, event_name: str, timeout_s: float = 60.0) -> ProcessSample:
        """Wait for a JSON log line of `event_name`; the sample taken when it was seen."""
        needle = f'"event": "{event_name}"'
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RigError(f"the gateway exited; see {self.log}")
            with self.log.open() as source:
                source.seek(self._log_offset)
                if needle in source.read():
                    return self.sample()
            time.sleep(0.005)
        raise RigError(f"no {event_name} from the gateway within {timeout_s:g} s; see {self.log}")

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        if answers(url, 200, alive=self.alive, timeout_s=timeout_s, interval_s=0.05):
            return
        if not self.alive():
            raise RigError(f"the gateway exited; see {self.log}")
        raise RigError(f"the gateway was not healthy within {timeout_s:g} s; see {self.log}")

    def metrics(self) -> str:
        response = httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=10)
        response.raise_for_status()
        return response.text

    def stop(self) -> None:
        """SIGTERM: the gateway writes what it took in, then exits (safe to call twice)."""
        self._server.stop()
        if self._profiler is not None:
            try:  # py-spy writes its output once the gateway has gone
                self._profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._profiler.kill()
                self._profiler.wait()


class BenchRig:
    """Temp registry, Mosquitto and InfluxDB for one benchmark run; `close()` stops all."""

    def __init__(self, root: Path, device_count: int) -> None:
        self.root = root
        self.device_count = device_count
        self.database_url = f"sqlite:///{root / 'registry.db'}"
        self.gateway_password = new_password()
        self.subscriber_password = new_password()
        self.devices: list[BenchDevice] = []
        self._registry: DeviceRegistry | None = None
        self.mosquitto: Mosquitto | None = None
        self.influxdb: InfluxDB | None = None
        self._gateways: list[GatewayProcess] = []
        self._subscribers: list[subprocess.Popen[bytes]] = []

    def provision(self) -> list[BenchDevice]:
        """Homes and devices in a fresh SQLite registry, each device with its own password."""
        engine = create_engine(self.database_url)

        @event.listens_for(engine, "connect")
        def _fast(connection: sqlite3.Connection, _record: object) -> None:
            # A throwaway registry: no need to fsync each of a thousand inserts.
            connection.execute("PRAGMA synchronous=OFF")

        migrate(engine)
        registry = DeviceRegistry(engine)
        for device_id, home_id, kind in fleet_ids(self.device_count):
            if kind == "motion":  # the first device of every home
                registry.add_home(Home(home_id=home_id, lat=22.54, lon=114.06))
            _, password = registry.add_device(
                device_id=device_id,
                home_id=home_id,
                type=kind,
                room=ROOMS[kind],
                report_interval_s=60,
            )
            self.devices.append(BenchDevice(device_id, home_id, kind, password))
        self._registry = registry
        engine.dispose()
        return self.devices

    def start_servers(self, *, max_inflight: int | None = None) -> None:
        """Mosquitto (production settings; `max_inflight` to match a gateway's window) and
        InfluxDB."""
        assert self._registry is not None, "provision() first"
        raise_open_files_limit(self.device_count + 1024)
        files = write_mosquitto_files(
            self.root / "mosquitto-files",
            self._registry.devices(),
            [
                ServiceAccount.with_password(GATEWAY_USER, self.gateway_password),
                ServiceAccount.with_password(SUBSCRIBER_USER, self.subscriber_password),
            ],
            settings=MosquittoSettings()
            if max_inflight is None
            else MosquittoSettings(max_inflight_messages=max_inflight),
            persistence_location=self.root / "mosquitto-data",
        )
        (self.root / "mosquitto-data").mkdir(exist_ok=True)
        config = files.conf_file.read_text()
        if os.geteuid() == 0:
            # As root Mosquitto drops to its own user, which cannot enter our temp dir.
            config = f"user root\n{config}"
        workdir = self.root / "mosquitto"
        workdir.mkdir()
        self.mosquitto = Mosquitto(workdir, config)
        self.mosquitto.start()
        self.influxdb = InfluxDB(self.root / "influxdb")
        self.influxdb.start()

    @property
    def broker_port(self) -> int:
        assert self.mosquitto is not None
        return self.mosquitto.port

    def gateway_env(
        self, *, database: str, http_port: int, tuning: dict[str, str]
    ) -> dict[str, str]:
        assert self.mosquitto is not None
        assert self.influxdb is not None
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("ANXIN_")  # only what the bench sets applies
        }
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "ANXIN_DATA_DIR": str(self.root / "gateway-data"),
                "ANXIN_DATABASE__URL": self.database_url,
                "ANXIN_MQTT__URL": self.mosquitto.url,
                "ANXIN_MQTT__USERNAME": GATEWAY_USER,
                "ANXIN_MQTT__PASSWORD": self.gateway_password,
                "ANXIN_MQTT__CLIENT_ID": GATEWAY_USER,
                "ANXIN_INFLUX__URL": self.influxdb.url,
                "ANXIN_INFLUX__DATABASE": database,
                "ANXIN_HTTP__PORT": str(http_port),
                "ANXIN_LOG_FORMAT": "json",
                **tuning,
            }
        )
        return env

    def gateway(self, *, database: str, tuning: dict[str, str], name: str) -> GatewayProcess:
        """A gateway process, not yet started, storing into `database`; `tuning`: ANXIN_*."""
        port = free_port()
        process = GatewayProcess(
            self.gateway_env(database=database, http_port=port, tuning=tuning),
            self.root / f"{name}.log",
            port,
        )
        self._gateways.append(process)
        return process

    def create_database(self, database: str) -> None:
        """Make the database now, so counting it before the gateway starts reads zero."""
        assert self.influxdb is not None
        response = httpx.post(
            f"{self.influxdb.url}/query", data={"q": f'CREATE DATABASE "{database}"'}, timeout=30
        )
        response.raise_for_status()

    def stored(self, database: str, measurements: Sequence[str]) -> int:
        """Points stored in `database` over `measurements`, counted by InfluxDB itself."""
        assert self.influxdb is not None
        sources = ",".join(f'"{name}"' for name in measurements)
        rows = self.influxdb.query(database, f'SELECT count("seq") FROM {sources}')
        return sum(int(row[1]) for row in rows)  # type: ignore[call-overload]

    # mosquitto_sub, the broker's own C client, as the yardstick

    def subscriber_argv(self, count: int) -> list[str]:
        binary = ensure_debian_package("mosquitto-clients", "mosquitto_sub")
        return [
            binary,
            "-h",
            "127.0.0.1",
            "-p",
            str(self.broker_port),
            "-u",
            SUBSCRIBER_USER,
            "-P",
            self.subscriber_password,
            "-i",
            SUBSCRIBER_USER,
            "-c",
            "-q",
            "1",
            "-t",
            TELEMETRY_FILTER,
            "-C",
            str(count),
        ]

    def run_subscriber(self, count: int, timeout_s: float) -> tuple[float, float]:
        """Run `mosquitto_sub` until it has `count` messages: (wall seconds, CPU seconds)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        process = subprocess.Popen(
            self.subscriber_argv(count),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._subscribers.append(process)
        try:
            _, errors = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RigError(
                f"mosquitto_sub did not receive {count} messages in {timeout_s:g} s"
            ) from None
        wall = time.monotonic() - started
        if process.returncode != 0:
            raise RigError(f"mosquitto_sub failed: {errors.decode(errors='replace')[:300]}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return wall, cpu

    def drop_session(self, username: str) -> None:
        """End a service account's persistent session (MQTT 3.1.1: connect with a clean
        session), so the broker stops queueing messages for it."""
        password = {
            GATEWAY_USER: self.gateway_password,
            SUBSCRIBER_USER: self.subscriber_password,
        }[username]

        async def clean() -> None:
            client = MqttClient(
                host="127.0.0.1",
                port=self.broker_port,
                client_id=username,
                username=username,
                password=password,
                clean_session=True,
            )
            await client.connect()
            await client.disconnect()

        asyncio.run(clean())

    def make_subscriber_session(self) -> None:
        """Connect `mosquitto_sub` once so the broker keeps its subscription while it is away."""
        argv = [*self.subscriber_argv(1), "-W", "1"]  # exits after 1 s with nothing received
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def close(self, *, keep: bool = False) -> None:
        """Stop everything started here, whatever state it is in; delete the temp dir unless
        `keep`."""
        for gateway in self._gateways:
            gateway.stop()
        for process in self._subscribers:
            if process.poll() is None:
                process.kill()
                process.wait()
        for server in (self.mosquitto, self.influxdb):
            if server is not None:
                server.stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)
