"""`leak`: a water leak sensor reporting wet opens a critical technical alert.

One `open` per device per wetting (a repeat while still wet adds nothing); the
home's alert is cancelled once every sensor that was wet reports dry again.
Readings older than a device's latest are ignored (late delivery after a newer state).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, NamedTuple

from pydantic import Field

from devices.events import GatewayEvent, Reading
from devices.types.leak import LeakTelemetry
from processors.detection import Action, AlertKind, Detection, reading_detection
from processors.detector import Detector, DetectorState, EventType, HomeContext, ReadingDetector
from processors.frozen import construct


class LeakSensor(NamedTuple):
    """A sensor as last read (a tuple: one is made per reading)."""

    wet: bool
    ts: datetime


class LeakState(DetectorState):
    sensors: dict[str, LeakSensor] = Field(default_factory=dict)
    """Per device: its latest state by reading time."""


class LeakDetector(ReadingDetector[LeakState]):
    """Readings alone: a leak is reported, not inferred from time."""

    kind: ClassVar[AlertKind] = "leak"
    state_type: ClassVar[type[DetectorState]] = LeakState
    reads: ClassVar[frozenset[EventType]] = frozenset({"leak"})

    def on_event(
        self, state: LeakState, event: GatewayEvent, home: HomeContext
    ) -> tuple[LeakState, list[Detection]]:
        """Open when a sensor turns wet; cancel when the last wet sensor is dry."""
        if not isinstance(event, Reading) or not isinstance(event.telemetry, LeakTelemetry):
            return state, []
        telemetry = event.telemetry
        known = state.sensors.get(event.device_id)
        if known is not None and telemetry.ts < known.ts:
            return state, []
        sensors = {**state.sensors, event.device_id: LeakSensor(telemetry.data.wet, telemetry.ts)}
        new_state = construct(LeakState, {"sensors": sensors})
        was_wet = known is not None and known.wet
        if telemetry.data.wet == was_wet:
            return new_state, []
        if not telemetry.data.wet and any(sensor.wet for sensor in sensors.values()):
            return new_state, []  # another sensor is still wet: the alert stands
        action: Action = "open" if telemetry.data.wet else "cancel"
        summary = (
            f"water leak detected by {event.device_id}"
            if telemetry.data.wet
            else f"leak sensor {event.device_id} dry again; no sensor reports wet"
        )
        detection = reading_detection(
            event,
            self.kind,
            action,
            summary=summary,
            details={"room": event.room},
        )
        return new_state, [detection]


DETECTOR: Detector[LeakState] = LeakDetector()
