"""`sos`: a panic-button press opens a critical medical alert at once.

The resident's `cancel` ("I am fine") becomes a `cancel` detection; the alert
service decides what a cancel may still do (an alert already dispatched stays).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from devices.events import GatewayEvent, Reading
from devices.types.sos import SosTelemetry
from processors.detection import Action, AlertKind, Detection, reading_detection
from processors.detector import Detector, DetectorState, EventType, HomeContext, ReadingDetector


class SosState(DetectorState):
    last_press: datetime | None = None
    """Reading time of the latest press, so a cancel taken before it cannot cancel it."""


class SosDetector(ReadingDetector[SosState]):
    """Readings alone: a press needs no timer."""

    kind: ClassVar[AlertKind] = "sos"
    state_type: ClassVar[type[DetectorState]] = SosState
    reads: ClassVar[frozenset[EventType]] = frozenset({"sos"})

    def on_event(
        self, state: SosState, event: GatewayEvent, home: HomeContext
    ) -> tuple[SosState, list[Detection]]:
        """A press opens; a cancel taken after the latest press cancels."""
        if not isinstance(event, Reading) or not isinstance(event.telemetry, SosTelemetry):
            return state, []
        telemetry = event.telemetry
        action: Action = "open" if telemetry.data.action == "press" else "cancel"
        if action == "open":
            if state.last_press is None or telemetry.ts > state.last_press:
                state = SosState(last_press=telemetry.ts)
            summary = f"SOS button pressed on {event.device_id}"
        else:
            if state.last_press is not None and telemetry.ts < state.last_press:
                # Out of order: an "I am fine" from before the press does not answer it.
                return state, []
            summary = f"resident cancelled SOS on {event.device_id}"
        return state, [reading_detection(event, self.kind, action, summary=summary)]


DETECTOR: Detector[SosState] = SosDetector()
