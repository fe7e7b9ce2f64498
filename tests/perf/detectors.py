"""Time every detector's `on_event` and `on_tick` over simulated homes, and the engine.

    .venv/bin/python -m tests.perf.detectors [--homes 3] [--days 3] [--repeat 3] [--profile NAME]

Builds `--homes` simulated homes over `--days` days, converts the simulator's
messages to gateway events up front, then for each detector replays the stream
in time order as the engine routes it (only the events of the types it
`reads`), calling `on_tick` for every home at each simulated minute boundary,
exactly as a runner would. Prints the best-of-`--repeat` CPU time per event it
reads, per event of the whole stream (its share of the engine's cost) and per
tick, then the same for `Engine.step` with every detector: the difference from
the detectors' total is the engine's own cost per event.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from anxin.bench.detect_plan import context_for
from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.catalogue import all_detectors
from processors.detection import Detection
from processors.detector import (
    DetectorState,
    HomeContext,
    ReadingDetector,
    event_type,
)
from processors.engine import Engine
from simulators.events import SimEvent
from simulators.fleet import build_fleet
from simulators.stream import merged, simulate_fleet

NAMES = (
    "bathroom_long",
    "bed_exit",
    "device_offline",
    "fall",
    "home_climate",
    "inactivity",
    "leak",
    "low_battery",
    "news2",
    "night_wandering",
    "no_meal",
    "smoke",
    "sos",
    "stove_unattended",
    "unusual_inactivity",
)

START = datetime(2026, 3, 2, tzinfo=UTC)

Step = tuple[str, GatewayEvent | None, datetime]
"""(home_id, event, time): an event, or a tick of that home when the event is None."""


def build_steps(homes: int, days: int, seed: int) -> tuple[list[Step], dict[str, HomeContext]]:
    fleet = build_fleet(homes, seed=seed)
    contexts = {home.home_id: context_for(home, home.home.timezone) for home in fleet}
    sims = simulate_fleet(fleet, START, seed=seed)
    end = START + timedelta(days=days)
    steps: list[Step] = []
    next_tick = START + timedelta(minutes=1)
    for item in merged(sims, START, end):
        while item.ts >= next_tick:
            steps.extend((home_id, None, next_tick) for home_id in contexts)
            next_tick += timedelta(minutes=1)
        event: GatewayEvent
        if isinstance(item, SimEvent):
            home = next(h for h in fleet if h.home_id == item.home_id)
            device = home.device(item.device_id)
            event = Reading(
                home_id=item.home_id,
                device_id=item.device_id,
                room=device.room,
                appliance=device.appliance,
                received_at=item.ts,
                telemetry=TELEMETRY_ADAPTER.validate_python(item.payload),
            )
        else:
            event = StatusChange(
                home_id=item.home_id, device_id=item.device_id, status=item.status, at=item.ts
            )
        steps.append((item.home_id, event, item.ts))
    while next_tick <= end:
        steps.extend((home_id, None, next_tick) for home_id in contexts)
        next_tick += timedelta(minutes=1)
    return steps, contexts


def routed(detector: Any, steps: Sequence[Step]) -> list[Step]:
    """The steps that reach `detector` in the engine: the events it reads, and every tick
    unless it judges readings alone."""
    reads = detector.reads
    ticked = not isinstance(detector, ReadingDetector)
    return [item for item in steps if (ticked if item[1] is None else event_type(item[1]) in reads)]


def run(
    detector: Any, steps: Sequence[Step], contexts: dict[str, HomeContext]
) -> tuple[float, float, int]:
    """(seconds in on_event, seconds in on_tick, detections) for one pass."""
    states: dict[str, DetectorState] = {home_id: detector.initial() for home_id in contexts}
    on_event = detector.on_event
    on_tick = detector.on_tick
    clock = time.process_time
    t_event = 0.0
    t_tick = 0.0
    found = 0
    detections: list[Detection]
    for home_id, event, at in steps:
        home = contexts[home_id]
        state = states[home_id]
        if event is None:
            t0 = clock()
            state, detections = on_tick(state, at, home)
            t_tick += clock() - t0
        else:
            t0 = clock()
            state, detections = on_event(state, event, home)
            t_event += clock() - t0
        states[home_id] = state
        found += len(detections)
    return t_event, t_tick, found


def run_untimed(detector: Any, steps: Sequence[Step], contexts: dict[str, HomeContext]) -> float:
    """CPU seconds of a pass without per-call timing overhead (events and ticks together)."""
    states: dict[str, DetectorState] = {home_id: detector.initial() for home_id in contexts}
    on_event = detector.on_event
    on_tick = detector.on_tick
    t0 = time.process_time()
    for home_id, event, at in steps:
        home = contexts[home_id]
        if event is None:
            states[home_id], _ = on_tick(states[home_id], at, home)
        else:
            states[home_id], _ = on_event(states[home_id], event, home)
    return time.process_time() - t0


def run_engine(steps: Sequence[Step], contexts: dict[str, HomeContext]) -> tuple[float, float]:
    """(CPU seconds in `Engine.step`, in `Engine.tick`) over the steps, with every detector."""
    engine = Engine(all_detectors(), contexts.__getitem__)
    clock = time.process_time
    t_step = t_tick = 0.0
    at: datetime | None = None
    events: list[GatewayEvent] = []

    def flush() -> float:
        t0 = clock()
        for event in events:
            engine.step(event)
        spent = clock() - t0
        events.clear()
        return spent

    for _, event, when in steps:
        if event is not None:
            events.append(event)
        elif when != at:  # one Engine.tick per minute ticks every home
            t_step += flush()
            at = when
            t0 = clock()
            engine.tick(when)
            t_tick += clock() - t0
    t_step += flush()
    return t_step, t_tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=3)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="detector names to time")
    parser.add_argument("--profile", default=None, help="cProfile one detector by name")
    args = parser.parse_args()

    steps, contexts = build_steps(args.homes, args.days, args.seed)
    events = sum(1 for _, event, _ in steps if event is not None)
    ticks = len(steps) - events
    print(f"{args.homes} homes x {args.days} days: {events} events, {ticks} home-ticks")
    names = args.only or NAMES
    detectors = {
        name: importlib.import_module(f"processors.detectors.{name}").DETECTOR for name in names
    }

    if args.profile:
        profiler = cProfile.Profile()
        detector = detectors[args.profile]
        mine = routed(detector, steps)
        profiler.enable()
        run_untimed(detector, mine, contexts)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return

    print(
        f"{'detector':<20}{'reads':>7}{'us/read':>9}{'us/ev':>8}{'us/tick':>9}{'all us/ev':>11}"
        f"{'found':>7}"
    )
    total_event = total_tick = total_all = 0.0
    for name, detector in detectors.items():
        mine = routed(detector, steps)
        reads = sum(1 for _, event, _ in mine if event is not None)
        best_event = best_tick = best_all = float("inf")
        found = 0
        for _ in range(args.repeat):
            t_event, t_tick, found = run(detector, mine, contexts)
            best_event = min(best_event, t_event)
            best_tick = min(best_tick, t_tick)
            best_all = min(best_all, run_untimed(detector, mine, contexts))
        total_event += best_event
        total_tick += best_tick
        total_all += best_all
        per_tick = (
            "-" if isinstance(detector, ReadingDetector) else f"{best_tick / ticks * 1e6:.2f}"
        )
        print(
            f"{name:<20}{reads / events:>7.0%}{best_event / max(reads, 1) * 1e6:>9.2f}"
            f"{best_event / events * 1e6:>8.2f}{per_tick:>9}"
            f"{best_all / events * 1e6:>11.2f}{found:>7}"
        )
    print(
        f"{'detectors':<20}{'':>7}{'':>9}{total_event / events * 1e6:>8.2f}"
        f"{total_tick / ticks * 1e6:>9.2f}{total_all / events * 1e6:>11.2f}"
    )
    if args.only is None:
        best_step = best_engine_tick = float("inf")
        for _ in range(args.repeat):
            t_step, t_tick = run_engine(steps, contexts)
            best_step, best_engine_tick = min(best_step, t_step), min(best_engine_tick, t_tick)
        print(
            f"{'Engine.step/tick':<20}{'':>7}{'':>9}{best_step / events * 1e6:>8.2f}"
            f"{best_engine_tick / ticks * 1e6:>9.2f}{'':>11}   {events / best_step:,.0f} events/s"
        )
    print("reads: share of the events routed to it; us/read: on_event per event it reads;")
    print("us/ev: on_event per event of the stream; us/tick: on_tick per home-minute")
    print("(-: judges readings alone, never ticked);")
    print("all: untimed pass (its events + ticks) per event of the stream")


if __name__ == "__main__":
    main()
