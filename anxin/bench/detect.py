"""`anxin bench detect`: simulated home-days with labelled incidents, through the pure engine.

A seeded fleet lives `learn_days` of healthy days (unscored: the learned activity
baseline trains on them), then `days` scored days in which every home gets one
incident of each kind the simulator injects (`anxin.bench.detect_plan`). The
merged stream (no MQTT) is converted as the gateway would and stepped through
`processors.engine.Engine` in event-time order, with a tick every simulated
minute. Detections are scored against the simulator's ground truth
(`anxin.bench.scoring`) and reported (`anxin.bench.detect_report`). Throughput
counts only the time spent inside the engine's `step`, single process.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from anxin.bench.detect_plan import (
    START_DATE,
    DetectOptions,
    context_for,
    minutes,
    plan_injections,
    to_gateway_event,
)
from anxin.bench.detect_report import DetectReport, figures, notes, render_report, write_json
from anxin.bench.scoring import BASELINE_KIND, score
from processors.detection import Detection
from processors.detector import DeviceProfile
from processors.engine import AnyDetector, Engine
from simulators.fleet import build_fleet
from simulators.stream import fleet_truth, merged, simulate_fleet

__all__ = [
    "DetectOptions",
    "DetectReport",
    "context_for",
    "load_detectors",
    "minutes",
    "plan_injections",
    "render_report",
    "run_detect",
    "to_gateway_event",
    "write_json",
]

Say = Callable[[str], None]


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
    engine_s = tick_s = engine_cpu_s = 0.0
    clock, cpu = time.perf_counter, time.process_time
    day_mark = start + timedelta(days=1)
    for edge, chunk in minutes(merged(simulations, start, end)):
        converted = [to_gateway_event(item, profiles) for item in chunk]
        out: list[tuple[int, list[Detection]]] = []
        began, began_cpu = clock(), cpu()
        for index, event in enumerate(converted):
            detections = engine.step(event)
            if detections:
                out.append((index, detections))
        engine_s += clock() - began
        engine_cpu_s += cpu() - began_cpu
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
        engine_cpu_s=engine_cpu_s,
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
