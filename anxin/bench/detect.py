"""`anxin bench detect`: simulated home-days with labelled incidents, through the pure engine.

A seeded fleet lives `learn_days` of healthy days (unscored: the learned activity
baseline trains on them), then `days` scored days in which every home gets one
incident of each kind the simulator injects, spread over its days and times of
day. The merged stream (no MQTT) is converted as the gateway would (payload →
`Telemetry`, status → `StatusChange`), stepped through `processors.engine.Engine`
in event-time order, with a tick every simulated minute. Detections are scored
against the simulator's ground truth (`anxin.bench.scoring`). Throughput counts
only the time spent inside the engine's `step`, single process.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, cast
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from anxin.bench.figures import Figure, all_passed, at_least
from anxin.bench.scoring import (
    BASELINE_KIND,
    BASELINE_TRUTH,
    EARLY,
    KindScore,
    Score,
    max_delay,
    quantile,
    score,
)
from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.detector import DeviceProfile, HomeContext
from processors.engine import AnyDetector, Engine
from processors.rules import HomeRules
from simulators.events import SimEvent, SimItem
from simulators.fleet import FleetHome, build_fleet
from simulators.injections import KINDS, Injection, InjectionKind
from simulators.stream import fleet_truth, merged, simulate_fleet
from simulators.truth import TruthRecord

MUST_FIND: Final = frozenset({"sos", "fall", "smoke", "leak", "stove_unattended"})
"""Kinds held to recall 1.0; every other injected kind to `TARGET_RECALL`."""
TARGET_RECALL: Final = 0.95
TARGET_FALSE_PER_HOME_DAY: Final = 0.05
TARGET_EVENTS_PER_S: Final = 100_000.0
START_DATE: Final = "2026-03-02"
TICK: Final = timedelta(minutes=1)

# Local hours at which incidents are asked for; the simulator moves a request
# that makes no sense then to the next suitable moment (truth says when).
_NIGHT, _MORNING, _AFTERNOON, _EVENING = 1, 10, 15, 19
_SLOTS: Final[dict[str, tuple[int, ...]]] = {
    "night_wandering": (_NIGHT,),
    "bed_exit": (_NIGHT,),
    "inactivity": (_MORNING,),
    "stove_unattended": (_AFTERNOON, _MORNING),
}
_ANY: Final = (_MORNING, _AFTERNOON, _EVENING, _NIGHT)


@dataclass(frozen=True, slots=True)
class DetectOptions:
    homes: int = 10
    days: int = 4
    learn_days: int = 14
    seed: int = 1
    timezone: str = "Asia/Shanghai"
    json_path: Path | None = None

    @property
    def home_days(self) -> int:
        return self.homes * self.days

    def command(self) -> str:
        """The command line that reproduces this run."""
        argv = [
            "anxin",
            "bench",
            "detect",
            f"--homes={self.homes}",
            f"--days={self.days}",
            f"--learn-days={self.learn_days}",
            f"--seed={self.seed}",
        ]
        return shlex.join(argv)


@dataclass(slots=True)
class DetectReport:
    options: DetectOptions
    score: Score
    injections: list[Injection]
    truth: list[TruthRecord]
    events: int = 0
    engine_s: float = 0.0
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
                "ticks": self.ticks,
                "tick_s": self.tick_s,
            },
            "figures": {figure.key: figure.as_json() for figure in self.figures},
            "notes": self.notes,
            "all_targets_met": all_passed(self.figures),
        }


Say = Callable[[str], None]


def plan_injections(
    fleet: Sequence[FleetHome], options: DetectOptions, start: datetime
) -> list[Injection]:
    """One incident of every kind per home, spread over its scored days and times of day.

    `device_offline` silences its device for good, so it comes last in each home.
    """
    zone = ZoneInfo(options.timezone)
    planned: list[Injection] = []
    for home in fleet:
        rng = random.Random(f"{options.seed}:{home.home_id}:bench-detect")
        free = {(day, hour) for day in range(options.days) for hour in _ANY}
        kinds = [cast(InjectionKind, kind) for kind in KINDS if kind != "device_offline"]
        kinds.sort(key=lambda kind: (kind not in _SLOTS, rng.random()))
        chosen: list[tuple[int, int, InjectionKind]] = []
        for kind in kinds:
            allowed = _SLOTS.get(kind, _ANY)
            options_left = sorted(slot for slot in free if slot[1] in allowed)
            if not options_left:
                options_left = [(day, hour) for day in range(options.days) for hour in allowed]
            slot = rng.choice(options_left)
            free.discard(slot)
            chosen.append((slot[0], slot[1], kind))
        last_day = max(day for day, _, _ in chosen)
        chosen.append((last_day, 22, "device_offline"))
        for day, hour, kind in chosen:
            local = (start + timedelta(days=options.learn_days + day)).astimezone(zone)
            at = local.replace(hour=hour, minute=rng.randrange(0, 50))
            offset = timedelta(seconds=round((at - start).total_seconds()))
            planned.append(Injection(kind=kind, home_id=home.home_id, offset=offset))
    return planned


def context_for(home: FleetHome, timezone: str) -> HomeContext:
    """What the registry would tell the engine about a simulated home."""
    devices = {
        device.device_id: DeviceProfile(
            device_id=device.device_id,
            type=device.type,
            room=device.room,
            appliance=device.appliance,
            report_interval_s=device.report_interval_s,
        )
        for device in home.devices
    }
    return HomeContext(rules=HomeRules(home_id=home.home_id, timezone=timezone), devices=devices)


def to_gateway_event(item: SimItem, devices: dict[str, DeviceProfile]) -> GatewayEvent:
    """A simulator message as the gateway hands it on: decoded telemetry or a status change."""
    if isinstance(item, SimEvent):
        profile = devices.get(item.device_id)
        return Reading(
            home_id=item.home_id,
            device_id=item.device_id,
            room=profile.room if profile else None,
            appliance=profile.appliance if profile else None,
            received_at=item.ts,
            telemetry=TELEMETRY_ADAPTER.validate_python(item.payload),
        )
    return StatusChange(
        home_id=item.home_id, device_id=item.device_id, status=item.status, at=item.ts
    )


def minutes(items: Iterator[SimItem]) -> Iterator[tuple[datetime, list[SimItem]]]:
    """The stream cut at each whole minute: (the minute's end, the items before it)."""
    chunk: list[SimItem] = []
    edge: datetime | None = None
    for item in items:
        if edge is None:
            edge = item.ts.replace(second=0, microsecond=0) + TICK
        while item.ts >= edge:
            yield edge, chunk
            chunk = []
            edge += TICK
        chunk.append(item)
    if edge is not None:
        yield edge, chunk


def load_detectors() -> tuple[list[AnyDetector], list[str]]:
    """The catalogue's detectors, and the names of modules not (yet) there."""
    from processors.catalogue import DETECTOR_MODULES

    found: list[AnyDetector] = []
    missing: list[str] = []
    for name in DETECTOR_MODULES:
        try:
            module = importlib.import_module(f"processors.detectors.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"processors.detectors.{name}":
                raise
            missing.append(name)
            continue
        found.append(module.DETECTOR)
    return found, missing


def run_detect(
    options: DetectOptions, say: Say, detectors: Sequence[AnyDetector] | None = None
) -> DetectReport:
    zone = ZoneInfo(options.timezone)
    start = datetime.fromisoformat(START_DATE).replace(tzinfo=zone)
    scored_from = start + timedelta(days=options.learn_days)
    end = scored_from + timedelta(days=options.days)
    fleet = build_fleet(options.homes, seed=options.seed, timezone=options.timezone)
    injections = plan_injections(fleet, options, start)
    simulations = simulate_fleet(fleet, start, seed=options.seed, injections=injections)
    truth = [r for r in fleet_truth(simulations, end) if scored_from <= r.start < end]
    contexts = {home.home_id: context_for(home, options.timezone) for home in fleet}
    profiles: dict[str, DeviceProfile] = {}
    for context in contexts.values():
        profiles.update(context.devices)
    missing: list[str] = []
    if detectors is None:
        chosen, missing = load_detectors()
    else:
        chosen = list(detectors)
    engine = Engine(chosen, contexts.__getitem__)
    say(
        f"detect: {options.homes} homes x ({options.learn_days} learning + {options.days} scored)"
        f" days, {len(injections)} incidents, {len(chosen)} detectors"
    )
    found: list[Detection] = []
    seen_at: dict[str, datetime] = {}
    events = ticks = 0
    engine_s = tick_s = 0.0
    clock = time.perf_counter
    day_mark = start + timedelta(days=1)
    for edge, chunk in minutes(merged(simulations, start, end)):
        converted = [to_gateway_event(item, profiles) for item in chunk]
        out: list[tuple[int, list[Detection]]] = []
        began = clock()
        for index, event in enumerate(converted):
            detections = engine.step(event)
            if detections:
                out.append((index, detections))
        engine_s += clock() - began
        events += len(converted)
        for index, detections in out:
            _emitted(detections, chunk[index].ts, found, seen_at)
        began = clock()
        detections = engine.tick(edge)
        tick_s += clock() - began
        _emitted(detections, edge, found, seen_at)
        ticks += 1
        if edge >= day_mark:
            say(f"detect: simulated {(edge - start).days} days, {events:,} events")
            day_mark += timedelta(days=1)
    result = score(
        found,
        truth,
        home_days=options.home_days,
        since=scored_from,
        until=end,
        baseline=any(detector.kind == BASELINE_KIND for detector in chosen),
        seen_at=seen_at,
    )
    report = DetectReport(
        options=options,
        score=result,
        injections=injections,
        truth=truth,
        events=events,
        engine_s=engine_s,
        ticks=ticks,
        tick_s=tick_s,
        detectors=tuple(detector.kind for detector in chosen),
    )
    report.figures = figures(report)
    report.notes = notes(report, set(report.detectors))
    if missing:
        report.notes.insert(0, f"detector modules missing: {', '.join(missing)}")
    return report


def _emitted(
    detections: list[Detection], now: datetime, found: list[Detection], seen_at: dict[str, datetime]
) -> None:
    found.extend(detections)
    for detection in detections:
        seen_at.setdefault(detection.detection_id, now)


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
            _verdict(figure),
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
            f"{figure.label}: {figure.shown()} (target {figure.target}) {_verdict(figure)}",
            highlight=False,
        )
    console.print(
        f"engine: {report.events:,} events in {report.engine_s:.2f} s of step time; "
        f"{report.ticks:,} minute ticks in {report.tick_s:.2f} s",
        highlight=False,
    )
    for note in report.notes:
        console.print(f"[dim]- {note}[/dim]", highlight=False)
    console.print(f"machine: {os.cpu_count()} CPUs; reproduce with:")
    console.print(options.command(), highlight=False, soft_wrap=True)


def _verdict(figure: Figure | None) -> str:
    verdict = "" if figure is None else figure.verdict()
    style = {"pass": "green", "FAIL": "bold red"}.get(verdict, "")
    return f"[{style}]{verdict}[/{style}]" if style else verdict


def write_json(report: DetectReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
