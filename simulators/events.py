"""What a simulation emits: telemetry messages and device status changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One telemetry message a device of `home_id` publishes; `payload` validates as Telemetry."""

    ts: datetime
    home_id: str
    device_id: str
    payload: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.payload["type"])

    def body(self) -> bytes:
        """The payload as the device sends it: compact UTF-8 JSON."""
        return orjson.dumps(self.payload)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A device's status changing; `offline` is its last will firing."""

    ts: datetime
    home_id: str
    device_id: str
    status: Literal["online", "offline"]


SimItem = SimEvent | StatusEvent
