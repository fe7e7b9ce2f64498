"""`low_battery`: a device reporting battery under `rules.low_battery_percent` (15 %).

Any reading may carry `battery`. One `open` per device per drop; the device
counts as recharged only at `RECHARGE_MARGIN` points above the threshold, so a
battery wavering around 15 % does not open and cancel over and over. The
home's alert is cancelled once no device is low. Not an activity rule: a home
marked away keeps it (a flat alarm button is found when the resident returns).
Readings older than a device's latest battery reading are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

from pydantic import Field

from devices.events import GatewayEvent, Reading
from processors.detection import Action, AlertKind, Detection, Evidence, reading_detection
from processors.detector import (
    EVERY_READING,
    Detector,
    DetectorState,
    EventType,
    HomeContext,
    ReadingDetector,
)
from processors.frozen import construct

RECHARGE_MARGIN: Final = 5.0
"""Percentage points above the threshold at which a low device counts as recharged."""


BatteryLevel = tuple[bool, datetime]
"""A device's battery as last judged, `(low, ts)`: low or not, by its latest battery
reading time (a plain tuple: one is made per battery reading)."""


class LowBatteryState(DetectorState):
    devices: dict[str, BatteryLevel] = Field(default_factory=dict)
    """Per device, its `BatteryLevel`."""


class LowBatteryDetector(ReadingDetector[LowBatteryState]):
    """Readings alone: battery is only known from readings."""

    kind: ClassVar[AlertKind] = "low_battery"
    state_type: ClassVar[type[DetectorState]] = LowBatteryState
    reads: ClassVar[frozenset[EventType]] = EVERY_READING

    def on_event(
        self, state: LowBatteryState, event: GatewayEvent, home: HomeContext
    ) -> tuple[LowBatteryState, list[Detection]]:
        """Open when a device drops under the threshold; cancel when the last is recharged."""
        if not isinstance(event, Reading):
            return state, []
        telemetry = event.telemetry
        battery = telemetry.battery
        if battery is None:
            return state, []
        ts = telemetry.ts
        known = state.devices.get(event.device_id)
        if known is None:
            was_low = False
        else:
            was_low, latest = known
            if ts < latest:
                return state, []
        threshold = home.rules.low_battery_percent
        if battery < threshold:
            low = True
        elif battery >= threshold + RECHARGE_MARGIN:
            low = False
        else:
            low = was_low  # in the hysteresis band: no change
        devices = state.devices.copy()
        devices[event.device_id] = (low, ts)
        new_state = construct(LowBatteryState, {"devices": devices})
        if low == was_low:
            return new_state, []
        if not low and any(other for other, _ in devices.values()):
            return new_state, []  # another device is still low: the alert stands
        action: Action = "open" if low else "cancel"
        summary = (
            f"battery {battery:g} % on {event.device_id} ({telemetry.type})"
            if low
            else f"{event.device_id} recharged to {battery:g} %; no device is low"
        )
        detection = reading_detection(
            event,
            self.kind,
            action,
            summary=summary,
            evidence=(
                Evidence(
                    device_id=event.device_id,
                    type=telemetry.type,
                    ts=telemetry.ts,
                    seq=telemetry.seq,
                    values={"battery": battery},
                ),
            ),
            details={"battery": battery, "threshold": threshold},
        )
        return new_state, [detection]


DETECTOR: Detector[LowBatteryState] = LowBatteryDetector()
