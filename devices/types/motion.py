"""`motion`: a PIR sensor in one room."""

from __future__ import annotations

from typing import Literal

from devices.envelope import Data, Envelope, Name


class MotionData(Data):
    room: Name
    motion: bool


class MotionTelemetry(Envelope):
    type: Literal["motion"]
    data: MotionData
