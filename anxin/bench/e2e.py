"""`anxin bench e2e`: an SOS press, published as a device, to its event on a console's stream.

`anxin up` runs as an operator would start it (embedded broker, gateway, in-process
processors, alert service, API) on free ports with a temp data dir, while `anxin
simulate` plays a background fleet against its broker from another process (by
default 5,000 homes of watches, sped up to the message rate of 5,000 full homes:
`e2e_load.py` says why). A dispatcher created through the admin API holds
`GET /api/v1/alerts/stream` open; the bench home's SOS button then presses, one
press at a time, paced, and each press is timed from just before the publish call
to the arrival of its `opened` event.

Each press opens a new alert, which the bench resolves through the API before the
next: a repeat press on an open alert would only add evidence, and the event a
dispatcher waits for is the one that puts a new alert in front of them (with its
notifications and automatic dispatch, which the alert service does on opening).
"""

from __future__ import annotations

import contextlib
import functools
import math
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from rich.console import Console

from anxin.bench.e2e_load import BackgroundPlan, measure_home_day, plan_background
from anxin.bench.e2e_load import simulated_duration as duration_for
from anxin.bench.e2e_report import Press, Window, figures
from anxin.bench.e2e_rig import (
    BENCH_HOME,
    DISPATCHER,
    Api,
    BenchError,
    Child,
    SosButton,
    Up,
    anxin_argv,
    child_env,
    provision,
)
from anxin.bench.figures import Figure, all_passed, render_figures, write_json_file
from anxin.bench.rig import RigError, py_spy, raise_open_files_limit
from anxin.bench.sse import StreamListener
from simulators.fleet import Role
from simulators.profile import coerce_roles

CONNECT_TIMEOUT_S: Final = 600.0
"""For every background device to be online: 5,000 logins on a pure-Python broker."""
SETUP_ALLOWANCE_S: Final = 900.0
"""Wall time the background simulation is planned to outlast the presses by."""

Say = Callable[[str], None]


class E2EOptions(BaseModel):
    """What to run; bounds keep a typo from asking for an hour of presses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    homes: int = Field(default=5000, ge=0, le=20_000, description="background homes")
    devices: Annotated[tuple[Role, ...], BeforeValidator(coerce_roles)] = Field(
        default=("wearable",), min_length=1, description="device roles of each background home"
    )
    speed: float | None = Field(
        default=None, gt=0, le=10_000, description="None: the full homes' message rate"
    )
    samples: int = Field(default=200, ge=1, le=20_000)
    warmup: int = Field(default=10, ge=0, le=1000)
    rate: float = Field(
        default=1.0,
        gt=0,
        le=50,
        description="presses per second; slow enough by default that 200 presses span more "
        "than one of the background's 15-simulated-minute heartbeat cycles",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="wait for one event")
    seed: int = 1
    json_path: Path | None = None
    profile: Path | None = None
    keep: bool = False

    def command(self) -> str:
        """The command line that reproduces this run."""
        argv = [
            "anxin",
            "bench",
            "e2e",
            f"--homes={self.homes}",
            f"--devices={','.join(self.devices)}",
        ]
        if self.speed is not None:
            argv.append(f"--speed={self.speed:g}")
        argv += [
            f"--samples={self.samples}",
            f"--warmup={self.warmup}",
            f"--rate={self.rate:g}",
            f"--seed={self.seed}",
        ]
        return shlex.join(argv)


@dataclass(slots=True)
class E2EReport:
    options: E2EOptions
    plan: BackgroundPlan
    presses: list[Press] = field(default_factory=list)
    window: Window | None = None
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "options": self.options.model_dump(
                mode="json", exclude={"json_path", "profile", "keep"}
            ),
            "command": self.options.command(),
            "figures": {figure.key: figure.as_json() for figure in self.figures},
            "notes": self.notes,
            "all_targets_met": all_passed(self.figures),
            "presses": [press.as_json() for press in self.presses],
        }


NOTES: Final = (
    "Latency: perf_counter just before the device's publish call (QoS 1, paho) to the "
    "blank line ending the `opened` event for the bench home on the dispatcher's stream, "
    "read by a thread of the bench; each press's alert is resolved before the next press.",
    "Background rate: the gateway's anxin_mqtt_messages_received over the measured "
    "presses, the presses themselves taken out.",
    "CPU: user+system time of each process over the same window (psutil); memory: "
    "anxin up's VmHWM.",
)


class _Presser:
    """Presses the button and waits for the alert it opens; counts other homes' events."""

    def __init__(self, button: SosButton, stream: StreamListener, api: Api, timeout_s: float):
        self.button, self.stream, self.api, self.timeout_s = button, stream, api, timeout_s
        self.background = 0
        self.began = time.perf_counter()

    def press(self) -> Press:
        if self.stream.error is not None:  # every later press would only time out
            raise BenchError(f"the alert stream failed: {self.stream.error}")
        wall, started = time.time(), time.perf_counter()
        at = started - self.began
        mid = self.button.press()
        deadline = started + self.timeout_s
        while (event := self.stream.next_event(deadline)) is not None:
            if event.home_id != BENCH_HOME:
                self.background += 1
            elif event.transition == "opened":
                break
        acked = self.button.acked.get(mid)
        puback_ms = None if acked is None else (acked - started) * 1000
        if event is None:  # clear whatever it opened, so the next press opens anew
            for alert_id in self.api.open_alerts(BENCH_HOME):
                self.api.resolve(alert_id)
            return Press(None, puback_ms=puback_ms, at_s=at)
        opened_at = datetime.fromisoformat(str(event.data["opened_at"])).timestamp()
        self.api.resolve(event.alert_id)
        return Press(
            (event.arrived - started) * 1000, (opened_at - wall) * 1000, puback_ms, at_s=at
        )

    def run(self, count: int, rate: float) -> list[Press]:
        """`count` presses, one every 1/`rate` s (or as soon as the last is done)."""
        presses: list[Press] = []
        self.began = began = time.perf_counter()
        for index in range(count):
            pause = began + index / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            presses.append(self.press())
        return presses


@dataclass(slots=True)
class _Running:
    """What is up, so teardown can stop it in reverse order whatever failed."""

    up: Up | None = None
    simulator: Child | None = None
    api: Api | None = None
    stream: StreamListener | None = None
    button: SosButton | None = None
    profiler: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Each step runs even if one before it failed: no child may outlive the bench."""
        steps: list[Callable[[], object]] = [
            closer.close for closer in (self.button, self.stream, self.api) if closer is not None
        ]
        if self.simulator is not None:  # it publishes every device's `offline` first
            steps.append(functools.partial(self.simulator.stop, timeout_s=60))
        if self.profiler is not None:  # py-spy ends by itself after its duration
            steps.append(functools.partial(self.profiler.wait, timeout=60))
        if self.up is not None:
            steps.append(self.up.stop)
        for step in steps:
            with contextlib.suppress(Exception):
                step()
        if self.profiler is not None and self.profiler.poll() is None:
            self.profiler.kill()
            self.profiler.wait()


def _simulator(options: E2EOptions, plan: BackgroundPlan, up: Up, root: Path) -> Child:
    wall_s = options.warmup / options.rate + options.samples / options.rate + SETUP_ALLOWANCE_S
    argv = anxin_argv(
        "simulate",
        f"--homes={plan.homes}",
        f"--broker=mqtt://127.0.0.1:{up.mqtt_port}",
        f"--seed={options.seed}",
        f"--speed={plan.speed:g}",
        f"--devices={','.join(plan.roles)}",
        f"--credentials={root / 'data' / 'simulator-credentials.json'}",
        f"--duration={duration_for(plan.speed, wall_s)}",
        f"--connect-timeout={CONNECT_TIMEOUT_S:g}",
    )
    return Child(argv, log=root / "simulate.log", env=child_env())


def _wait_connected(up: Up, simulator: Child | None, devices: int, say: Say) -> None:
    """Until every background device has said `online` through the gateway.

    A connection storm can keep `anxin up` from answering /metrics for a while: that is
    waited out like a slow connect, within the same deadline.
    """
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    online, reported = 0, time.monotonic()
    while online < devices:
        if simulator is not None and not simulator.alive():
            raise BenchError(f"the simulator exited; see {simulator.log}")
        if not up.alive():
            raise BenchError(f"anxin up exited; see {up.log}")
        if time.monotonic() > deadline:
            raise BenchError(f"only {online:,} of {devices:,} background devices came online")
        with contextlib.suppress(httpx.HTTPError):
            online = up.online_devices()
        if online < devices and time.monotonic() - reported > 30:
            say(f"{online:,} of {devices:,} background devices online")
            reported = time.monotonic()
        time.sleep(1.0)
    say(f"{online:,} background devices online")


def _profile(pid: int, output: Path, seconds: float) -> subprocess.Popen[bytes]:
    formats = {".svg": "flamegraph", ".json": "speedscope"}
    argv = [py_spy(), "record", "--pid", str(pid), "--output", str(output), "--nonblocking"]
    argv += ["--format", formats.get(output.suffix, "raw"), "--rate", "200"]
    argv += ["--duration", str(math.ceil(seconds))]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _bring_up(
    options: E2EOptions, plan: BackgroundPlan, root: Path, running: _Running, say: Say
) -> _Presser:
    """Provision, start `anxin up` and the background, log in, open the stream, connect
    the button; each part goes into `running` as soon as it exists, for teardown."""
    raise_open_files_limit(plan.devices + 1024)
    say(f"provisioning {plan.homes:,} background homes and the bench home")
    _, password = provision(root / "data", homes=plan.homes, roles=plan.roles, seed=options.seed)
    admin_password = secrets.token_urlsafe(16)
    running.up = up = Up(root, root / "data", admin_password)
    up.start()
    up.wait_healthy(timeout_s=180)
    say(f"anxin up is healthy (pid {up.pid})")
    if plan.homes:
        running.simulator = _simulator(options, plan, up, root)
        running.simulator.start()
        say(f"background simulator started (pid {running.simulator.pid})")
    _wait_connected(up, running.simulator, plan.devices, say)
    running.api = api = Api(up.base_url)
    api.login("admin", admin_password)
    dispatcher_password = secrets.token_urlsafe(16)
    api.create_dispatcher(DISPATCHER, dispatcher_password)
    token = api.login(DISPATCHER, dispatcher_password)
    running.stream = stream = StreamListener(up.base_url, token)
    stream.start()
    running.button = button = SosButton(up.mqtt_port, password)
    button.connect()
    return _Presser(button, stream, api, options.timeout_s)


def run_e2e(options: E2EOptions, tell: Say) -> E2EReport:
    """Run the bench; every process is stopped (and the temp dir gone unless `keep`)."""

    def say(line: str) -> None:
        tell(f"{time.strftime('%H:%M:%S')} {line}")

    plan = plan_background(
        options.homes, options.devices, measure_home_day(options.seed), speed=options.speed
    )
    say(
        f"background: {plan.homes:,} full homes would send {plan.full_rate_per_s:,.1f} msg/s "
        f"({plan.full_per_home_day:,.0f} messages per home-day); {','.join(plan.roles)} alone "
        f"sends {plan.profile_per_home_day:,.0f} per home-day, so speed {plan.speed:g} "
        f"→ {plan.rate_per_s:,.1f} msg/s over {plan.devices:,} connections"
    )
    if options.profile is not None:
        py_spy()  # fail now, not after start-up
    report = E2EReport(options, plan, notes=list(NOTES))
    root = Path(tempfile.mkdtemp(prefix="anxin-bench-e2e-"))
    (root / "data").mkdir()
    running = _Running()

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        presser = _bring_up(options, plan, root, running, say)
        say(f"{options.warmup} warm-up presses, then {options.samples} at {options.rate:g}/s")
        presser.run(options.warmup, options.rate)
        report.window, report.presses = _measure(options, running, presser)
    except RigError as error:
        raise BenchError(str(error)) from error
    finally:
        running.stop()
        signal.signal(signal.SIGTERM, previous)
        if options.keep:
            say(f"kept {root} (up.log, simulate.log, data)")
        else:
            shutil.rmtree(root, ignore_errors=True)
    report.figures = figures(plan, report.presses, report.window)
    return report


def _measure(
    options: E2EOptions, running: _Running, presser: _Presser
) -> tuple[Window, list[Press]]:
    """The measured presses, with the gateway's count and both processes' CPU around them."""
    up, simulator = running.up, running.simulator
    assert up is not None
    received, up_cpu = up.received(), up.cpu_s()
    simulator_cpu = simulator.cpu_s() if simulator is not None else None
    presser.background = 0
    if options.profile is not None:
        running.profiler = _profile(up.pid, options.profile, options.samples / options.rate + 2)
    began = time.perf_counter()
    presses = presser.run(options.samples, options.rate)
    seconds = time.perf_counter() - began
    window = Window(
        seconds=seconds,
        received=up.received() - received - len(presses),
        up_cpu_s=up.cpu_s() - up_cpu,
        simulator_cpu_s=None
        if simulator is None or simulator_cpu is None
        else simulator.cpu_s() - simulator_cpu,
        background_events=presser.background,
        simulator_alive=simulator is None or simulator.alive(),
        up_peak_mb=up.peak_rss_mb(),
    )
    return window, presses


def render_report(report: E2EReport, console: Console) -> None:
    render_figures(
        "anxin bench e2e", report.figures, report.notes, report.options.command(), console
    )


def write_json(report: E2EReport, path: Path) -> None:
    write_json_file(report.as_json(), path)
