"""`environment`: room climate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.envelope import Data, Envelope, Name


class EnvironmentData(Data):
    room: Name
    temperature: float = Field(ge=-40, le=70, description="room air, °C")
    humidity: float = Field(ge=0, le=100, description="relative humidity, %")


class EnvironmentTelemetry(Envelope):
    type: Literal["environment"]
    data: EnvironmentData
