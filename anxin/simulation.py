"""Simulated homes wired to a registry: provisioning them, and running them beside `anxin up`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from anxin.settings import Settings
from records.devices import DeviceRegistry
from simulators.fleet import build_fleet
from simulators.provision import load_credentials, provision, save_credentials
from simulators.run import SimulationOptions, run_simulation

log = structlog.get_logger("anxin.simulation")


def credentials_path(settings: Settings) -> Path:
    return settings.data_dir / "simulator-credentials.json"


def provision_fleet(
    registry: DeviceRegistry, *, homes: int, seed: int, credentials_file: Path
) -> dict[str, str]:
    """Register the simulated homes that are missing; keep every device's password in a 0600 file.

    A second run with the same seed reuses the homes, devices and passwords of the first.
    """
    known = load_credentials(credentials_file) if credentials_file.exists() else {}
    credentials = provision(registry, build_fleet(homes, seed=seed), known=known)
    save_credentials(credentials_file, {**known, **credentials})
    return credentials


async def start_simulation(
    settings: Settings,
    *,
    registry: DeviceRegistry,
    homes: int,
    seed: int,
    broker_host: str,
    broker_port: int,
    stop: asyncio.Event,
) -> asyncio.Task[object]:
    """Provision `homes` simulated homes and publish them in real time until `stop`."""
    credentials = await asyncio.to_thread(
        provision_fleet,
        registry,
        homes=homes,
        seed=seed,
        credentials_file=credentials_path(settings),
    )
    options = SimulationOptions(
        homes=homes,
        seed=seed,
        broker_host=broker_host,
        broker_port=broker_port,
        truth_path=settings.data_dir / "simulator-truth.jsonl",
    )
    log.info("simulation_started", homes=homes, devices=len(credentials))
    return asyncio.create_task(
        run_simulation(options, credentials=credentials, stop=stop), name="simulation"
    )
