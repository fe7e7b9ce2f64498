"""CLI commands that change the registry: homes, devices, and the broker files made from it."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console

from anxin.registry import open_registry
from anxin.settings import PLACEHOLDER, Settings
from broker.access import ServiceAccount
from broker.mosquitto import export_mosquitto_config
from devices.registry import Home
from devices.telemetry import TELEMETRY_TYPES
from devices.topics import is_valid_id
from records.errors import RegistryError

out = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]anxin: {message}[/red]", highlight=False)
    return typer.Exit(2)


def _id(value: str) -> str:
    if not is_valid_id(value):
        raise typer.BadParameter("ids are 1-64 of A-Z a-z 0-9 _ -")
    return value


def add_home(
    settings: Settings,
    home_id: str,
    lat: float,
    lon: float,
    timezone: str,
    address: str,
) -> None:
    try:
        home = Home(home_id=home_id, lat=lat, lon=lon, timezone=timezone, address=address)
    except ValidationError as error:
        raise _fail(f"invalid home: {error.errors()[0]['msg']}") from None
    try:
        open_registry(settings).add_home(home)
    except RegistryError as error:
        raise _fail(str(error)) from None
    out.print(f"home {home_id} added")


def add_device(
    settings: Settings,
    *,
    home_id: str,
    device_id: str,
    type: str,
    room: str | None,
    appliance: str | None,
    report_interval_s: int,
) -> None:
    if type not in TELEMETRY_TYPES:
        raise _fail(f"type must be one of {', '.join(TELEMETRY_TYPES)}")
    try:
        device, password = open_registry(settings).add_device(
            device_id=device_id,
            home_id=home_id,
            type=type,  # type: ignore[arg-type]
            room=room,
            appliance=appliance,
            report_interval_s=report_interval_s,
        )
    except (RegistryError, ValidationError) as error:
        raise _fail(str(error).splitlines()[0]) from None
    out.print(f"device {device.device_id} added to home {device.home_id}")
    out.print(
        f"MQTT username: {device.device_id}\nMQTT password: {password}  (shown once)",
        highlight=False,
    )


def broker_config(
    settings: Settings, out_dir: Path, accounts: list[str], owner: str | None
) -> None:
    password = settings.mqtt.password.get_secret_value()
    names = accounts or [settings.mqtt.username]
    offers_password = settings.alerts.mqtt_password.get_secret_value()
    try:
        service = [ServiceAccount.with_password(name, password) for name in names]
        if offers_password != PLACEHOLDER and settings.alerts.mqtt_username not in names:
            # The account `anxin api` publishes worker offers with, on its own password.
            service.append(
                ServiceAccount.with_password(settings.alerts.mqtt_username, offers_password)
            )
        paths = export_mosquitto_config(open_registry(settings), service, out_dir, owner=owner)
    except ValueError as error:
        raise _fail(str(error)) from None
    for path in paths:
        out.print(str(path))
