"""`anxin bench ingest`: devices → Mosquitto → `anxin gateway` → InfluxDB, measured.

Two modes, each on a fresh InfluxDB database with a real gateway process:

- drain: the gateway makes its persistent session and stops; every device publishes its
  share of `messages` QoS 1 readings, all PUBACKed by Mosquitto; then the gateway starts
  and works through the backlog. Rates are counted by InfluxDB (`SELECT count(seq)`),
  never taken from write acknowledgements. Then `mosquitto_sub` (C) drains the same
  backlog, published again, as the yardstick of what the broker can hand out.
- live: the gateway runs while the devices publish for `seconds`, as fast as they can
  (`rate` 0: an overload test, where latency is mostly queueing) or paced to `rate`
  msg/s in all; latency is the gateway's `anxin_ingest_lag_seconds` histogram (a
  reading's `ts`, set by the publisher as it sends, to the moment it is stored or
  spooled), read before and after and subtracted.

Between phases the persistent sessions of the gateway and of `mosquitto_sub` are ended,
so no phase's readings end up queued for another's consumer.
"""

from __future__ import annotations

import math
import os
import shlex
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from rich.console import Console

from anxin.bench.figures import (
    Figure,
    all_passed,
    at_least,
    at_most,
    counter_values,
    histogram_buckets,
    quantile,
    rate,
    render_figures,
    subtract,
    write_json_file,
)
from anxin.bench.fleet import KINDS, quotas, render, split
from anxin.bench.publishers import Publishers, PublishJob, PublishTally
from anxin.bench.rig import (
    GATEWAY_USER,
    SUBSCRIBER_USER,
    BenchRig,
    GatewayProcess,
    ProcessSample,
    RigError,
    py_spy,
)
from devices.telemetry import TELEMETRY_ADAPTER

TARGET_READINGS_PER_S: Final = 30_000
TARGET_CPU_US: Final = 30.0
TARGET_PEAK_MB: Final = 150.0
POLL_S: Final = 0.2
STALL_S: Final = 30.0
"""Give up waiting for readings to be stored when the count has not moved for this long."""
LAG_METRIC: Final = "anxin_ingest_lag_seconds"


class Mode(StrEnum):
    drain = "drain"
    live = "live"
    both = "both"


@dataclass(frozen=True, slots=True)
class IngestOptions:
    mode: Mode = Mode.both
    devices: int = 1000
    messages: int = 300_000
    seconds: int = 20
    batch_size: int = 5000
    publishers: int = 2
    window: int = 8
    rate: int = 0
    receive_window: int | None = None
    json_path: Path | None = None
    profile: Path | None = None
    keep: bool = False

    def gateway_tuning(self) -> dict[str, str]:
        """The gateway settings this run sets (`ANXIN_*`); everything else is the default."""
        tuning = {"ANXIN_INFLUX__BATCH_SIZE": str(self.batch_size)}
        if self.receive_window is not None:
            tuning["ANXIN_MQTT__RECEIVE_WINDOW"] = str(self.receive_window)
        return tuning

    def command(self) -> str:
        """The command line that reproduces this run."""
        argv = [
            "anxin",
            "bench",
            "ingest",
            f"--mode={self.mode.value}",
            f"--devices={self.devices}",
            f"--messages={self.messages}",
            f"--seconds={self.seconds}",
            f"--batch-size={self.batch_size}",
            f"--publishers={self.publishers}",
            f"--window={self.window}",
            f"--rate={self.rate}",
        ]
        if self.receive_window is not None:
            argv.append(f"--receive-window={self.receive_window}")
        if self.profile is not None:
            argv.append(f"--profile={self.profile}")
        return shlex.join(argv)


@dataclass(slots=True)
class IngestReport:
    options: IngestOptions
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "command": self.options.command(),
            "cpus": os.cpu_count(),
            "figures": {figure.key: figure.as_json() for figure in self.figures},
            "notes": self.notes,
            "all_targets_met": all_passed(self.figures),
        }


Say = Callable[[str], None]


# --- helpers shared by both modes -----------------------------------------------------


def check_payloads() -> None:
    """Every payload shape the publishers send must be one the gateway accepts."""
    for kind in KINDS:
        TELEMETRY_ADAPTER.validate_json(render(kind, int(time.time() * 1000), 1))


def publish(
    rig: BenchRig,
    options: IngestOptions,
    *,
    total: int | None = None,
    seconds: float | None = None,
    rate: int = 0,
    before_go: Callable[[], None] | None = None,
) -> PublishTally:
    """Connect every device (one connection each), publish, and wait for every PUBACK."""
    groups = split(rig.devices, options.publishers)
    shares = quotas(total, len(rig.devices)) if total is not None else None
    by_device = dict(zip((d.device_id for d in rig.devices), shares or [], strict=False))
    jobs = [
        PublishJob(
            host="127.0.0.1",
            port=rig.broker_port,
            devices=group,
            quotas=[by_device[device.device_id] for device in group] if shares else None,
            seconds=seconds,
            window=options.window,
            interval_s=len(rig.devices) / rate if rate else 0.0,
        )
        for group in groups
    ]
    publishers = Publishers(jobs)
    try:
        connected = publishers.start()
        if connected != len(rig.devices):
            raise RigError(f"{connected} of {len(rig.devices)} devices connected")
        if before_go is not None:
            before_go()
        publishers.go()
        limit = (seconds or 0) + 300 + (total or 0) / 1000
        return publishers.wait(timeout_s=limit)
    finally:
        publishers.stop()


@dataclass(frozen=True, slots=True)
class Stored:
    count: int
    at: float
    sample: ProcessSample


def wait_stored(
    rig: BenchRig, database: str, gateway: GatewayProcess, expected: int
) -> tuple[Stored, int]:
    """Poll InfluxDB's count until `expected` points are stored (or it stalls).

    Returns the first poll that saw the final count (its time and the gateway's CPU and
    memory then) and the count itself.
    """
    count = rig.stored(database, KINDS)
    last = Stored(count, time.monotonic(), gateway.sample())
    moved_at = last.at
    while count < expected:
        time.sleep(POLL_S)
        if not gateway.alive():
            raise RigError(f"the gateway exited while storing; see {gateway.log}")
        count = rig.stored(database, KINDS)
        now = time.monotonic()
        if count != last.count:
            last = Stored(count, now, gateway.sample())
            moved_at = now
        elif now - moved_at > STALL_S:
            break
    return last, count


def gateway_side(exposition: str) -> str:
    """What the gateway says it received and refused: where to look when readings are missing."""
    received = sum(counter_values(exposition, "anxin_mqtt_messages_received").values())
    rejected = counter_values(exposition, "anxin_telemetry_rejected", "reason")
    refused = ", ".join(f"{reason} {count:,.0f}" for reason, count in sorted(rejected.items()))
    return f"; gateway received {received:,.0f}" + (f", rejected {refused}" if refused else "")


# --- drain ----------------------------------------------------------------------------


def run_drain(rig: BenchRig, options: IngestOptions, say: Say) -> list[Figure]:
    database = "bench_drain"
    total = options.messages
    rig.create_database(database)
    say("drain: the gateway makes its persistent session, then stops")
    first = rig.gateway(database=database, tuning=options.gateway_tuning(), name="gateway-session")
    first.start()
    first.wait_healthy()
    first.stop()

    say(f"drain: {len(rig.devices):,} devices publish {total:,} readings while it is away")
    tally = publish(rig, options, total=total)
    if tally.acked != total:
        raise RigError(
            f"only {tally.acked:,} of {total:,} readings were PUBACKed ({tally.first_error})"
        )
    if rig.stored(database, KINDS):
        raise RigError("readings were stored while the gateway was stopped")

    say("drain: the gateway starts and works through the backlog")
    gateway = rig.gateway(database=database, tuning=options.gateway_tuning(), name="gateway-drain")
    gateway.start()
    if options.profile is not None:
        gateway.profile(options.profile)
    connected = gateway.wait_logged("gateway_connected")
    done, count = wait_stored(rig, database, gateway, total)
    time.sleep(1.0)  # anything still on its way would show up now
    final = rig.stored(database, KINDS)
    exposition = gateway.metrics()
    gateway.stop()
    drain_s = done.at - connected.at
    with_start_s = done.at - gateway.started_at
    gateway_rate = rate(done.count, drain_s) if done.count == total else None
    cpu_us = (done.sample.cpu_s - connected.cpu_s) / max(done.count, 1) * 1e6
    cpu_all_us = done.sample.cpu_s / max(done.count, 1) * 1e6
    loss = total - final

    say("drain: the same backlog again, for mosquitto_sub")
    # Only mosquitto_sub's session may take this backlog (and none a later phase's).
    rig.drop_session(GATEWAY_USER)
    rig.make_subscriber_session()
    again = publish(rig, options, total=total)
    if again.acked != total:
        raise RigError(f"only {again.acked:,} of {total:,} readings were PUBACKed")
    sub_s, sub_cpu = rig.run_subscriber(total, timeout_s=600)
    rig.drop_session(SUBSCRIBER_USER)
    sub_rate = rate(total, sub_s)
    ratio = gateway_rate / sub_rate if gateway_rate and sub_rate else None

    window = f"{done.count:,} readings in {drain_s:.2f} s"
    return [
        Figure(
            "drain.backlog_publish_per_s",
            "backlog published (QoS 1, PUBACKed)",
            rate(tally.acked, tally.seconds),
            "msg/s",
            note=f"{tally.acked:,} by {len(rig.devices):,} connections",
        ),
        Figure(
            "drain.readings_per_s",
            "stored, from gateway connected",
            gateway_rate,
            "readings/s",
            f">= {TARGET_READINGS_PER_S:,}",
            at_least(gateway_rate, TARGET_READINGS_PER_S) if gateway_rate else False,
            window,
        ),
        Figure(
            "drain.readings_per_s_with_startup",
            "stored, from process start",
            rate(done.count, with_start_s) if done.count == total else None,
            "readings/s",
            note=f"start-up {connected.at - gateway.started_at:.2f} s",
        ),
        Figure(
            "drain.cpu_us_per_reading",
            "gateway CPU per reading",
            cpu_us,
            "µs",
            f"<= {TARGET_CPU_US:g}",
            at_most(cpu_us, TARGET_CPU_US),
            "user+system, connected to all stored",
        ),
        Figure(
            "drain.cpu_us_per_reading_with_startup",
            "gateway CPU per reading, with start-up",
            cpu_all_us,
            "µs",
        ),
        Figure(
            "drain.peak_mb",
            "gateway peak memory (VmHWM)",
            done.sample.peak_rss_mb,
            "MB",
            f"< {TARGET_PEAK_MB:g}",
            done.sample.peak_rss_mb < TARGET_PEAK_MB,
        ),
        Figure(
            "drain.loss",
            "lost (PUBACKed - counted in InfluxDB)",
            loss,
            "readings",
            "0",
            loss == 0,
            f"stored {final:,} of {total:,}"
            + ("" if count == total else " (stalled)")
            + gateway_side(exposition),
        ),
        Figure(
            "drain.mosquitto_sub_per_s",
            "mosquitto_sub -q 1 drains the same backlog",
            sub_rate,
            "msg/s",
            note=f"{sub_cpu / total * 1e6:.1f} µs CPU/msg",
        ),
        Figure(
            "drain.ratio_to_mosquitto_sub",
            "gateway / mosquitto_sub",
            ratio,
            "",
        ),
    ]


# --- live -----------------------------------------------------------------------------


def run_live(rig: BenchRig, options: IngestOptions, say: Say) -> list[Figure]:
    database = "bench_live"
    rig.create_database(database)
    gateway = rig.gateway(database=database, tuning=options.gateway_tuning(), name="gateway-live")
    gateway.start()
    gateway.wait_healthy()
    marks: dict[str, object] = {}

    def mark() -> None:
        marks["lag"] = histogram_buckets(gateway.metrics(), LAG_METRIC)
        marks["sample"] = gateway.sample()
        marks["count"] = rig.stored(database, KINDS)

    pace = f"at {options.rate:,} msg/s" if options.rate else "flat out"
    say(f"live: {len(rig.devices):,} devices publish {pace} for {options.seconds} s")
    tally = publish(rig, options, seconds=options.seconds, rate=options.rate, before_go=mark)
    started = marks["sample"]
    assert isinstance(started, ProcessSample)
    done, _ = wait_stored(rig, database, gateway, tally.acked)
    time.sleep(1.0)
    final = rig.stored(database, KINDS)
    exposition = gateway.metrics()
    lag = subtract(histogram_buckets(exposition, LAG_METRIC), marks["lag"])  # type: ignore[arg-type]
    gateway.stop()
    stored = final - int(marks["count"])  # type: ignore[call-overload]
    loss = tally.acked - stored
    p50, p99 = quantile(0.5, lag), quantile(0.99, lag)
    samples = int(lag[-1][1]) if lag else 0
    cpu_us = (done.sample.cpu_s - started.cpu_s) / max(stored, 1) * 1e6
    return [
        Figure(
            "live.publish_per_s",
            "published (QoS 1, PUBACKed)",
            rate(tally.acked, tally.seconds),
            "msg/s",
            note=f"{tally.acked:,} by {len(rig.devices):,} connections"
            + (f", {tally.failed:,} failed" if tally.failed else ""),
        ),
        Figure(
            "live.stored_per_s",
            "stored, first publish to last stored",
            rate(stored, done.at - started.at),
            "readings/s",
        ),
        Figure(
            "live.p50_ms",
            "publish-to-stored latency p50",
            None if p50 is None else p50 * 1000,
            "ms",
            note=f"{samples:,} sampled readings"
            + ("" if options.rate else "; flat out, so queueing at the gateway counts"),
        ),
        Figure(
            "live.p99_ms",
            "publish-to-stored latency p99",
            None if p99 is None else p99 * 1000,
            "ms",
        ),
        Figure("live.cpu_us_per_reading", "gateway CPU per reading", cpu_us, "µs"),
        Figure(
            "live.peak_mb",
            "gateway peak memory (VmHWM)",
            done.sample.peak_rss_mb,
            "MB",
            f"< {TARGET_PEAK_MB:g}",
            done.sample.peak_rss_mb < TARGET_PEAK_MB,
        ),
        Figure(
            "live.loss",
            "lost (PUBACKed - counted in InfluxDB)",
            loss,
            "readings",
            "0",
            loss == 0,
            f"stored {stored:,} of {tally.acked:,}" + gateway_side(exposition),
        ),
    ]


# --- the command ----------------------------------------------------------------------


NOTES: Final = (
    "Counts are InfluxDB's own (SELECT count(seq) over every measurement, polled every "
    f"{POLL_S:g} s), never write acknowledgements; a rate ends at the first poll that saw "
    "the full count.",
    "Latency: the publisher sets each reading's ts (epoch ms) as it sends it; the gateway "
    "observes now - ts for every 8th reading of a batch once that batch is stored or "
    f"spooled ({LAG_METRIC}); quantiles are interpolated within its buckets.",
    "CPU is the gateway process's user+system time (psutil); memory is its VmHWM.",
    "The gateway acknowledges a message only after its reading is stored or spooled "
    "(gateway/service.py), so the broker still holds whatever is not yet stored.",
)


def run_ingest(options: IngestOptions, console: Console) -> IngestReport:
    """Run the benchmark; every process and temp file is gone when this returns or raises."""
    check_payloads()
    if options.profile is not None:
        py_spy()  # fail now, not after the backlog is built
    report = IngestReport(options)
    root = Path(tempfile.mkdtemp(prefix="anxin-bench-"))
    rig = BenchRig(root, options.devices)

    def say(message: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGTERM cleans up as Ctrl-C does: servers, gateway, publishers, temp dir.
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        say(f"provisioning {options.devices:,} devices in {math.ceil(options.devices / 4):,} homes")
        rig.provision()
        # A window below the broker's inflight limit would stall the gateway's SUBSCRIBE
        # behind a backlog (gateway/mqtt.py stops reading at the window): keep them equal.
        rig.start_servers(max_inflight=options.receive_window)
        if options.mode in (Mode.drain, Mode.both):
            report.figures += run_drain(rig, options, say)
        if options.mode in (Mode.live, Mode.both):
            report.figures += run_live(rig, options, say)
    finally:
        rig.close(keep=options.keep)
        if options.keep:
            say(f"kept {root} (logs, registry, data)")
        signal.signal(signal.SIGTERM, previous)
    report.notes = list(NOTES)
    return report


def render_report(report: IngestReport, console: Console) -> None:
    render_figures(
        "anxin bench ingest",
        report.figures,
        report.notes,
        report.options.command(),
        console,
        label=lambda figure: f"{figure.key.split('.')[0]}: {figure.label}",
    )


def write_json(report: IngestReport, path: Path) -> None:
    write_json_file(report.as_json(), path)
