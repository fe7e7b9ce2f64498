"""Time every detector's `on_event` and `on_tick` over simulated homes.

    .venv/bin/python -m tests.perf.detectors [--homes 3] [--days 3] [--repeat 3] [--profile NAME]

Builds `--homes` simulated homes over `--days` days, converts the simulator's
messages to gateway events up front, then for each detector replays the whole
stream in time order, calling `on_tick` for every home at each simulated minute
boundary, exactly as a runner would. Prints the best-of-`--repeat` CPU time per
event (on_event only) and per event including ticks, per detector and in total.
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

from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.detector import DetectorState, DeviceProfile, HomeContext
from processors.rules import HomeRules
from simulators.events import SimEvent
from simulators.fleet import FleetHome, build_fleet
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


def context(home: FleetHome) -> HomeContext:
    rules = HomeRules(home_id=home.home_id, timezone=home.home.timezone)
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
    return HomeContext(rules=rules, devices=devices)


def build_steps(homes: int, days: int, seed: int) -> tuple[list[Step], dict[str, HomeContext]]:
    fleet = build_fleet(homes, seed=seed)
    contexts = {home.home_id: context(home) for home in fleet}
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
    """Wall seconds of a pass without per-call timing overhead (events and ticks together)."""
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
        profiler.enable()
        run_untimed(detectors[args.profile], steps, contexts)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return

    print(f"{'detector':<20}{'event us/ev':>12}{'tick us/tick':>14}{'all us/ev':>11}{'found':>7}")
    total_event = total_tick = total_all = 0.0
    for name, detector in detectors.items():
        best_event = best_tick = best_all = float("inf")
        found = 0
        for _ in range(args.repeat):
            t_event, t_tick, found = run(detector, steps, contexts)
            best_event = min(best_event, t_event)
            best_tick = min(best_tick, t_tick)
            best_all = min(best_all, run_untimed(detector, steps, contexts))
        total_event += best_event
        total_tick += best_tick
        total_all += best_all
        print(
            f"{name:<20}{best_event / events * 1e6:>12.2f}{best_tick / ticks * 1e6:>14.2f}"
            f"{best_all / events * 1e6:>11.2f}{found:>7}"
        )
    print(
        f"{'TOTAL':<20}{total_event / events * 1e6:>12.2f}{total_tick / ticks * 1e6:>14.2f}"
        f"{total_all / events * 1e6:>11.2f}"
    )
    print("event: on_event per event; tick: on_tick per home-minute;")
    print("all: untimed pass (events + ticks) per event")


if __name__ == "__main__":
    main()
