"""`anxin report sla` on SQLite and a real PostgreSQL holding alarms with known timings:
the right percentiles and target shares, printed with the command that reproduces them;
hostile flags end with exit 2 and a message, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine

from anxin.report import parse_window, run_sla_report
from tests.integration.dispatch_rig import T0, Rig, detection, offset
from tests.integration.rig import anxin_executable

pytestmark = pytest.mark.integration

SINCE = "2026-11-24T00:00:00Z"
UNTIL = "2026-11-25"
CASES = ((30, 20), (50, 40), (120, 50), (400, 55))
"""(seconds to acknowledge, minutes to arrive) of four alarms."""


@pytest.fixture
async def history(records_engine: Engine) -> AsyncIterator[Rig]:
    """Four SOS alarms answered and attended as CASES says, and a low alert that doesn't count."""
    rig = Rig(records_engine)
    await rig.service.start()
    await rig.add_worker("w1", 300)
    home = offset(20, 0)
    for n, (ack_s, arrive_min) in enumerate(CASES):
        start = T0 + timedelta(hours=3 * n)
        rig.clock.now = start
        await rig.alerts.send([detection(100 + n)])
        [alert] = rig.alert_store.recent(limit=1)
        [dispatch] = rig.dispatches.recent(alert_id=alert.alert_id)
        rig.clock.now = start + timedelta(seconds=ack_s)
        await rig.alerts.act(alert.alert_id, "acknowledge", actor="dispatcher:ann")
        rig.clock.advance(10)
        await rig.service.accept(dispatch.dispatch_id, "w1")
        rig.clock.now = start + timedelta(minutes=arrive_min)
        await rig.service.arrive(dispatch.dispatch_id, "w1", lat=home[0], lon=home[1], code="AX-w1")
        rig.clock.advance(600)
        await rig.service.complete(dispatch.dispatch_id, "w1", "all well")
    rig.clock.now = T0 + timedelta(hours=13)
    await rig.alerts.send([detection(1, kind="low_battery", severity="low", service="technical")])
    yield rig
    await rig.close()


def report_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    env["COLUMNS"] = "160"
    if not database_url.startswith("sqlite"):
        env["ANXIN_DATABASE__URL"] = database_url
    return env


def anxin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [anxin_executable(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")},
    )


async def test_the_report_has_the_known_figures(history: Rig, records_engine: Engine) -> None:
    since, until = parse_window(SINCE, UNTIL, now=datetime(2027, 1, 1, tzinfo=UTC))
    console = Console(record=True, width=160)
    report = run_sla_report(
        records_engine, since, until, now=datetime(2027, 1, 1, tzinfo=UTC), console=console
    )
    assert report.alarms == 4
    ack = report.time_to_acknowledge
    assert (ack.count, ack.p50_s, ack.p90_s, ack.max_s) == (4, 50, 400, 400)
    assert report.time_to_accept.p50_s == 60
    arrive = report.time_to_arrive
    assert (arrive.count, arrive.p50_s, arrive.max_s) == (4, 2400, 3300)
    assert report.time_to_resolve.max_s == 3300 + 600
    shares = {t.key: (t.within, t.counted, t.met) for t in report.targets}
    assert shares == {
        "answered_60s": (2, 4, False),
        "answered_180s": (3, 4, False),
        "attended_45min": (2, 4, False),
        "attended_60min": (4, 4, True),
    }
    text = console.export_text()
    assert "40 min 00 s" in text
    assert "reproduce: anxin report sla --since 2026-11-24T00:00:00+00:00" in text


def test_the_command_prints_and_writes_the_same(
    history: Rig, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "sla.json"
    result = anxin(
        "report",
        "sla",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--data-dir",
        str(tmp_path),
        "--json",
        str(out),
        env=report_env(database_url),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    answered = next(line for line in lines if "alarms answered within 60 s" in line)
    assert "50.0%" in answered
    assert "2/4" in answered
    assert "FAIL" in answered
    attended = next(line for line in lines if "attendance within 60 min" in line)
    assert "100.0%" in attended
    assert "PASS" in attended
    command = "anxin report sla --since 2026-11-24T00:00:00+00:00 --until 2026-11-25T00:00:00+00:00"
    assert f"reproduce: {command}" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["command"] == command
    assert figures["alarms"] == 4
    assert [t["share"] for t in figures["targets"]] == [0.5, 0.75, 0.5, 1.0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "--since"),
        (["--since", "yesterday"], "ISO 8601"),
        (["--since", "2026-13-01"], "ISO 8601"),
        (["--since", "2026-11-25", "--until", "2026-11-24"], "after"),
        (["--since", "9999-12-31T23:59:59-23:59"], "out of range"),
        (["--since", "2026-11-24", "--json", "/no/such/dir/sla.json"], "no such directory"),
        (["--since", "2026-11-24", "--until", "soon"], "--until"),
    ],
)
def test_hostile_flags_exit_2_with_a_message(args: list[str], says: str, tmp_path: Path) -> None:
    result = anxin("report", "sla", *args, "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert says in result.stderr
