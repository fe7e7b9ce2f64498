"""`anxin report sla`: how a window of alarms was answered and attended, from the records.

The figures come from the step times the alert and dispatch histories hold
(`records.dispatches.DispatchStore.sla_inputs`), judged by `alerts.sla.sla_report`
against the telecare targets of CONTRACT §3. The command that reproduces the report
is printed with it, with the window made explicit (a default `--until` of "now"
would not reproduce).
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from alerts.sla import Durations, SlaReport, sla_report
from records.dispatches import DispatchStore


def parse_instant(text: str, flag: str) -> datetime:
    """An ISO 8601 date or date-time; one without an offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{flag} {text!r} is not an ISO 8601 date or date-time"
            " (e.g. 2026-11-23 or 2026-11-23T08:00:00+08:00)"
        ) from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{flag} {text!r} is out of range") from None
    return value


def parse_window(since: str, until: str | None, *, now: datetime) -> tuple[datetime, datetime]:
    """`[since, until)` from the flags; `until` defaults to `now`."""
    start = parse_instant(since, "--since")
    end = now if until is None else parse_instant(until, "--until")
    if end <= start:
        raise ValueError("--until must be after --since")
    return start, end


def sla_from_records(
    engine: Engine, since: datetime, until: datetime, *, now: datetime
) -> SlaReport:
    """The SLA report over alarms opened in `[since, until)`, judged as of `now` at latest."""
    alerts, dispatches = DispatchStore(engine).sla_inputs(since, until)
    return sla_report(alerts, dispatches, since=since, until=until, as_of=min(until, now))


def command_line(since: datetime, until: datetime) -> str:
    """The command that prints this report again."""
    args = [
        "anxin",
        "report",
        "sla",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
    ]
    return shlex.join(args)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 120:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def render(report: SlaReport, console: Console, command: str) -> None:
    """The report as two tables and the reproducing command."""
    console.print(
        f"SLA over alarms (critical and high alerts) opened {report.since.isoformat()}"
        f" to {report.until.isoformat()}: {report.alarms} alarms",
        highlight=False,
    )
    times = Table(title="Response times")
    for column in ("measure", "n", "p50", "p90", "max"):
        times.add_column(column, justify="left" if column == "measure" else "right")
    rows: tuple[tuple[str, Durations], ...] = (
        ("time to acknowledge", report.time_to_acknowledge),
        ("time to accept", report.time_to_accept),
        ("time to arrive", report.time_to_arrive),
        ("time to resolve", report.time_to_resolve),
    )
    for label, figures in rows:
        times.add_row(
            label,
            str(figures.count),
            _duration(figures.p50_s),
            _duration(figures.p90_s),
            _duration(figures.max_s),
        )
    console.print(times)
    targets = Table(title="Telecare targets")
    targets.add_column("target", no_wrap=True)
    for column in ("required", "achieved", "within", "result"):
        targets.add_column(column, justify="right", no_wrap=True)
    for target in report.targets:
        achieved = "-" if target.share is None else f"{target.share:.1%}"
        result = {True: "PASS", False: "FAIL", None: "no data"}[target.met]
        targets.add_row(
            target.label,
            f"{target.target_share:.1%}",
            achieved,
            f"{target.within}/{target.counted}",
            result,
        )
    console.print(targets)
    console.print(f"reproduce: {command}", highlight=False, soft_wrap=True)


def write_json(report: SlaReport, command: str, path: Path) -> None:
    """The figures as JSON, with the reproducing command."""
    body = {**report.model_dump(mode="json"), "command": command}
    path.write_text(json.dumps(body, indent=2) + "\n")


def run_sla_report(
    engine: Engine,
    since: datetime,
    until: datetime,
    *,
    now: datetime,
    console: Console,
    json_path: Path | None = None,
) -> SlaReport:
    """Compute, print and optionally write the report."""
    report = sla_from_records(engine, since, until, now=now)
    command = command_line(since, until)
    render(report, console, command)
    if json_path is not None:
        write_json(report, command, json_path)
    return report
