"""`anxin bench detect`'s results: the figures held to targets, why a target was missed, and the report.

Rendered as a table for people and as JSON (`--json`) for machines; both name
the command line that reproduces them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from anxin.bench.detect_plan import DetectOptions
from anxin.bench.figures import (
    Figure,
    all_passed,
    at_least,
    print_footer,
    styled_verdict,
    write_json_file,
)
from anxin.bench.scoring import (
    BASELINE_KIND,
    BASELINE_TRUTH,
    EARLY,
    KindScore,
    Score,
    max_delay,
    quantile,
)
from simulators.injections import KINDS, Injection
from simulators.truth import TruthRecord

MUST_FIND: Final = frozenset({"sos", "fall", "smoke", "leak", "stove_unattended"})
"""Kinds held to recall 1.0; every other injected kind to `TARGET_RECALL`."""
TARGET_RECALL: Final = 0.95
TARGET_FALSE_PER_HOME_DAY: Final = 0.05
TARGET_EVENTS_PER_S: Final = 100_000.0


@dataclass(slots=True)
class DetectReport:
    options: DetectOptions
    score: Score
    injections: list[Injection]
    truth: list[TruthRecord]
    events: int = 0
    engine_s: float = 0.0
    engine_cpu_s: float = 0.0
    """CPU time of the same steps: below `engine_s` when other work shares the machine."""
    ticks: int = 0
    tick_s: float = 0.0
    figures: list[Figure] = field(default_factory=list)
    detectors: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float | None:
        return self.events / self.engine_s if self.engine_s > 0 else None

    def as_json(self) -> dict[str, object]:
        return {
            "command": self.options.command(),
            "cpus": os.cpu_count(),
            "home_days": self.options.home_days,
            "detectors": list(self.detectors),
            "windows_s": {
                kind: [-EARLY.total_seconds(), max_delay(kind).total_seconds()] for kind in KINDS
            },
            "kinds": {
                kind: _kind_json(result) for kind, result in sorted(self.score.kinds.items())
            },
            "baseline": None if self.score.baseline is None else _baseline_json(self.score),
            "engine": {
                "events": self.events,
                "engine_s": self.engine_s,
                "engine_cpu_s": self.engine_cpu_s,
                "ticks": self.ticks,
                "tick_s": self.tick_s,
            },
            "figures": {figure.key: figure.as_json() for figure in self.figures},
            "notes": self.notes,
            "all_targets_met": all_passed(self.figures),
        }


def _recall_target(kind: str) -> float:
    return 1.0 if kind in MUST_FIND else TARGET_RECALL


def figures(report: DetectReport) -> list[Figure]:
    """The figures held to the issue's targets."""
    out: list[Figure] = []
    for kind, result in sorted(report.score.kinds.items()):
        if not result.injected:
            continue
        target = _recall_target(kind)
        out.append(
            Figure(
                f"recall.{kind}",
                f"{kind} recall",
                result.recall,
                "",
                target=f">= {target:g}",
                passed=at_least(result.recall, target),
            )
        )
    rate = report.score.false_alarms_per_home_day
    out.append(
        Figure(
            "false_alarms_per_home_day",
            "false alarms per home-day (all kinds but unusual_inactivity)",
            rate,
            "",
            target=f"< {TARGET_FALSE_PER_HOME_DAY:g}",
            passed=None if rate is None else rate < TARGET_FALSE_PER_HOME_DAY,
        )
    )
    out.append(
        Figure(
            "engine_events_per_s",
            "engine throughput, 1 process",
            report.events_per_s,
            "events/s",
            target=f">= {TARGET_EVENTS_PER_S:,.0f}",
            passed=at_least(report.events_per_s, TARGET_EVENTS_PER_S),
        )
    )
    return out


def notes(report: DetectReport, running: set[str]) -> list[str]:
    """Why a target was missed, from the misses themselves."""
    said: list[str] = []
    for kind, result in sorted(report.score.kinds.items()):
        if kind not in running and result.injected:
            said.append(f"{kind}: no detector of this kind is in the catalogue")
            continue
        for match in result.missed:
            late = _late_open(report, match.truth, kind)
            where = (
                f"opened {late} after the start (window {_minutes(max_delay(kind))})"
                if late
                else "no open detection near it"
            )
            said.append(
                f"{kind} missed: {match.truth.home_id} truth start "
                f"{match.truth.start.isoformat()} ({match.truth.injection}): {where}"
            )
    return said


def _late_open(report: DetectReport, truth: TruthRecord, kind: str) -> str | None:
    result = report.score.kinds[kind]
    after = [
        d.at - truth.start
        for d in result.false_alarms
        if d.home_id == truth.home_id and d.at > truth.start
    ]
    return _minutes(min(after)) if after else None


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:,.1f} min"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 600:
        return f"{value / 60:,.1f} min"
    return f"{value:,.0f} s"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _kind_json(result: KindScore) -> dict[str, object]:
    return {
        "injected": result.injected,
        "detected": result.detected,
        "opens": result.opens,
        "false_alarms": len(result.false_alarms),
        "precision": result.precision,
        "recall": result.recall,
        "delay_p50_s": result.delay_s(0.5),
        "delay_p99_s": result.delay_s(0.99),
        "stamped_delay_p50_s": result.stamped_delay_s(0.5),
        "stamped_delay_p99_s": result.stamped_delay_s(0.99),
    }


def _baseline_json(result: Score) -> dict[str, object]:
    assert result.baseline is not None
    return {
        **_kind_json(result.baseline),
        "scored_against": BASELINE_TRUTH,
        "lead_over_rule_p50_s": quantile(result.baseline_lead_s, 0.5),
        "false_alarms_per_home_day": result.baseline_false_alarms_per_home_day,
    }


def render_report(report: DetectReport, console: Console) -> None:
    if not console.is_terminal:  # a log file or pipe: don't wrap the table at 80 columns
        console.width = max(console.width, 150)
    options = report.options
    table = Table(
        title=f"anxin bench detect: {options.home_days} home-days "
        f"({options.homes} homes x {options.days} days, after {options.learn_days} learning days)",
        title_justify="left",
    )
    for name in ("kind", "window", "injected", "detected", "precision", "recall"):
        table.add_column(name, justify="left" if name == "kind" else "right")
    for name in ("delay p50", "delay p99", "false alarms", "target", "result"):
        table.add_column(name, justify="right")
    verdicts = {figure.key: figure for figure in report.figures}
    for kind, result in sorted(report.score.kinds.items()):
        figure = verdicts.get(f"recall.{kind}")
        table.add_row(
            kind,
            f"-1 min..+{_minutes(max_delay(kind))}" if result.injected else "",
            str(result.injected),
            str(result.detected),
            _ratio(result.precision),
            _ratio(result.recall),
            _seconds(result.delay_s(0.5)),
            _seconds(result.delay_s(0.99)),
            str(len(result.false_alarms)),
            figure.target if figure else "",
            styled_verdict(figure),
        )
    console.print(table)
    baseline = report.score.baseline
    if baseline is not None:
        lead = quantile(report.score.baseline_lead_s, 0.5)
        rate = report.score.baseline_false_alarms_per_home_day
        console.print(
            f"{BASELINE_KIND} (learned baseline, vs {BASELINE_TRUTH} truth, window from the "
            f"last activity): found {baseline.detected}/{baseline.injected}, delay p50 "
            f"{_seconds(baseline.delay_s(0.5))} p99 {_seconds(baseline.delay_s(0.99))} "
            f"(negative: before the 3 h rule's start), earlier than the fixed rule by p50 "
            f"{_seconds(lead)}, false alarms {len(baseline.false_alarms)} "
            f"({_ratio(rate)} per home-day, not in the overall figure)",
            highlight=False,
        )
    for figure in report.figures:
        if figure.key.startswith("recall."):
            continue
        console.print(
            f"{figure.label}: {figure.shown()} (target {figure.target}) {styled_verdict(figure)}",
            highlight=False,
        )
    console.print(
        f"engine: {report.events:,} events in {report.engine_s:.2f} s of step time "
        f"({report.engine_cpu_s:.2f} s CPU); "
        f"{report.ticks:,} minute ticks in {report.tick_s:.2f} s",
        highlight=False,
    )
    print_footer(report.notes, options.command(), console)


def write_json(report: DetectReport, path: Path) -> None:
    write_json_file(report.as_json(), path)
