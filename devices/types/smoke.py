"""`smoke`: a smoke or carbon monoxide detector."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.envelope import Data, Envelope


class SmokeData(Data):
    alarm: bool
    co_ppm: float | None = Field(default=None, ge=0, le=10_000, description="CO, ppm")


class SmokeTelemetry(Envelope):
    type: Literal["smoke"]
    data: SmokeData
