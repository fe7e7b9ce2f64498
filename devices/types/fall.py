"""`fall`: an event from a fall detector (wearable, radar or camera-less sensor)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devices.envelope import Data, Envelope


class FallData(Data):
    confidence: float = Field(ge=0, le=1, description="detector's confidence, 0-1")


class FallTelemetry(Envelope):
    type: Literal["fall"]
    data: FallData
