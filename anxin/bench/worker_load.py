"""What `anxin bench worker` publishes: a simulated fleet's readings and the presses that time them.

The readings are simulated to end about now (the worker's wall-clock ticks see the
homes' recent past), with one incident per home, and encoded as the gateway publishes
them; an sos press from a home keyed onto each partition marks when that partition is
judged. The options live here too, with the time limits they imply: the runner and
the report both read them, and this module imports neither.
"""

from __future__ import annotations

import itertools
import random
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from simulators.events import SimEvent, SimItem
from simulators.fleet import FleetHome, build_fleet
from simulators.injections import Injection, InjectionKind
from simulators.stream import merged, simulate_fleet

EVENTS_PER_HOME_HOUR: Final = 96
"""What a simulated home sends per hour, about: sizes the simulated span to end near now."""
READY_TIMEOUT_S: Final = 120.0
COMMIT_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class WorkerBenchOptions:
    homes: int = 100
    events: int = 50_000
    partitions: int = 8
    seed: int = 1
    timezone: str = "Asia/Shanghai"
    json_path: Path | None = None
    keep: bool = False

    def __post_init__(self) -> None:
        if self.homes < 1:
            raise ValueError("homes must be at least 1")
        if self.events < 1:
            raise ValueError("events must be at least 1")
        if self.partitions < 1:
            raise ValueError("partitions must be at least 1")

    def command(self) -> str:
        """The command line that reproduces this run."""
        return shlex.join(
            [
                "anxin",
                "bench",
                "worker",
                f"--homes={self.homes}",
                f"--events={self.events}",
                f"--partitions={self.partitions}",
                f"--seed={self.seed}",
            ]
        )

    def judge_timeout_s(self) -> float:
        """How long the closing detections may take: generous, at 200 events/s at worst."""
        return READY_TIMEOUT_S + self.events / 200


def simulated_events(
    homes: int, count: int, *, seed: int, end: datetime, timezone: str = "Asia/Shanghai"
) -> list[GatewayEvent]:
    """The first `count` messages of `homes` simulated homes, as the gateway hands them on.

    The simulation starts early enough to end just before `end`, so the worker's
    wall-clock ticks see the homes' recent past, not hours of silence (nor readings
    from the future). Each home has one incident (an sos, a fall, a leak or smoke, in
    turn) somewhere in the first half of it.
    """
    fleet = build_fleet(homes, seed=seed, timezone=timezone)
    span = timedelta(hours=count / (homes * EVENTS_PER_HOME_HOUR))
    start = (end - span).replace(second=0, microsecond=0)
    injections = incidents(fleet, span, seed)
    for _ in range(8):
        simulations = simulate_fleet(fleet, start, seed=seed, injections=injections)
        items = list(itertools.islice(merged(simulations, start, None), count))
        late = items[-1].ts - end if items else timedelta(0)
        if late <= timedelta(0):
            break
        start -= late + timedelta(minutes=1)  # the fleet sent faster than estimated
    rooms = _rooms(fleet)
    return [gateway_event(item, rooms) for item in items]


INCIDENTS: Final[tuple[InjectionKind, ...]] = ("sos", "fall", "leak", "smoke")


def incidents(fleet: Sequence[FleetHome], span: timedelta, seed: int) -> list[Injection]:
    """One incident per home, kinds in turn, at a seeded moment in the first half of `span`."""
    rng = random.Random(f"{seed}:bench-worker")
    return [
        Injection(
            kind=INCIDENTS[index % len(INCIDENTS)],
            home_id=home.home_id,
            offset=timedelta(seconds=int(rng.uniform(0, span.total_seconds() / 2))),
        )
        for index, home in enumerate(fleet)
    ]


def _rooms(fleet: Sequence[FleetHome]) -> dict[str, tuple[str | None, str | None]]:
    return {
        device.device_id: (device.room, device.appliance)
        for home in fleet
        for device in home.devices
    }


def gateway_event(item: SimItem, rooms: dict[str, tuple[str | None, str | None]]) -> GatewayEvent:
    """A simulated message as the gateway hands it on: decoded telemetry or a status change."""
    if isinstance(item, SimEvent):
        room, appliance = rooms.get(item.device_id, (None, None))
        return Reading(
            home_id=item.home_id,
            device_id=item.device_id,
            room=room,
            appliance=appliance,
            received_at=item.ts,
            telemetry=TELEMETRY_ADAPTER.validate_python(item.payload),
        )
    return StatusChange(
        home_id=item.home_id, device_id=item.device_id, status=item.status, at=item.ts
    )


def home_on_partition(prefix: str, partition: int, partitions: int) -> str:
    """The first home id `prefix-N` whose key the default partitioner puts on `partition`."""
    from processors.faust_app import partition_of

    if not 0 <= partition < partitions:
        raise ValueError(f"partition {partition} is not one of 0..{partitions - 1}")
    for n in itertools.count():
        home_id = f"{prefix}-{n}"
        if partition_of(home_id.encode(), partitions) == partition:
            return home_id
    raise AssertionError("unreachable")  # pragma: no cover


def sos_presses(prefix: str, partitions: int, at: datetime) -> list[Reading]:
    """One sos press per partition, from a home of its own there: each opens an alert."""
    return [
        Reading(
            home_id=home_on_partition(prefix, partition, partitions),
            device_id=f"{prefix}-button",
            received_at=at,
            telemetry=TELEMETRY_ADAPTER.validate_python(
                {"type": "sos", "ts": at.isoformat(), "seq": 1, "data": {"action": "press"}}
            ),
        )
        for partition in range(partitions)
    ]


def engine_detections(events: Sequence[GatewayEvent]) -> list[Detection]:
    """What the pure engine finds in the same readings, on default rules, without ticks."""
    from processors.catalogue import all_detectors
    from processors.detector import HomeContext
    from processors.engine import Engine
    from processors.rules import HomeRules

    engine = Engine(all_detectors(), lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
    return engine.step_all(list(events))


def encode(event: GatewayEvent) -> tuple[bytes, bytes]:
    """Key and value as the gateway publishes them."""
    return event.home_id.encode(), event.model_dump_json().encode()
