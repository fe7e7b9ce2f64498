"""What every benchmark shares: figures held to targets, quantiles, and how they print.

Latency histograms come from the services' own Prometheus metrics, read twice and
subtracted, so only the measured window counts; quantiles are interpolated linearly
within a bucket, as Prometheus' `histogram_quantile` does.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

Buckets = list[tuple[float, float]]
"""Cumulative `(upper bound, count)` pairs in ascending order, the last bound `inf`."""


def histogram_buckets(exposition: str, name: str) -> Buckets:
    """The buckets of histogram `name` in a Prometheus text exposition (label sets summed)."""
    counts: dict[float, float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])
                counts[bound] = counts.get(bound, 0.0) + float(sample.value)
    return sorted(counts.items())


def counter_values(exposition: str, name: str, label: str | None = None) -> dict[str, float]:
    """Counter `name`'s totals by the value of `label` (all under "" when `label` is None)."""
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_total":
                key = sample.labels.get(label, "") if label else ""
                totals[key] = totals.get(key, 0.0) + float(sample.value)
    return totals


def subtract(after: Buckets, before: Buckets) -> Buckets:
    """What was observed between two readings of the same histogram."""
    earlier = dict(before)
    return [(bound, count - earlier.get(bound, 0.0)) for bound, count in after]


def quantile(q: float, buckets: Buckets) -> float | None:
    """The `q` quantile (0-1), interpolated within its bucket; None with no observations.

    The first bucket is taken to start at 0. A quantile landing in the `+Inf` bucket is
    `inf`: it is only known to exceed the highest finite bound.
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be within 0..1")
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank and count > lower_count:
            if math.isinf(bound):
                return math.inf
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return math.inf


def sample_quantile(values: Sequence[float], q: float) -> float | None:
    """The `q` quantile (0-1) of raw samples, interpolated between the nearest two (as
    numpy's default); None when empty. For benches that time every sample themselves."""
    if not 0 <= q <= 1:
        raise ValueError("q must be within 0..1")
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def highest_finite_bound(buckets: Buckets) -> float:
    finite = [bound for bound, _ in buckets if not math.isinf(bound)]
    return finite[-1] if finite else 0.0


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the report: a value, its unit, and the target it is held to (if any)."""

    key: str
    label: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if math.isinf(self.value):
            return f"> top bucket {self.unit}".rstrip()
        if self.unit == "ms":
            text = f"{self.value:,.1f}"
        elif abs(self.value) >= 100 or self.value == int(self.value):
            text = f"{self.value:,.0f}"
        else:
            text = f"{self.value:,.2f}"
        return f"{text} {self.unit}".rstrip()

    def verdict(self) -> str:
        return "" if self.passed is None else ("pass" if self.passed else "FAIL")

    def as_json(self) -> dict[str, object]:
        value = self.value
        return {
            "value": None if value is None or math.isinf(value) else value,
            "unit": self.unit,
            "target": self.target or None,
            "passed": self.passed,
            "note": self.note or None,
        }


def at_least(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def at_most(value: float | None, target: float) -> bool | None:
    return None if value is None else value <= target


def rate(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def all_passed(figures: Sequence[Figure]) -> bool:
    return all(figure.passed is not False for figure in figures)


def styled_verdict(figure: Figure | None) -> str:
    """`pass` in green, `FAIL` in bold red, nothing for a figure without a target."""
    verdict = "" if figure is None else figure.verdict()
    style = {"pass": "green", "FAIL": "bold red"}.get(verdict, "")
    return f"[{style}]{verdict}[/{style}]" if style else verdict


def render_figures(
    title: str,
    figures: Sequence[Figure],
    notes: Sequence[str],
    command: str,
    console: Console,
    *,
    label: Callable[[Figure], str] = lambda figure: figure.label,
) -> None:
    """The figures table, the notes, and the command line that reproduces them."""
    if not console.is_terminal:  # a log file or pipe: don't wrap the table at 80 columns
        console.width = max(console.width, 150)
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("result")
    table.add_column("note", style="dim")
    for figure in figures:
        table.add_row(
            label(figure), figure.shown(), figure.target, styled_verdict(figure), figure.note
        )
    console.print(table)
    print_footer(notes, command, console)


def print_footer(notes: Sequence[str], command: str, console: Console) -> None:
    for note in notes:
        console.print(f"[dim]- {note}[/dim]", highlight=False)
    console.print(f"machine: {os.cpu_count()} CPUs; reproduce with:")
    console.print(command, highlight=False, soft_wrap=True)


def write_json_file(payload: Mapping[str, object], path: Path) -> None:
    """A report's figures as JSON, for tracking runs over time."""
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
