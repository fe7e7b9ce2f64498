"""Simulated homes as time-ordered streams of device messages, and their ground truth.

The entry points a benchmark or test needs, all pure: `generate` one home's
messages, `ground_truth` for it, or a whole fleet `merged` into one stream.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from simulators.errors import SimulatorError
from simulators.events import SimEvent, SimItem, StatusEvent
from simulators.fleet import FleetHome
from simulators.home import HomeSimulation
from simulators.injections import DEVICE_KINDS, Injection
from simulators.truth import TruthRecord

__all__ = [
    "HomeSimulation",
    "SimEvent",
    "SimItem",
    "StatusEvent",
    "check_injections",
    "fleet_truth",
    "generate",
    "ground_truth",
    "merge",
    "merged",
    "simulate_fleet",
]


def generate(
    home: FleetHome,
    start: datetime,
    end: datetime | None,
    *,
    seed: int = 0,
    injections: Sequence[Injection] = (),
) -> Iterator[SimItem]:
    """The home's messages over [start, end), with `injections` (offsets from `start`)."""
    return HomeSimulation(home, seed=seed, start=start, injections=injections).items(start, end)


def ground_truth(
    home: FleetHome,
    start: datetime,
    end: datetime | None,
    *,
    seed: int = 0,
    injections: Sequence[Injection] = (),
) -> list[TruthRecord]:
    """What `generate` with the same arguments should make a detector raise, and when."""
    return HomeSimulation(home, seed=seed, start=start, injections=injections).truth(end)


def check_injections(fleet: Sequence[FleetHome], injections: Iterable[Injection]) -> None:
    """Raise `SimulatorError` for an injection naming a home or device not in the fleet."""
    homes = {home.home_id: home for home in fleet}
    for injection in injections:
        home = homes.get(injection.home_id)
        if home is None:
            span = f"{fleet[0].home_id}..{fleet[-1].home_id}" if fleet else "no homes"
            raise SimulatorError(
                f"injection {injection}: no home {injection.home_id} "
                f"in the simulated fleet ({span})"
            )
        if injection.device_id is not None:
            assert injection.kind in DEVICE_KINDS
            home.device(injection.device_id)


def simulate_fleet(
    fleet: Sequence[FleetHome],
    start: datetime,
    *,
    seed: int = 0,
    injections: Sequence[Injection] = (),
) -> list[HomeSimulation]:
    check_injections(fleet, injections)
    return [HomeSimulation(home, seed=seed, start=start, injections=injections) for home in fleet]


def merged(
    simulations: Sequence[HomeSimulation], start: datetime, end: datetime | None
) -> Iterator[SimItem]:
    """Every home's messages in one time-ordered stream."""
    return merge([simulation.items(start, end) for simulation in simulations])


def merge(streams: Iterable[Iterator[SimItem]]) -> Iterator[SimItem]:
    """Time-ordered streams into one (ties keep the order of `streams`)."""
    return heapq.merge(*streams, key=_item_time)


def _item_time(item: SimItem) -> datetime:
    return item.ts


def fleet_truth(simulations: Sequence[HomeSimulation], end: datetime | None) -> list[TruthRecord]:
    records = [record for simulation in simulations for record in simulation.truth(end)]
    return sorted(records, key=lambda record: (record.start, record.home_id, record.kind))
