"""What the gateway hands on to processing: accepted readings and device status changes.

The vocabulary shared by the gateway (which makes them) and the processors (which
judge them); on Kafka `anxin.telemetry` each is one JSON value keyed by `home_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from devices.envelope import Name
from devices.telemetry import Telemetry


class Reading(BaseModel):
    """An accepted telemetry message with who sent it, as the topic and registry say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["reading"] = "reading"
    home_id: Name
    device_id: Name
    room: Name | None = None
    """The device's registered room, for types whose data does not name one."""
    appliance: Name | None = None
    received_at: datetime
    telemetry: Telemetry


class StatusChange(BaseModel):
    """A device said it is online, or its last will said it went offline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["status"] = "status"
    home_id: Name
    device_id: Name
    status: Literal["online", "offline"]
    at: datetime


GatewayEvent = Reading | StatusChange
