"""`smoke`: a smoke alarm, or carbon monoxide at or above 50 ppm, opens a critical medical alert.

50 ppm is the lowest concentration at which a domestic CO alarm must sound
under EN 50291-1:2018 (alarm between 60 and 90 min of exposure at 50 ppm); a
reading at that level is reason enough to send someone, who may be too drowsy
to act. One `open` per device per alarm; the home's alert is cancelled once
every detector that alarmed reads clear (no alarm and CO under the threshold).
Readings older than a device's latest are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final, NamedTuple

from pydantic import Field

from devices.events import GatewayEvent, Reading
from devices.types.smoke import SmokeTelemetry
from processors.detection import Action, AlertKind, Detection, reading_detection
from processors.detector import Detector, DetectorState, EventType, HomeContext, ReadingDetector
from processors.frozen import construct

CO_ALARM_PPM: Final = 50.0
"""EN 50291-1 lowest alarm concentration, ppm."""


class SmokeSensor(NamedTuple):
    """A sensor as last read (a tuple: one is made per reading)."""

    alarming: bool
    ts: datetime


class SmokeState(DetectorState):
    sensors: dict[str, SmokeSensor] = Field(default_factory=dict)
    """Per device: whether it alarms, by its latest reading time."""


def alarming(telemetry: SmokeTelemetry) -> bool:
    """Smoke alarm on, or CO at or above `CO_ALARM_PPM`."""
    co_ppm = telemetry.data.co_ppm
    return telemetry.data.alarm or (co_ppm is not None and co_ppm >= CO_ALARM_PPM)


class SmokeDetector(ReadingDetector[SmokeState]):
    """Readings alone: an alarm is reported, not inferred from time."""

    kind: ClassVar[AlertKind] = "smoke"
    state_type: ClassVar[type[DetectorState]] = SmokeState
    reads: ClassVar[frozenset[EventType]] = frozenset({"smoke"})

    def on_event(
        self, state: SmokeState, event: GatewayEvent, home: HomeContext
    ) -> tuple[SmokeState, list[Detection]]:
        """Open when a detector alarms; cancel when the last alarming one is clear."""
        if not isinstance(event, Reading) or not isinstance(event.telemetry, SmokeTelemetry):
            return state, []
        telemetry = event.telemetry
        known = state.sensors.get(event.device_id)
        if known is not None and telemetry.ts < known.ts:
            return state, []
        now_alarming = alarming(telemetry)
        sensors = {**state.sensors, event.device_id: SmokeSensor(now_alarming, telemetry.ts)}
        new_state = construct(SmokeState, {"sensors": sensors})
        was_alarming = known is not None and known.alarming
        if now_alarming == was_alarming:
            return new_state, []
        if not now_alarming and any(sensor.alarming for sensor in sensors.values()):
            return new_state, []  # another detector still alarms: the alert stands
        action: Action = "open" if now_alarming else "cancel"
        if not now_alarming:
            summary = f"smoke/CO detector {event.device_id} clear; no detector alarms"
        elif telemetry.data.alarm:
            summary = f"smoke alarm on {event.device_id}"
        else:
            summary = f"carbon monoxide {telemetry.data.co_ppm:g} ppm on {event.device_id}"
        detection = reading_detection(
            event,
            self.kind,
            action,
            summary=summary,
            details={"room": event.room, "co_alarm_ppm": CO_ALARM_PPM},
        )
        return new_state, [detection]


DETECTOR: Detector[SmokeState] = SmokeDetector()
