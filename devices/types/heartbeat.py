"""`heartbeat`: liveness only, so silence can be told from a quiet home."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.envelope import Data, Envelope


class HeartbeatData(Data):
    rssi: float | None = Field(default=None, ge=-150, le=0, description="signal, dBm")
    firmware: str | None = Field(default=None, min_length=1, max_length=64)


class HeartbeatTelemetry(Envelope):
    type: Literal["heartbeat"]
    data: HeartbeatData = HeartbeatData()
