"""Registering simulated homes and devices, and keeping their MQTT passwords.

The registry stores only password hashes, so the plaintext passwords handed
out at provisioning are saved to a credentials file (mode 0600) for
`anxin simulate` to publish with later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from devices.topics import is_valid_id
from records.devices import DeviceRegistry
from simulators.errors import SimulatorError
from simulators.fleet import FleetHome

FORMAT: Final = "anxin-simulator-credentials/1"


def provision(
    registry: DeviceRegistry,
    fleet: Sequence[FleetHome],
    *,
    known: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Register what is missing; return `{device_id: password}` for every device of the fleet.

    Devices registered earlier keep their passwords, which must then be in
    `known` (from `load_credentials`); that is checked before anything is added.
    """
    known = known or {}
    existing = {device.device_id: device for device in registry.devices()}
    homes = {home.home_id for home in registry.homes()}
    unknown = []
    for home in fleet:
        for device in home.devices:
            found = existing.get(device.device_id)
            if found is None:
                continue
            if found.home_id != home.home_id:
                raise SimulatorError(
                    f"device {device.device_id} is registered in home {found.home_id}, "
                    f"not {home.home_id}"
                )
            if device.device_id not in known:
                unknown.append(device.device_id)
    if unknown:
        raise SimulatorError(
            f"{len(unknown)} simulated devices are registered already but their passwords are "
            f"not known (first: {unknown[0]}); load the credentials file saved when they were "
            "provisioned"
        )
    credentials: dict[str, str] = {}
    for home in fleet:
        if home.home_id not in homes:
            registry.add_home(home.home)
        for device in home.devices:
            if device.device_id in existing:
                credentials[device.device_id] = known[device.device_id]
                continue
            _, password = registry.add_device(
                device_id=device.device_id,
                home_id=device.home_id,
                type=device.type,
                room=device.room,
                appliance=device.appliance,
                report_interval_s=device.report_interval_s,
            )
            credentials[device.device_id] = password
    return credentials


def save_credentials(path: Path, credentials: Mapping[str, str]) -> None:
    """Write `{device_id: password}` to `path`, readable by its owner only."""
    document = {"format": FORMAT, "devices": dict(sorted(credentials.items()))}
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
            json.dump(document, sink, indent=1)
            sink.write("\n")
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def load_credentials(path: Path) -> dict[str, str]:
    """Read a file written by `save_credentials`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SimulatorError(f"cannot read credentials file {path}: {error}") from None
    devices = document.get("devices") if isinstance(document, dict) else None
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or not isinstance(devices, dict)
    ):
        raise SimulatorError(f"{path} is not an Anxin simulator credentials file")
    credentials: dict[str, str] = {}
    for device_id, password in devices.items():
        if not is_valid_id(device_id) or not isinstance(password, str) or not password:
            raise SimulatorError(f"{path}: bad entry for device {device_id!r}")
        credentials[device_id] = password
    return credentials
