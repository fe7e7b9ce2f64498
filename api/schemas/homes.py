"""Homes and devices at the HTTP edge: provisioning bodies and what the API answers."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from api.schemas.common import Flag, Input, Lat, Lon, Name, Timezone
from devices.registry import Device
from devices.telemetry import TelemetryType
from devices.topics import status_topic, telemetry_topic
from records.homes import EmergencyContact, HomeProfile, Resident

Contacts = Annotated[tuple[EmergencyContact, ...], Field(max_length=10)]


class HomeCreate(Input):
    home_id: Name | None = Field(default=None, description="generated when absent")
    address: str = Field(default="", max_length=300)
    lat: Lat
    lon: Lon
    timezone: Timezone = "Asia/Shanghai"
    resident: Resident = Resident()
    emergency_contacts: Contacts = ()
    away: Flag = False


class HomeUpdate(Input):
    """A partial change: only the fields sent change; `resident` and
    `emergency_contacts` are replaced whole; null is refused (nothing is optional
    on a home once it exists)."""

    # `| SkipJsonSchema[None]`: absent means unchanged, but the document must not offer null.
    address: Annotated[str, Field(max_length=300)] | SkipJsonSchema[None] = None
    lat: Lat | SkipJsonSchema[None] = None
    lon: Lon | SkipJsonSchema[None] = None
    timezone: Timezone | SkipJsonSchema[None] = None
    resident: Resident | SkipJsonSchema[None] = None
    emergency_contacts: Contacts | SkipJsonSchema[None] = None
    away: Flag | SkipJsonSchema[None] = Field(
        default=None, description="pauses the activity rules, never sos, fall, smoke or leak"
    )

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class HomePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    home_id: str
    address: str
    lat: float
    lon: float
    timezone: str
    away: bool
    resident: Resident
    emergency_contacts: tuple[EmergencyContact, ...]

    @classmethod
    def of(cls, profile: HomeProfile) -> HomePublic:
        return cls(
            **profile.home.model_dump(),
            resident=profile.resident,
            emergency_contacts=profile.emergency_contacts,
        )


class DeviceCreate(Input):
    device_id: Name | None = Field(default=None, description="generated when absent")
    type: TelemetryType
    room: Name | None = None
    appliance: Name | None = Field(default=None, description="for a smart plug: stove, kettle…")
    report_interval_s: Annotated[int, Field(strict=True, ge=1, le=7 * 86_400)] = 300


class DevicePublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    home_id: str
    type: TelemetryType
    room: str | None
    appliance: str | None
    report_interval_s: int

    @classmethod
    def of(cls, device: Device) -> DevicePublic:
        return cls(**device.model_dump(exclude={"password_hash"}))


class DeviceProvisioned(DevicePublic):
    """A new device with its MQTT login; the password is shown this once and never again."""

    username: str = Field(description="MQTT username (and client id): the device id")
    password: str = Field(description="MQTT password, shown once")
    telemetry_topic: str
    status_topic: str

    @classmethod
    def with_login(cls, device: Device, password: str) -> DeviceProvisioned:
        return cls(
            **DevicePublic.of(device).model_dump(),
            username=device.device_id,
            password=password,
            telemetry_topic=telemetry_topic(device.home_id, device.device_id),
            status_topic=status_topic(device.home_id, device.device_id),
        )
