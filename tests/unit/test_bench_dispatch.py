"""The dispatch bench at toy sizes: it builds a city, measures, and reports its figures."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from rich.console import Console
from typer.testing import CliRunner, Result

from alerts.matching import eligible
from anxin.bench.dispatch import (
    SERVICE_DATE,
    DispatchBenchOptions,
    DispatchBenchReport,
    build_city,
    quantile,
    run_dispatch_bench,
)
from anxin.cli import app

SMALL = DispatchBenchOptions(workers=300, homes=200, jobs=50, moves=100, seed=3)


def run(options: DispatchBenchOptions = SMALL) -> tuple[DispatchBenchReport, str]:
    out = io.StringIO()
    report = run_dispatch_bench(options, Console(file=out, width=160))
    return report, out.getvalue()


class TestOptions:
    @pytest.mark.parametrize(
        "changes",
        [
            {"workers": 0},
            {"homes": 0},
            {"jobs": 0},
            {"jobs": 10**7},
            {"moves": -1},
            {"radius_m": 0},
            {"radius_m": 60_000},
            {"workers": "many"},
            {"colour": "blue"},
        ],
    )
    def test_bad_values_are_refused(self, changes: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            DispatchBenchOptions(**changes)

    def test_defaults_are_the_issues_city(self) -> None:
        options = DispatchBenchOptions()
        assert (options.workers, options.homes) == (40_000, 100_000)

    def test_the_command_line_reproduces_the_options(self) -> None:
        assert SMALL.command() == (
            "anxin bench dispatch --workers=300 --homes=200 --jobs=50 --moves=100"
            " --radius-m=3000 --seed=3"
        )


class TestCity:
    def test_the_same_seed_builds_the_same_city(self) -> None:
        assert build_city(SMALL) == build_city(SMALL)
        assert build_city(SMALL) != build_city(SMALL.model_copy(update={"seed": 4}))

    def test_the_city_has_the_asked_sizes_and_a_realistic_mix(self) -> None:
        city = build_city(DispatchBenchOptions(workers=2000, homes=500, jobs=10))
        workers = list(city.workers.values())
        assert (len(workers), len(city.homes)) == (2000, 500)
        on_shift = sum(w.on_shift for w in workers) / len(workers)
        lapsed = sum(not w.credential_valid_on(SERVICE_DATE) for w in workers) / len(workers)
        assert 0.45 < on_shift < 0.65
        assert 0.01 < lapsed < 0.08
        assert {s for w in workers for s in w.skills} == {
            "medical",
            "housekeeping",
            "meal",
            "wellbeing",
            "technical",
        }
        assert all(abs(w.lat - 22.52) < 0.15 and abs(w.lon - 113.39) < 0.17 for w in workers)


class TestRun:
    def test_reports_every_figure(self) -> None:
        report, _ = run()
        keys = {f.key for f in report.figures}
        assert keys == {
            "match.p50",
            "match.p99",
            "match.max",
            "match.candidates",
            "match.none_share",
            "index.build",
            "index.move.p50",
            "index.move.p99",
        }
        assert all(f.value is not None for f in report.figures)
        assert len(report.match_ms) == 50
        assert len(report.move_us) == 100

    def test_the_p99_is_held_to_10_ms(self) -> None:
        report, _ = run()
        p99 = next(f for f in report.figures if f.key == "match.p99")
        assert p99.target == "< 10 ms"
        assert p99.passed is (p99.value is not None and p99.value < 10)

    def test_prints_the_table_and_the_command_line(self) -> None:
        _, text = run()
        assert "match one job, p99" in text
        assert "one worker moving, p99" in text
        assert SMALL.command() in text

    def test_writes_json_when_asked(self, tmp_path: Path) -> None:
        path = tmp_path / "dispatch.json"
        run(SMALL.model_copy(update={"json_path": path}))
        data = json.loads(path.read_text())
        assert data["command"] == SMALL.command()
        assert data["figures"]["match.p99"]["target"] == "< 10 ms"

    def test_the_matches_it_times_are_real_ones(self) -> None:
        from alerts.matching import Job, match
        from alerts.spatial import WorkerIndex

        city = build_city(SMALL)
        index = WorkerIndex()
        for worker in city.workers.values():
            index.upsert_worker(worker)
        home_id, lat, lon = city.homes[0]
        job = Job(home_id=home_id, lat=lat, lon=lon, service="meal", service_date=SERVICE_DATE)
        found = match(job, index, city.workers)
        assert all(eligible(c.worker, job) == [] for c in found)


def test_quantile_is_nearest_rank() -> None:
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([], 0.99) is None


class TestCommand:
    @staticmethod
    def invoke(*argv: str) -> Result:
        return CliRunner().invoke(app, ["bench", "dispatch", *argv])

    def test_the_command_runs_and_prints_figures(self) -> None:
        result = self.invoke("--workers=200", "--homes=100", "--jobs=20", "--moves=10")
        assert result.exit_code == 0, result.output
        assert "match one job, p99" in result.output
        assert "anxin bench dispatch --workers=200" in result.output

    @pytest.mark.parametrize(
        "argv", [["--workers=0"], ["--jobs=-3"], ["--radius-m=0"], ["--json=/no/such/dir/x.json"]]
    )
    def test_bad_flags_exit_2(self, argv: list[str]) -> None:
        result = self.invoke("--workers=50", "--homes=10", "--jobs=5", *argv)
        assert result.exit_code == 2
