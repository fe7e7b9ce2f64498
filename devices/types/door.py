"""`door`: a contact sensor on a door (front, fridge, bathroom, ...)."""

from __future__ import annotations

from typing import Literal

from devices.envelope import Data, Envelope, Name


class DoorData(Data):
    door: Name
    open: bool


class DoorTelemetry(Envelope):
    type: Literal["door"]
    data: DoorData
