"""`power`: a smart plug in front of an appliance (stove, kettle, ...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.envelope import Data, Envelope, Name


class PowerData(Data):
    appliance: Name
    watts: float = Field(ge=0, le=20_000, description="instantaneous draw, W")
    on: bool


class PowerTelemetry(Envelope):
    type: Literal["power"]
    data: PowerData
