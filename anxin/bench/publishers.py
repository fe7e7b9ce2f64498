"""Publisher processes: every simulated device on its own MQTT connection, QoS 1, pipelined.

Each process runs one asyncio loop holding its share of the devices, one
`gateway.mqtt.MqttClient` connection each (client id = username = device id, its own
password). A device keeps `window` QoS 1 publishes outstanding at once instead of
awaiting each PUBACK before the next, as a device flushing its local buffer after an
outage would. Measured here (one process, 500 devices, 100k readings into the bench's
Mosquitto): 83k msg/s at 11.7 us CPU per message, against 27k msg/s at 35.7 us for the
simulator's paho-based `simulators.publisher.Publisher`.

The parent drives the processes over pipes: each connects all its devices and says
"ready"; on "go" it publishes (a fixed number of readings per device, or for a number of
seconds), waits for every PUBACK, reports, disconnects and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Final

from anxin.bench.fleet import BenchDevice, Clock, render
from gateway.mqtt import MqttClient, MqttError

_CONNECTING: Final = 64
"""Connections opened at once by one process (each costs the broker a password hash)."""


class PublisherError(Exception):
    """A publisher process could not connect its devices or died."""


@dataclass(frozen=True, slots=True)
class PublishJob:
    """One process's work: its devices and either per-device quotas or a duration."""

    host: str
    port: int
    devices: Sequence[BenchDevice]
    quotas: Sequence[int] | None
    seconds: float | None
    window: int
    interval_s: float = 0.0
    """Pace each device to one reading per `interval_s` (0: as fast as PUBACKs come)."""


@dataclass(slots=True)
class PublishTally:
    """What one process (or all, summed) published: `acked` got the broker's PUBACK."""

    sent: int = 0
    acked: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    first_error: str = ""

    def add(self, other: PublishTally) -> None:
        self.sent += other.sent
        self.acked += other.acked
        self.failed += other.failed
        self.seconds = max(self.seconds, other.seconds)
        self.cpu_s += other.cpu_s
        self.first_error = self.first_error or other.first_error


# --- inside a publisher process -------------------------------------------------------


async def _publish_device(
    client: MqttClient,
    device: BenchDevice,
    quota: int | None,
    deadline: float | None,
    window: int,
    tally: PublishTally,
    *,
    interval_s: float,
    first_at: float,
) -> None:
    clock = Clock()
    due = first_at
    topic = device.topic
    kind = device.kind
    remaining = quota if quota is not None else -1
    monotonic = time.monotonic
    wall_ms = time.time_ns

    async def pipe() -> None:
        nonlocal remaining, due
        while True:
            if interval_s:
                wait = due - monotonic()
                due += interval_s
                if wait > 0:
                    await asyncio.sleep(wait)
            if deadline is None:
                if remaining <= 0:
                    return
                remaining -= 1
            elif monotonic() >= deadline:
                return
            ts, seq = clock.next(wall_ms() // 1_000_000)
            tally.sent += 1
            try:
                await client.publish(topic, render(kind, ts, seq), qos=1)
            except MqttError as error:
                tally.failed += 1
                tally.first_error = tally.first_error or f"{device.device_id}: {error}"
                return
            tally.acked += 1

    await asyncio.gather(*(pipe() for _ in range(window)))


async def _connect(job: PublishJob) -> list[MqttClient]:
    gate = asyncio.Semaphore(_CONNECTING)

    async def one(device: BenchDevice) -> MqttClient:
        client = MqttClient(
            host=job.host,
            port=job.port,
            client_id=device.device_id,
            username=device.device_id,
            password=device.password,
            clean_session=True,
            keepalive=60,
        )
        async with gate:
            await client.connect(timeout=30)
        return client

    return list(await asyncio.gather(*(one(device) for device in job.devices)))


async def _serve(job: PublishJob, pipe: Connection) -> None:
    clients = await _connect(job)
    try:
        pipe.send(("ready", len(clients)))
        command = await asyncio.to_thread(pipe.recv)
        if command != "go":
            return
        tally = PublishTally()
        cpu, started = time.process_time(), time.monotonic()
        deadline = None if job.seconds is None else started + job.seconds
        quotas = job.quotas or [0] * len(clients)
        # Paced devices start spread over one interval, not all in the same instant.
        spread = job.interval_s / max(len(clients), 1)
        await asyncio.gather(
            *(
                _publish_device(
                    client,
                    device,
                    quota if job.quotas else None,
                    deadline,
                    job.window,
                    tally,
                    interval_s=job.interval_s,
                    first_at=started + index * spread,
                )
                for index, (client, device, quota) in enumerate(
                    zip(clients, job.devices, quotas, strict=True)
                )
            )
        )
        tally.seconds = time.monotonic() - started
        tally.cpu_s = time.process_time() - cpu
        pipe.send(("done", tally))
    finally:
        await asyncio.gather(*(client.disconnect() for client in clients), return_exceptions=True)


def _process_main(job: PublishJob, pipe: Connection) -> None:
    # Ctrl-C reaches the whole process group: the parent decides when children stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_serve(job, pipe))
    except Exception as error:  # reported to the parent, which raises it there
        with contextlib.suppress(OSError):
            pipe.send(("error", f"{type(error).__name__}: {error}"))


# --- the parent's handle --------------------------------------------------------------


class Publishers:
    """A set of publisher processes for one phase of a benchmark."""

    def __init__(self, jobs: Sequence[PublishJob]) -> None:
        self._jobs = list(jobs)
        self._processes: list[BaseProcess] = []
        self._pipes: list[Connection] = []

    def start(self, timeout_s: float = 120.0) -> int:
        """Spawn the processes; return once every device is connected (the count)."""
        context = multiprocessing.get_context("spawn")
        for job in self._jobs:
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_process_main, args=(job, theirs), name="anxin-bench-publisher"
            )
            process.start()
            theirs.close()
            self._processes.append(process)
            self._pipes.append(ours)
        connected = 0
        for pipe in self._pipes:
            connected += int(self._receive(pipe, "ready", timeout_s))  # type: ignore[call-overload]
        return connected

    def go(self) -> None:
        for pipe in self._pipes:
            pipe.send("go")

    def wait(self, timeout_s: float) -> PublishTally:
        """Every process's tally, summed, once all have published and been acknowledged."""
        total = PublishTally()
        for pipe in self._pipes:
            tally = self._receive(pipe, "done", timeout_s)
            assert isinstance(tally, PublishTally)
            total.add(tally)
        for process in self._processes:
            process.join(timeout=30)
        return total

    def stop(self) -> None:
        """End every process still running (safe to call twice, and after `wait`)."""
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in self._pipes:
            pipe.close()
        self._processes.clear()
        self._pipes.clear()

    @staticmethod
    def _receive(pipe: Connection, expected: str, timeout_s: float) -> object:
        if not pipe.poll(timeout_s):
            raise PublisherError(f"a publisher process said nothing for {timeout_s:g} s")
        try:
            kind, value = pipe.recv()
        except EOFError:
            raise PublisherError("a publisher process died") from None
        if kind == "error":
            raise PublisherError(f"a publisher process failed: {value}")
        if kind != expected:
            raise PublisherError(f"a publisher process said {kind!r}, expected {expected!r}")
        return value
