"""The device registry in SQL: homes and devices with their MQTT credentials."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.credentials import hash_password, new_password
from devices.registry import Device, Home
from devices.telemetry import TelemetryType
from records.database import migrate, open_engine
from records.errors import RegistryError
from records.homes import HomeProfile, HomeStore, home_from_row
from records.schema import DeviceRow, HomeRow, as_utc


class DeviceRegistry:
    """Homes and devices with their hashed MQTT credentials."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_home(self, home: Home) -> Home:
        """A home without its people yet (`records.homes.HomeStore` manages those)."""
        return HomeStore(self._engine).create(HomeProfile(home=home)).home

    def add_device(
        self,
        *,
        device_id: str,
        home_id: str,
        type: TelemetryType,
        room: str | None = None,
        appliance: str | None = None,
        report_interval_s: int = 300,
        password: str | None = None,
    ) -> tuple[Device, str]:
        """Provision a device; returns it with its MQTT password, the only time it is shown."""
        secret = password or new_password()
        device = Device(
            device_id=device_id,
            home_id=home_id,
            type=type,
            room=room,
            appliance=appliance,
            report_interval_s=report_interval_s,
            password_hash=hash_password(secret),
        )
        try:
            with Session(self._engine) as session, session.begin():
                if session.get(HomeRow, home_id) is None:
                    raise RegistryError(f"home {home_id} does not exist")
                if session.get(DeviceRow, device_id) is not None:
                    raise RegistryError(f"device {device_id} already exists")
                session.add(DeviceRow(**device.model_dump(), created_at=datetime.now(UTC)))
        except IntegrityError:  # provisioned concurrently between the check and the commit
            raise RegistryError(f"device {device_id} already exists") from None
        return device, secret

    def lookup(self, device_id: str) -> Device | None:
        with Session(self._engine) as session:
            row = session.get(DeviceRow, device_id)
            return None if row is None else _device(row)

    def devices(self) -> list[Device]:
        with Session(self._engine) as session:
            return [_device(row) for row in session.scalars(select(DeviceRow))]

    def devices_of(self, home_id: str) -> list[Device]:
        """One home's devices, in id order."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(DeviceRow).where(DeviceRow.home_id == home_id).order_by(DeviceRow.device_id)
            )
            return [_device(row) for row in rows]

    def homes(self) -> list[Home]:
        with Session(self._engine) as session:
            return [home_from_row(row) for row in session.scalars(select(HomeRow))]

    def changed_since(
        self, since: datetime, *, most: int = 5000
    ) -> tuple[list[Home], list[Device]] | None:
        """Homes created or changed at `since` or later, or given a device since, with all
        their devices; None when more than `most` did (reloading everything is cheaper)."""
        at = as_utc(since)
        touched = (
            select(HomeRow.home_id)
            .where(HomeRow.changed_at >= at)
            .union(select(DeviceRow.home_id).where(DeviceRow.created_at >= at))
        )
        with Session(self._engine) as session:
            home_ids = list(session.scalars(touched.limit(most + 1)))
            if len(home_ids) > most:
                return None
            if not home_ids:
                return [], []
            homes = session.scalars(select(HomeRow).where(HomeRow.home_id.in_(home_ids)))
            devices = session.scalars(select(DeviceRow).where(DeviceRow.home_id.in_(home_ids)))
            return [home_from_row(row) for row in homes], [_device(row) for row in devices]

    def home(self, home_id: str) -> Home | None:
        with Session(self._engine) as session:
            row = session.get(HomeRow, home_id)
            return None if row is None else home_from_row(row)


def _device(row: DeviceRow) -> Device:
    return Device.model_validate(
        {
            "device_id": row.device_id,
            "home_id": row.home_id,
            "type": row.type,
            "room": row.room,
            "appliance": row.appliance,
            "report_interval_s": row.report_interval_s,
            "password_hash": row.password_hash,
        }
    )


def open_registry(url: str) -> DeviceRegistry:
    """The registry in the database at `url`, its schema brought to the newest migration."""
    engine = open_engine(url)
    migrate(engine)
    return DeviceRegistry(engine)
