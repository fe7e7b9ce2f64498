"""`anxin bench e2e` end to end, small: 50 background homes and a few presses against `anxin up`."""

from __future__ import annotations

import re
import time

import psutil  # type: ignore[import-untyped]
import pytest

from anxin.bench.e2e import E2EOptions, run_e2e

pytestmark = pytest.mark.integration


def test_a_small_run_times_every_press_and_stops_everything() -> None:
    said: list[str] = []
    options = E2EOptions(homes=50, speed=60.0, samples=6, warmup=2, rate=4.0, timeout_s=20.0)
    began = time.monotonic()

    report = run_e2e(options, said.append)

    figures = {figure.key: figure for figure in report.figures}
    assert len(report.presses) == 6
    assert figures["e2e.lost"].value == 0
    assert all(press.event_ms is not None and press.event_ms > 0 for press in report.presses)
    p50, p99 = figures["e2e.p50_ms"].value, figures["e2e.p99_ms"].value
    assert p50 is not None
    assert p99 is not None
    assert 0 < p50 <= p99
    # Stages come before the event: the broker's PUBACK, then the alert's opening.
    for press in report.presses:
        assert press.puback_ms is not None
        assert press.stored_ms is not None
        assert press.puback_ms <= press.event_ms  # type: ignore[operator]
        assert press.stored_ms <= press.event_ms  # type: ignore[operator]
    # 50 watches at 60x send ~12 messages/s: the background was there while pressing.
    background = figures["background.rate_per_s"].value
    assert background is not None
    assert background > 0
    assert report.window is not None
    assert report.window.simulator_alive
    assert any("50 background devices online" in line for line in said)
    # Every process the bench started is gone.
    pids = [int(found) for line in said for found in re.findall(r"\(pid (\d+)\)", line)]
    assert pids
    assert not any(psutil.pid_exists(pid) for pid in pids)
    assert time.monotonic() - began < 60
