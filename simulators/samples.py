"""Replaying the contract's sample payloads (`tests/contract/samples/*.json`) through a broker.

Each sample `<type>.json` is published by its own device, `<home_id>-<type>`,
of a home made for the purpose; `samples_home` describes it so `provision`
can register it first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Final, cast

import orjson

from devices.registry import Home
from devices.telemetry import TELEMETRY_TYPES, TelemetryType
from simulators.errors import SimulatorError
from simulators.fleet import ZHONGSHAN, FleetHome, Resident, Role, SimDevice
from simulators.link import BrokerAddress
from simulators.publisher import Publisher

SAMPLES_HOME: Final = "sim-samples"
_ROLE: Final[dict[str, Role]] = {
    "vitals": "wearable",
    "fall": "wearable",
    "sos": "wearable",
    "motion": "motion",
    "door": "door",
    "bed": "bed",
    "power": "stove",
    "leak": "leak",
    "smoke": "smoke",
    "environment": "climate",
    "heartbeat": "motion",
}


def load_samples(directory: Path) -> list[tuple[TelemetryType, bytes]]:
    """`(type, raw payload)` for every `<type>.json` in `directory`, sorted by type."""
    samples = []
    for path in sorted(directory.glob("*.json")):
        if path.stem not in TELEMETRY_TYPES:
            raise SimulatorError(f"sample {path.name} is not named after a telemetry type")
        samples.append((cast(TelemetryType, path.stem), path.read_bytes()))
    if not samples:
        raise SimulatorError(f"no samples (*.json) in {directory}")
    return samples


def samples_home(directory: Path, home_id: str = SAMPLES_HOME) -> FleetHome:
    """A home with one device per sample, for `provision`."""
    devices = []
    for type_, raw in load_samples(directory):
        data = orjson.loads(raw).get("data", {})
        room, appliance = data.get("room"), data.get("appliance")
        devices.append(
            SimDevice(
                device_id=f"{home_id}-{type_}",
                home_id=home_id,
                role=_ROLE[type_],
                type=type_,
                room=room if isinstance(room, str) else None,
                appliance=appliance if isinstance(appliance, str) else None,
                report_interval_s=300,
            )
        )
    home = Home(home_id=home_id, address="contract samples", lat=ZHONGSHAN[0], lon=ZHONGSHAN[1])
    return FleetHome(
        home=home,
        resident=Resident(name="Sample Resident", birth_year=1940),
        devices=tuple(devices),
    )


async def replay_samples(
    directory: Path,
    *,
    host: str,
    port: int,
    credentials: Mapping[str, str] | None = None,
    home_id: str = SAMPLES_HOME,
    restamp: datetime | None = None,
    timeout_s: float = 30.0,
) -> int:
    """Publish every sample once (QoS 1) from its device; returns how many the broker acknowledged.

    The bytes go out as they are in the files, unless `restamp` is given: then
    only `ts` is replaced (RFC 3339), e.g. to keep them inside a retention window.
    """
    credentials = credentials or {}
    publisher = Publisher(BrokerAddress(host, port))
    samples = load_samples(directory)
    for type_, _ in samples:
        device_id = f"{home_id}-{type_}"
        publisher.add(device_id, home_id, credentials.get(device_id))
    try:
        await publisher.connect_all(timeout_s=timeout_s)
        for type_, raw in samples:
            if restamp is not None:
                document = orjson.loads(raw)
                document["ts"] = restamp.isoformat()
                raw = orjson.dumps(document)
            publisher.publish(f"{home_id}-{type_}", raw)
            await asyncio.sleep(0)
        await publisher.wait_acked(timeout_s=timeout_s)
    finally:
        await publisher.close(offline=False)
    return publisher.stats.acked
