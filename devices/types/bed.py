"""`bed`: a bed or chair pressure mat."""

from __future__ import annotations

from typing import Literal

from devices.envelope import Data, Envelope


class BedData(Data):
    occupied: bool


class BedTelemetry(Envelope):
    type: Literal["bed"]
    data: BedData
