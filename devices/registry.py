"""What the platform knows about a home's devices: the device registry's records."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from devices.telemetry import TelemetryType


class Home(BaseModel):
    """A home, as far as devices need it: where it is and its local time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home_id: Name
    address: str = Field(default="", max_length=300)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    timezone: str = Field(default="Asia/Shanghai", max_length=64, description="IANA zone")
    away: bool = False


class Device(BaseModel):
    """A provisioned device: which home it sits in, what it reports and how often."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: Name
    home_id: Name
    type: TelemetryType
    room: Name | None = None
    appliance: Name | None = None
    report_interval_s: int = Field(default=300, ge=1, le=7 * 86_400)
    password_hash: str = Field(repr=False, description="Mosquitto `$7$` PBKDF2-SHA512 hash")

    @property
    def place(self) -> str | None:
        """The room or appliance the device is attached to, if any."""
        return self.room or self.appliance


class DeviceDirectory(Protocol):
    """Looks a device up by id; the gateway and broker only ever read it."""

    def lookup(self, device_id: str) -> Device | None: ...
