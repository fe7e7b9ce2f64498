"""Simulated homes wired to a registry: provisioning them, and running them beside `anxin up`."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from alerts.dispatching import DispatchService
from anxin.settings import Settings
from records.accounts import AccountStore, NewAccount
from records.devices import DeviceRegistry
from records.homes import EmergencyContact, HomeStore, Resident
from records.workers import NewWorker
from simulators.fleet import Role, build_fleet
from simulators.profile import ROLES, with_roles
from simulators.provision import load_credentials, provision, save_credentials
from simulators.run import SimulationOptions, run_simulation
from simulators.staff import build_staff, workers_for

log = structlog.get_logger("anxin.simulation")


def credentials_path(settings: Settings) -> Path:
    return settings.data_dir / "simulator-credentials.json"


def provision_fleet(
    registry: DeviceRegistry,
    *,
    homes: int,
    seed: int,
    credentials_file: Path,
    roles: Sequence[Role] = ROLES,
) -> dict[str, str]:
    """Register the simulated homes that are missing; keep every device's password in a 0600 file.

    Only the devices of `roles` are registered (a profile such as a watch alone), so
    the broker and detectors know exactly the devices that will connect. A second
    run with the same seed reuses the homes, devices and passwords of the first.
    """
    known = load_credentials(credentials_file) if credentials_file.exists() else {}
    fleet = [with_roles(home, roles) for home in build_fleet(homes, seed=seed)]
    credentials = provision(registry, fleet, known=known)
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


DEMO_LOGINS = "demo-logins.json"
FAMILY_HOMES = 3
"""Simulated homes the demo family account is linked to."""
WORKER_LOGINS = 10
"""Simulated workers who get a login (hashing thousands of passwords would delay start-up)."""


def demo_logins_path(settings: Settings) -> Path:
    return settings.data_dir / DEMO_LOGINS


async def provision_people(
    settings: Settings,
    engine: Engine,
    dispatching: DispatchService,
    *,
    homes: int,
    seed: int,
) -> dict[str, str]:
    """Residents, care workers and demo logins for a simulated neighbourhood.

    Workers (one per two homes, every skill covered) are added through the dispatch
    service, so they are matched at once; a dispatcher, the first workers and a
    family linked to the first homes get logins whose passwords are generated once and kept
    in a 0600 file in the data dir. Returns username -> password.
    """
    path = demo_logins_path(settings)
    logins: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    password = logins.get("dispatcher") or secrets.token_urlsafe(9)
    fleet = build_fleet(homes, seed=seed)
    home_store, accounts = HomeStore(engine), AccountStore(engine)
    now = datetime.now(UTC)

    def people() -> None:
        for home in fleet:
            resident = home.resident
            home_store.set_people(
                home.home_id,
                Resident(
                    name=resident.name,
                    birth_year=resident.birth_year,
                    conditions=resident.conditions,
                ),
                (EmergencyContact(name="Family contact", phone="+86 760 0000 0000"),),
            )
        demo = (
            ("dispatcher", "dispatcher", {"tier": 1}),
            ("family", "family", {"home_ids": tuple(h.home_id for h in fleet[:FAMILY_HOMES])}),
        )
        for username, role, extra in demo:
            if accounts.get(username) is None:
                accounts.create(
                    NewAccount.model_validate(
                        {"username": username, "password": password, "role": role, **extra}
                    ),
                    now=now,
                )
            logins[username] = password

    await asyncio.to_thread(people)
    staff = build_staff(workers_for(homes), seed=seed, today=now.date())
    for index, worker in enumerate(staff):
        login = index < WORKER_LOGINS
        if await asyncio.to_thread(dispatching.workers.get, worker.worker_id) is None:
            await dispatching.add_worker(
                NewWorker(
                    **worker.model_dump(),
                    on_shift=True,
                    username=worker.worker_id if login else None,
                    password=SecretStr(password) if login else None,
                )
            )
        if login:
            logins[worker.worker_id] = password
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(logins, indent=2) + "\n")
    return logins
