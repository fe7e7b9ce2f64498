"""`leak`: a water leak sensor."""

from __future__ import annotations

from typing import Literal

from devices.envelope import Data, Envelope


class LeakData(Data):
    wet: bool


class LeakTelemetry(Envelope):
    type: Literal["leak"]
    data: LeakData
