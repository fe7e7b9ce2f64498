"""`anxin simulate` as a plain function; `anxin/cli.py` owns the flags and calls this."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from simulators.errors import SimulatorError
from simulators.injections import parse_duration, parse_injection
from simulators.profile import ROLES, parse_roles
from simulators.provision import load_credentials
from simulators.run import SimulationOptions, SimulationReport, run_simulation


def broker_address(url: str) -> tuple[str, int]:
    """`mqtt://host:port` (or `tcp://`, or bare `host:port`) -> (host, port)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise SimulatorError(f"broker must look like mqtt://host:port, not {url!r}")
    try:
        port = parts.port or 1883
    except ValueError:
        raise SimulatorError(f"bad port in broker address {url!r}") from None
    return parts.hostname, port


def simulate_command(
    *,
    homes: int = 10,
    broker: str = "mqtt://127.0.0.1:1883",
    seed: int = 0,
    speed: float = 1.0,
    inject: Sequence[str] = (),
    truth: Path | None = None,
    duration: str | None = None,
    start: str | None = None,
    credentials: Path | None = None,
    devices: str | None = None,
    connect_timeout_s: float = 60.0,
    progress: bool = True,
) -> int:
    """Run a simulation until its duration is over or SIGINT/SIGTERM; returns an exit code.

    `duration` is like `2h` or `1d12h` (none: until stopped); `start` is an
    RFC 3339 time with offset; `credentials` is a file from `save_credentials`
    (none: connect without passwords); `devices` is a profile of device roles like
    `wearable,motion` (none: every device of each home).
    """
    console = Console(stderr=True, soft_wrap=True)
    try:
        host, port = broker_address(broker)
        options = SimulationOptions(
            homes=homes,
            seed=seed,
            broker_host=host,
            broker_port=port,
            speed=speed,
            injections=tuple(parse_injection(text) for text in inject),
            truth_path=truth,
            duration=parse_duration(duration) if duration else None,
            start=datetime.fromisoformat(start) if start else None,
            roles=ROLES if devices is None else parse_roles(devices),
            connect_timeout_s=connect_timeout_s,
        )
        secrets = load_credentials(credentials) if credentials else {}
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            where = ".".join(str(part) for part in problem["loc"])
            message = str(problem["msg"]).removeprefix("Value error, ")
            console.print(
                f"[red]error:[/] {escape(where + ': ' if where else '')}{escape(message)}",
                highlight=False,
            )
        return 2
    except (SimulatorError, ValueError) as error:
        console.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        return 2
    try:
        report = asyncio.run(_run(options, secrets, progress))
    except SimulatorError as error:
        console.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        return 1
    _print_report(console, report)
    return 0


async def _run(
    options: SimulationOptions, credentials: dict[str, str], progress: bool
) -> SimulationReport:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return await run_simulation(
        options, credentials=credentials, stop=stop, progress=progress and sys.stderr.isatty()
    )


def _print_report(console: Console, report: SimulationReport) -> None:
    console.print(
        f"{report.homes} homes, {report.devices} devices: {report.published:,} messages "
        f"published in {report.wall_seconds:.1f} s ({report.rate_per_s:,.0f}/s), simulated "
        f"{report.start:%Y-%m-%d %H:%M} to {report.reached:%Y-%m-%d %H:%M} UTC"
        + (" (stopped)" if report.stopped else "")
    )
    if report.truth_path is not None:
        console.print(f"{report.truth_records} ground-truth records in {report.truth_path}")
