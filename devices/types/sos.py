"""`sos`: a panic button or watch; `cancel` is the resident saying "I am fine"."""

from __future__ import annotations

from typing import Literal

from devices.envelope import Data, Envelope


class SosData(Data):
    action: Literal["press", "cancel"]


class SosTelemetry(Envelope):
    type: Literal["sos"]
    data: SosData
