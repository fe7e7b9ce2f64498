"""The `anxin` command line: one console script for every service and tool."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError as PydanticSettingsError
from rich.console import Console

from anxin.settings import Settings, SettingsError, check_secrets
from devices.topics import is_valid_id

app = typer.Typer(
    name="anxin",
    help="Anxin (安心): smart elderly-care gateway and realtime event processor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
homes_app = typer.Typer(help="Provision homes in the registry.", no_args_is_help=True)
devices_app = typer.Typer(
    help="Provision devices and their MQTT credentials.", no_args_is_help=True
)
bench_app = typer.Typer(
    help="Benchmarks: each prints its figures and how to reproduce them.", no_args_is_help=True
)
app.add_typer(homes_app, name="homes")
app.add_typer(devices_app, name="devices")
app.add_typer(bench_app, name="bench")

err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option(help="where embedded stores live [ANXIN_DATA_DIR]")]
HttpPort = Annotated[
    int | None, typer.Option(min=0, max=65535, help="HTTP port [ANXIN_HTTP__PORT]")
]


JsonFile = Annotated[
    Path | None, typer.Option("--json", dir_okay=False, help="also write the figures here")
]


def check_json(json_file: Path | None) -> None:
    """A `--json` file goes into an existing directory: said before a long run, not after."""
    if json_file is not None and not json_file.resolve().parent.is_dir():
        raise typer.BadParameter(f"no such directory: {json_file.parent}", param_hint="--json")


def load_settings(**overrides: Any) -> Settings:
    """Settings from `ANXIN_*` variables, with the flags given on the command line on top."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        if name:
            nested.setdefault(section, {})[name] = value
        else:
            nested[key] = value
    settings = Settings(**nested)
    check_secrets(settings)
    return settings


@app.command()
def up(
    simulate: Annotated[int, typer.Option(min=0, max=20_000, help="simulated homes to add")] = 0,
    http_port: HttpPort = None,
    mqtt_port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="embedded MQTT broker port")
    ] = None,
    data_dir: DataDir = None,
    seed: Annotated[int, typer.Option(help="simulation seed")] = 1,
) -> None:
    """Everything in one process on embedded defaults: broker, gateway, stores, API."""
    from anxin.up import run_up

    settings = load_settings(data_dir=data_dir, http__port=http_port)
    asyncio.run(run_up(settings, mqtt_port=mqtt_port, simulate=simulate, seed=seed))


@app.command()
def gateway(http_port: HttpPort = None, data_dir: DataDir = None) -> None:
    """The gateway service: MQTT in, InfluxDB and Kafka out (/healthz, /metrics on --http-port)."""
    from anxin.services import run_gateway_service

    settings = load_settings(data_dir=data_dir, http__port=http_port)
    asyncio.run(run_gateway_service(settings))


@app.command()
def api(http_port: HttpPort = None, data_dir: DataDir = None) -> None:
    """The HTTP API with the alert service (detections from ANXIN_KAFKA__BOOTSTRAP)."""
    from anxin.api_service import check_alert_secrets, run_api_service

    settings = load_settings(data_dir=data_dir, http__port=http_port)
    check_alert_secrets(settings)
    asyncio.run(run_api_service(settings))


@app.command()
def worker(
    data_dir: DataDir = None,
    partitions: Annotated[
        int, typer.Option(min=1, help="partitions of the telemetry topic and state changelog")
    ] = 8,
    session_timeout: Annotated[
        float, typer.Option(min=1, help="Kafka consumer session timeout, seconds")
    ] = 30.0,
) -> None:
    """A stream-processing worker: anxin.telemetry in, detections out (needs ANXIN_KAFKA__BOOTSTRAP)."""
    from anxin.logs import configure_logging
    from anxin.registry import open_registry
    from processors.catalogue import all_detectors
    from processors.faust_app import run_worker
    from processors.homes import HomeDirectory

    settings = load_settings(data_dir=data_dir)
    if not settings.kafka.bootstrap:
        err.print("[red]anxin: worker needs ANXIN_KAFKA__BOOTSTRAP[/red]")
        raise typer.Exit(2)
    configure_logging(settings.log_format)
    run_worker(
        bootstrap=settings.kafka.bootstrap,
        detectors=all_detectors(),
        directory=HomeDirectory(open_registry(settings)),
        telemetry_topic=settings.kafka.telemetry_topic,
        detections_topic=settings.kafka.detections_topic,
        partitions=partitions,
        session_timeout_s=session_timeout,
    )


@app.command()
def simulate(
    homes: Annotated[int, typer.Option(min=1, max=100_000, help="simulated homes")] = 10,
    broker: Annotated[str, typer.Option(help="mqtt://host:port")] = "mqtt://127.0.0.1:1883",
    seed: Annotated[int, typer.Option(help="same seed, same homes and events")] = 0,
    speed: Annotated[
        float, typer.Option(min=0.001, help="simulated seconds per second; inf: unpaced")
    ] = 1.0,
    inject: Annotated[
        list[str] | None, typer.Option(help="scenario, e.g. fall@sim-0003+10m (repeatable)")
    ] = None,
    truth: Annotated[Path | None, typer.Option(help="write ground truth here (JSON lines)")] = None,
    duration: Annotated[
        str | None, typer.Option(help="e.g. 2h, 1d12h; default until stopped")
    ] = None,
    start: Annotated[str | None, typer.Option(help="simulated start, RFC 3339")] = None,
    credentials: Annotated[
        Path | None, typer.Option(help="device passwords file (JSON, 0600)")
    ] = None,
    provision: Annotated[
        bool, typer.Option(help="register the homes in the registry first")
    ] = False,
    devices: Annotated[
        str | None,
        typer.Option(help="device roles per home, e.g. wearable,motion (default all)"),
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option(min=1, max=3600, help="seconds for every device to connect")
    ] = 60.0,
    data_dir: DataDir = None,
) -> None:
    """Simulated homes publishing to any broker, with scenario injection."""
    from anxin.registry import open_registry
    from anxin.simulation import credentials_path, provision_fleet
    from simulators.cli import simulate_command
    from simulators.errors import SimulatorError
    from simulators.profile import ROLES, parse_roles

    settings = load_settings(data_dir=data_dir)
    try:
        roles = ROLES if devices is None else parse_roles(devices)
    except SimulatorError as error:
        raise typer.BadParameter(str(error), param_hint="--devices") from None
    if provision:
        path = credentials or credentials_path(settings)
        try:
            provision_fleet(
                open_registry(settings),
                homes=homes,
                seed=seed,
                credentials_file=path,
                roles=roles,
            )
        except SimulatorError as error:
            err.print(f"[red]anxin: {error}[/red]", highlight=False)
            raise typer.Exit(2) from None
        credentials = path
    code = simulate_command(
        homes=homes,
        broker=broker,
        seed=seed,
        speed=speed,
        inject=inject or (),
        truth=truth,
        duration=duration,
        start=start,
        credentials=credentials,
        devices=devices,
        connect_timeout_s=connect_timeout,
    )
    raise typer.Exit(code)


def _valid_id(value: str | None) -> str | None:
    if value is not None and not is_valid_id(value):
        raise typer.BadParameter("ids are 1-64 characters of A-Z a-z 0-9 _ -")
    return value


Id = Annotated[str, typer.Option(callback=_valid_id, help="1-64 of A-Z a-z 0-9 _ -")]
OptionalId = Annotated[str | None, typer.Option(callback=_valid_id)]


@homes_app.command("add")
def homes_add(
    home_id: Id,
    lat: Annotated[float, typer.Option(min=-90, max=90)],
    lon: Annotated[float, typer.Option(min=-180, max=180)],
    timezone: Annotated[str, typer.Option(help="IANA zone")] = "Asia/Shanghai",
    address: str = "",
    data_dir: DataDir = None,
) -> None:
    """Register a home."""
    from anxin.provisioning import add_home

    add_home(load_settings(data_dir=data_dir), home_id, lat, lon, timezone, address)


@devices_app.command("add")
def devices_add(
    home_id: Id,
    device_id: Id,
    type: Annotated[str, typer.Option(help="telemetry type (CONTRACT §1)")],
    room: OptionalId = None,
    appliance: OptionalId = None,
    report_interval_s: Annotated[int, typer.Option(min=1, max=604800)] = 300,
    data_dir: DataDir = None,
) -> None:
    """Register a device; prints its MQTT password once."""
    from anxin.provisioning import add_device

    add_device(
        load_settings(data_dir=data_dir),
        home_id=home_id,
        device_id=device_id,
        type=type,
        room=room,
        appliance=appliance,
        report_interval_s=report_interval_s,
    )


@bench_app.command("ingest")
def bench_ingest(
    mode: Annotated[str, typer.Option(help="drain, live or both")] = "both",
    devices: Annotated[
        int, typer.Option(min=4, max=15_000, help="simulated devices, one connection each")
    ] = 1000,
    messages: Annotated[
        int, typer.Option(min=1000, max=1_000_000, help="drain: readings in the backlog")
    ] = 300_000,
    seconds: Annotated[int, typer.Option(min=1, max=600, help="live: how long to publish")] = 20,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="gateway InfluxDB batch (points)")
    ] = 5000,
    publishers: Annotated[int, typer.Option(min=1, max=8, help="publisher processes")] = 2,
    window: Annotated[
        int, typer.Option(min=1, max=64, help="QoS 1 publishes in flight per device")
    ] = 8,
    rate: Annotated[
        int, typer.Option(min=0, max=1_000_000, help="live: total msg/s to pace at; 0: flat out")
    ] = 0,
    receive_window: Annotated[
        int | None,
        typer.Option(min=1, max=65_535, help="gateway's unacked QoS 1 window; default: its own"),
    ] = None,
    json_file: JsonFile = None,
    profile: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="drain: py-spy the gateway into this .svg/.json/.txt"),
    ] = None,
    keep: Annotated[bool, typer.Option(help="keep the temp dir (logs, data) to look into")] = False,
) -> None:
    """Devices → Mosquitto → gateway → InfluxDB: readings/s, latency, CPU, memory, loss."""
    from anxin.bench.ingest import IngestOptions, Mode, render_report, run_ingest, write_json

    if mode not in Mode.__members__:
        raise typer.BadParameter("choose drain, live or both", param_hint="--mode")
    for path, hint in ((json_file, "--json"), (profile, "--profile")):
        if path is not None and not path.resolve().parent.is_dir():
            raise typer.BadParameter(f"no such directory: {path.parent}", param_hint=hint)
    options = IngestOptions(
        mode=Mode(mode),
        devices=devices,
        messages=messages,
        seconds=seconds,
        batch_size=batch_size,
        publishers=publishers,
        window=window,
        rate=rate,
        receive_window=receive_window,
        json_path=json_file,
        profile=None if profile is None else profile.resolve(),
        keep=keep,
    )
    out = Console()
    report = run_ingest(options, err)
    render_report(report, out)
    if json_file is not None:
        write_json(report, json_file)


@bench_app.command("detect")
def bench_detect(
    homes: Annotated[int, typer.Option(min=1, max=1000, help="simulated homes")] = 10,
    days: Annotated[
        int, typer.Option(min=1, max=60, help="scored days per home, with incidents")
    ] = 4,
    learn_days: Annotated[
        int, typer.Option(min=0, max=90, help="healthy unscored days first (baseline learns)")
    ] = 14,
    seed: Annotated[int, typer.Option(help="fleet, routine and incident seed")] = 1,
    json_file: JsonFile = None,
) -> None:
    """Simulated home-days with labelled incidents through the engine: recall, delay, false alarms."""
    from anxin.bench.detect import DetectOptions, render_report, run_detect, write_json

    check_json(json_file)
    options = DetectOptions(
        homes=homes, days=days, learn_days=learn_days, seed=seed, json_path=json_file
    )
    report = run_detect(options, lambda line: err.print(line, highlight=False))
    render_report(report, Console())
    if json_file is not None:
        write_json(report, json_file)


@bench_app.command("dispatch")
def bench_dispatch(
    workers: Annotated[
        int, typer.Option(min=1, max=500_000, help="care workers in the city")
    ] = 40_000,
    homes: Annotated[int, typer.Option(min=1, max=2_000_000, help="homes in the city")] = 100_000,
    jobs: Annotated[
        int, typer.Option(min=1, max=200_000, help="jobs to match, one at a time")
    ] = 5_000,
    moves: Annotated[
        int, typer.Option(min=0, max=1_000_000, help="index updates to time")
    ] = 20_000,
    radius_m: Annotated[
        float, typer.Option(min=1, max=50_000, help="matching radius, metres")
    ] = 3_000.0,
    seed: Annotated[int, typer.Option(help="city and job seed")] = 1,
    json_file: JsonFile = None,
) -> None:
    """Matching at city scale through the spatial index: time per job (p50/p99) and per move."""
    from anxin.bench.dispatch import DispatchBenchOptions, run_dispatch_bench

    check_json(json_file)
    options = DispatchBenchOptions(
        workers=workers,
        homes=homes,
        jobs=jobs,
        moves=moves,
        radius_m=radius_m,
        seed=seed,
        json_path=json_file,
    )
    run_dispatch_bench(options, Console())  # writes --json itself


@bench_app.command("e2e")
def bench_e2e(
    homes: Annotated[
        int, typer.Option(min=0, max=20_000, help="background homes simulated meanwhile")
    ] = 5000,
    devices: Annotated[
        str, typer.Option(help="device roles of each background home, e.g. wearable,motion")
    ] = "wearable",
    speed: Annotated[
        float | None,
        typer.Option(min=0.001, max=10_000, help="background speed; default: full homes' rate"),
    ] = None,
    samples: Annotated[int, typer.Option(min=1, max=20_000, help="timed SOS presses")] = 200,
    warmup: Annotated[int, typer.Option(min=0, max=1000, help="untimed presses first")] = 10,
    rate: Annotated[float, typer.Option(min=0.01, max=50, help="presses per second")] = 1.0,
    seed: Annotated[int, typer.Option(help="background fleet seed")] = 1,
    json_file: JsonFile = None,
    profile: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="py-spy anxin up during the presses (.svg/.json/.txt)"),
    ] = None,
    keep: Annotated[bool, typer.Option(help="keep the temp dir (logs, data) to look into")] = False,
) -> None:
    """SOS press → console SSE event under a simulated city's load: p50/p99 against 250 ms."""
    from anxin.bench.e2e import E2EOptions, render_report, run_e2e, write_json
    from anxin.bench.e2e_rig import BenchError as E2EError
    from simulators.errors import SimulatorError
    from simulators.profile import parse_roles

    try:
        roles = parse_roles(devices)
    except SimulatorError as error:
        raise typer.BadParameter(str(error), param_hint="--devices") from None
    for path, hint in ((json_file, "--json"), (profile, "--profile")):
        if path is not None and not path.resolve().parent.is_dir():
            raise typer.BadParameter(f"no such directory: {path.parent}", param_hint=hint)
    options = E2EOptions(
        homes=homes,
        devices=roles,
        speed=speed,
        samples=samples,
        warmup=warmup,
        rate=rate,
        seed=seed,
        json_path=json_file,
        profile=None if profile is None else profile.resolve(),
        keep=keep,
    )
    try:
        report = run_e2e(options, lambda line: err.print(line, highlight=False))
    except E2EError as error:
        err.print(f"[red]anxin: {error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    render_report(report, Console())
    if json_file is not None:
        write_json(report, json_file)


@bench_app.command("worker")
def bench_worker(
    homes: Annotated[int, typer.Option(min=1, max=10_000, help="simulated homes")] = 100,
    events: Annotated[
        int, typer.Option(min=100, max=2_000_000, help="telemetry readings to publish")
    ] = 50_000,
    partitions: Annotated[
        int, typer.Option(min=1, max=64, help="partitions of anxin.telemetry and the changelog")
    ] = 8,
    seed: Annotated[int, typer.Option(help="fleet and routine seed")] = 1,
    json_file: JsonFile = None,
    keep: Annotated[bool, typer.Option(help="keep the temp dir (logs) to look into")] = False,
) -> None:
    """Simulated telemetry → Tansu → one `anxin worker` → detections: events/s end to end."""
    from anxin.bench.worker import BenchError, run_worker_bench
    from anxin.bench.worker_load import WorkerBenchOptions
    from anxin.bench.worker_report import render_report, write_json

    check_json(json_file)
    options = WorkerBenchOptions(
        homes=homes, events=events, partitions=partitions, seed=seed, json_path=json_file, keep=keep
    )
    try:
        report = run_worker_bench(options, lambda line: err.print(line, highlight=False))
    except BenchError as error:
        err.print(f"[red]anxin: {error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    render_report(report, Console())
    if json_file is not None:
        write_json(report, json_file)


@app.command("broker-config")
def broker_config(
    out: Annotated[
        Path, typer.Option(file_okay=False, help="directory for passwd, acl, anxin.conf")
    ],
    account: Annotated[
        list[str] | None,
        typer.Option(help="gateway account name(s); default ANXIN_MQTT__USERNAME"),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="chown the files to this user (mosquitto)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write Mosquitto's password file and ACL from the registry; then SIGHUP Mosquitto."""
    from anxin.provisioning import broker_config as export

    for name in account or []:
        _valid_id(name)
    export(load_settings(data_dir=data_dir), out, account or [], owner)


report_app = typer.Typer(help="Reports from the records.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("sla")
def report_sla(
    since: Annotated[
        str,
        typer.Option(help="window start: ISO 8601 date or date-time (UTC unless an offset)"),
    ],
    until: Annotated[
        str | None, typer.Option(help="window end, exclusive (same format); default now")
    ] = None,
    json_file: JsonFile = None,
    data_dir: DataDir = None,
) -> None:
    """Time to acknowledge, accept, arrive and resolve alarms, against the telecare targets."""
    from datetime import UTC, datetime

    from anxin.registry import open_database
    from anxin.report import parse_window, run_sla_report

    now = datetime.now(UTC)
    try:
        start, end = parse_window(since, until, now=now)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    check_json(json_file)
    engine = open_database(load_settings(data_dir=data_dir))
    try:
        run_sla_report(engine, start, end, now=now, console=Console(), json_path=json_file)
    finally:
        engine.dispose()


def main() -> None:
    """Console entry: configuration mistakes end with a clear message, not a traceback."""
    try:
        app()
    except ValidationError as error:
        err.print(f"[red]anxin: invalid configuration[/red]\n{error}")
        sys.exit(2)
    except PydanticSettingsError as error:
        err.print(f"[red]anxin: invalid configuration: {error}[/red]", highlight=False)
        sys.exit(2)
    except SettingsError as error:
        err.print(f"[red]anxin: {error}[/red]")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
