"""`anxin bench worker`: its events, its bookkeeping and its command line, without servers."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from anxin.bench.worker_load import (
    WorkerBenchOptions,
    home_on_partition,
    incidents,
    simulated_events,
    sos_presses,
)
from anxin.bench.worker_report import DetectionLog, WorkerBenchReport, figures
from devices.events import Reading
from processors.detection import detection
from processors.faust_app import partition_of
from simulators.fleet import build_fleet
from tests.integration.rig import anxin_executable

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def anxin(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    return subprocess.run(
        [anxin_executable(), *args], capture_output=True, text=True, timeout=60, env=environment
    )


class TestOptions:
    def test_the_command_line_reproduces_every_setting(self) -> None:
        options = WorkerBenchOptions(homes=7, events=1234, partitions=3, seed=9)
        assert options.command() == (
            "anxin bench worker --homes=7 --events=1234 --partitions=3 --seed=9"
        )

    @pytest.mark.parametrize(
        "bad", [{"homes": 0}, {"events": 0}, {"partitions": 0}, {"partitions": -2}]
    )
    def test_refuses_an_empty_run(self, bad: dict[str, int]) -> None:
        with pytest.raises(ValueError, match=next(iter(bad))):
            WorkerBenchOptions(**bad)  # type: ignore[arg-type]


class TestEvents:
    def test_the_first_count_readings_of_the_fleet_in_time_order_ending_near_the_end(
        self,
    ) -> None:
        events = simulated_events(8, 800, seed=1, end=END)
        assert len(events) == 800
        times = [event.received_at for event in events if isinstance(event, Reading)]
        assert times == sorted(times)
        assert END - timedelta(hours=1) < times[-1] <= END
        assert {event.home_id for event in events} <= {home.home_id for home in build_fleet(8)}

    def test_the_same_seed_makes_the_same_events(self) -> None:
        assert simulated_events(4, 300, seed=3, end=END) == simulated_events(
            4, 300, seed=3, end=END
        )

    def test_every_home_has_one_incident_in_the_first_half(self) -> None:
        fleet = build_fleet(6)
        span = timedelta(hours=4)
        planned = incidents(fleet, span, seed=1)
        assert [i.home_id for i in planned] == [home.home_id for home in fleet]
        assert [i.kind for i in planned] == ["sos", "fall", "leak", "smoke", "sos", "fall"]
        assert all(timedelta(0) <= i.offset <= span / 2 for i in planned)

    @pytest.mark.parametrize("partitions", [1, 2, 8])
    def test_one_press_per_partition_each_on_its_own(self, partitions: int) -> None:
        presses = sos_presses("bench-end", partitions, END)
        assert [partition_of(p.home_id.encode(), partitions) for p in presses] == list(
            range(partitions)
        )
        assert all(p.telemetry.type == "sos" for p in presses)

    def test_a_partition_out_of_range_is_refused(self) -> None:
        with pytest.raises(ValueError, match="partition 4"):
            home_on_partition("x", 4, 4)


def found(home_id: str, n: int, summary: str = "s") -> bytes:
    made = detection(home_id, "sos", "open", (n,), at=END, summary=summary)
    return made.model_dump_json().encode()


class TestDetectionLog:
    def test_counts_repeats_and_repeats_that_differ(self) -> None:
        log = DetectionLog()
        log.add(found("h1", 1), 1.0)
        log.add(found("h1", 1), 2.0)
        log.add(found("h1", 1, summary="other"), 3.0)
        log.add(found("h2", 2), 4.0)
        assert (log.received, log.unique, log.repeated, log.differing) == (4, 2, 2, 1)

    def test_times_the_first_detection_of_each_awaited_home(self) -> None:
        log = DetectionLog()
        log.await_homes(["h1", "h2"])
        log.add(found("h1", 1), 1.0)
        log.add(found("h3", 3), 2.0)
        assert not log.all_arrived()
        log.add(found("h2", 2), 3.0)
        log.add(found("h2", 4), 5.0)
        assert log.all_arrived()
        assert log.arrived == {"h1": 1.0, "h2": 3.0}


class TestFigures:
    def test_rates_from_the_measured_times(self) -> None:
        report = WorkerBenchReport(
            options=WorkerBenchOptions(), events=10_000, publish_s=0.5, judged_s=4.0
        )
        report.committed_s = 5.0
        report.worker_cpu_s = 3.0
        report.changelog_records = 2_500
        shown = {f.key: f.value for f in figures(report)}
        assert shown["events_per_s"] == 2_500
        assert shown["committed_per_s"] == 2_000
        assert shown["publish_per_s"] == 20_000
        assert shown["worker_cpu_us"] == pytest.approx(300)
        assert shown["changelog_per_event"] == 0.25

    def test_a_repeat_with_other_content_fails(self) -> None:
        report = WorkerBenchReport(options=WorkerBenchOptions(), events=1, judged_s=1.0)
        report.detections.add(found("h1", 1), 1.0)
        report.detections.add(found("h1", 1, summary="other"), 1.0)
        verdicts = {f.key: f.passed for f in figures(report)}
        assert verdicts["differing_repeats"] is False


class TestCommandLine:
    @pytest.mark.parametrize(
        ("args", "names"),
        [
            (["--homes", "0"], "--homes"),
            (["--homes", "many"], "--homes"),
            (["--events", "10"], "--events"),
            (["--events", "3000000"], "--events"),
            (["--partitions", "0"], "--partitions"),
            (["--partitions", "65"], "--partitions"),
            (["--seed", "x"], "--seed"),
            (["--json", "/no/such/dir/out.json"], "--json"),
        ],
    )
    def test_bad_values_exit_2_naming_the_option(self, args: list[str], names: str) -> None:
        result = anxin("bench", "worker", *args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert names in result.stderr

    def test_a_directory_is_no_json_file(self, tmp_path: Path) -> None:
        result = anxin("bench", "worker", "--json", str(tmp_path))
        assert result.returncode == 2
        assert "--json" in result.stderr
