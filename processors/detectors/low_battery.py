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

from pydantic import BaseModel, ConfigDict, Field

from devices.events import GatewayEvent, Reading
from processors.detection import Action, AlertKind, Detection, Evidence, reading_detection
from processors.detector import Detector, DetectorState, HomeContext
from processors.detectors.activity import construct

RECHARGE_MARGIN: Final = 5.0
"""Percentage points above the threshold at which a low device counts as recharged."""


class BatteryLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    low: bool
    ts: datetime


class LowBatteryState(DetectorState):
    devices: dict[str, BatteryLevel] = Field(default_factory=dict)
    """Per device: low or not, by its latest battery reading time."""


class LowBatteryDetector:
    kind: ClassVar[AlertKind] = "low_battery"
    state_type: ClassVar[type[DetectorState]] = LowBatteryState

    def initial(self) -> LowBatteryState:
        return LowBatteryState()

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
        threshold = home.rules.low_battery_percent
        known = state.devices.get(event.device_id)
        if known is not None and telemetry.ts < known.ts:
            return state, []
        was_low = known is not None and known.low
        if battery < threshold:
            low = True
        elif battery >= threshold + RECHARGE_MARGIN:
            low = False
        else:
            low = was_low  # in the hysteresis band: no change
        level = construct(BatteryLevel, {"low": low, "ts": telemetry.ts})
        devices = {**state.devices, event.device_id: level}
        new_state = construct(LowBatteryState, {"devices": devices})
        if low == was_low:
            return new_state, []
        if not low and any(level.low for level in devices.values()):
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
            severity="low",
            service="technical",
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

    def on_tick(
        self, state: LowBatteryState, now: datetime, home: HomeContext
    ) -> tuple[LowBatteryState, list[Detection]]:
        """Battery is only known from readings."""
        return state, []


DETECTOR: Detector[LowBatteryState] = LowBatteryDetector()
