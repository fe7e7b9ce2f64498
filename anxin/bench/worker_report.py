"""`anxin bench worker`'s results: the detections as they arrive, the figures, and the report.

The runner feeds `DetectionLog` from `anxin.detections` and fills in what it timed;
this turns that into `Figure`s, rendered as a table for people and as JSON (`--json`)
for machines, both naming the command line that reproduces them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from anxin.bench.figures import Figure, rate, render_figures, write_json_file
from anxin.bench.worker_load import COMMIT_TIMEOUT_S, WorkerBenchOptions
from processors.detection import Detection


@dataclass(slots=True)
class DetectionLog:
    """Detections as they arrive: counts, repeats, and when the awaited homes' first came."""

    awaited: frozenset[str] = frozenset()
    """Home ids whose first detection is timed (the warm-up or closing presses)."""
    received: int = 0
    first: dict[str, bytes] = field(default_factory=dict)
    repeated: int = 0
    differing: int = 0
    arrived: dict[str, float] = field(default_factory=dict)

    def add(self, value: bytes, at: float) -> None:
        detection = Detection.model_validate_json(value)
        self.received += 1
        seen = self.first.setdefault(detection.detection_id, value)
        if seen is not value:
            self.repeated += 1
            if Detection.model_validate_json(seen) != detection:
                self.differing += 1
        if detection.home_id in self.awaited:
            self.arrived.setdefault(detection.home_id, at)

    def await_homes(self, homes: Sequence[str]) -> None:
        self.awaited = frozenset(homes)
        self.arrived = {}

    def all_arrived(self) -> bool:
        return self.awaited <= self.arrived.keys()

    @property
    def unique(self) -> int:
        return len(self.first)


@dataclass(slots=True)
class WorkerBenchReport:
    options: WorkerBenchOptions
    events: int = 0
    publish_s: float = 0.0
    judged_s: float = 0.0
    committed_s: float | None = None
    worker_cpu_s: float = 0.0
    worker_peak_mb: float = 0.0
    changelog_records: int = 0
    engine_detections: int = 0
    engine_missing: int = 0
    detections: DetectionLog = field(default_factory=DetectionLog)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "command": self.options.command(),
            "cpus": os.cpu_count(),
            "homes": self.options.homes,
            "events": self.events,
            "partitions": self.options.partitions,
            "publish_s": self.publish_s,
            "judged_s": self.judged_s,
            "committed_s": self.committed_s,
            "worker_cpu_s": self.worker_cpu_s,
            "changelog_records": self.changelog_records,
            "detections": {
                "received": self.detections.received,
                "unique": self.detections.unique,
                "repeated": self.detections.repeated,
                "differing": self.detections.differing,
                "engine": self.engine_detections,
                "engine_missing": self.engine_missing,
            },
            "figures": {figure.key: figure.as_json() for figure in self.figures},
            "notes": self.notes,
        }


def figures(report: WorkerBenchReport) -> list[Figure]:
    events = report.events
    log = report.detections
    cpu_us = report.worker_cpu_s / events * 1e6 if events else None
    committed = report.committed_s
    return [
        Figure(
            "events_per_s",
            "events judged per second, first publish to last closing detection",
            rate(events, report.judged_s),
            "events/s",
        ),
        Figure(
            "committed_per_s",
            "events per second, first publish to every offset committed",
            None if committed is None else rate(events, committed),
            "events/s",
            note=""
            if committed is not None
            else f"not all committed within {COMMIT_TIMEOUT_S:g} s",
        ),
        Figure(
            "publish_per_s",
            "publish rate (one aiokafka producer)",
            rate(events, report.publish_s),
            "events/s",
        ),
        Figure("worker_cpu_us", "worker CPU per event", cpu_us, "µs"),
        Figure("worker_peak_mb", "worker peak memory (VmHWM)", report.worker_peak_mb, "MB"),
        Figure(
            "changelog_per_event",
            "state changelog records written per event",
            report.changelog_records / events if events else None,
            "",
        ),
        Figure("detections", "detections received", float(log.received), ""),
        Figure("unique_detections", "distinct detection ids", float(log.unique), ""),
        Figure(
            "engine_missing",
            "the pure engine's detections not received",
            float(report.engine_missing),
            "",
            note=f"of {report.engine_detections:,}; the engine does not tick (the worker does)",
        ),
        Figure(
            "differing_repeats",
            "repeated ids with different content",
            float(log.differing),
            "",
            target="0",
            passed=log.differing == 0,
        ),
    ]


def notes(report: WorkerBenchReport) -> list[str]:
    said = [
        f"{report.options.homes:,} homes, {report.events:,} readings over "
        f"{report.options.partitions} partitions; one worker process; Tansu in memory",
    ]
    if report.detections.repeated:
        said.append(f"{report.detections.repeated:,} detections arrived more than once (same id)")
    return said


def render_report(report: WorkerBenchReport, console: Console) -> None:
    render_figures(
        "anxin bench worker", report.figures, report.notes, report.options.command(), console
    )


def write_json(report: WorkerBenchReport, path: Path) -> None:
    write_json_file(report.as_json(), path)
