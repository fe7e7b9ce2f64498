"""`fall`: a confident fall opens a critical medical alert at once.

The alert opens without waiting for the cancel window: a fallen resident must
not wait 60 s for help to start. An `sos` `cancel` from the same home taken
within `rules.fall_cancel_window` of the fall, by reading time, cancels it; a
later one leaves the fall alert alone (someone should still look).
"""

from __future__ import annotations

from typing import ClassVar

from devices.events import GatewayEvent, Reading
from devices.types.fall import FallTelemetry
from devices.types.sos import SosTelemetry
from processors.detection import (
    AlertKind,
    Detection,
    Evidence,
    detection,
    evidence_of,
    reading_detection,
)
from processors.detector import Detector, DetectorState, EventType, HomeContext, ReadingDetector
from processors.rules import HomeRules


class FallState(DetectorState):
    fall: Evidence | None = None
    """The latest confident fall not yet cancelled."""
    cancel: Evidence | None = None
    """The latest `sos` cancel: it may arrive before the fall it answers."""


def _answers(cancel: Evidence, fall: Evidence, rules: HomeRules) -> bool:
    """Whether a cancel was taken within the cancel window after the fall."""
    return fall.ts <= cancel.ts <= fall.ts + rules.fall_cancel_window


class FallDetector(ReadingDetector[FallState]):
    """Readings alone: the fall opens at once, so the cancel window needs no timer."""

    kind: ClassVar[AlertKind] = "fall"
    state_type: ClassVar[type[DetectorState]] = FallState
    reads: ClassVar[frozenset[EventType]] = frozenset({"fall", "sos"})

    def on_event(
        self, state: FallState, event: GatewayEvent, home: HomeContext
    ) -> tuple[FallState, list[Detection]]:
        """Open on a confident fall; cancel on a timely `sos` cancel."""
        if not isinstance(event, Reading):
            return state, []
        telemetry = event.telemetry
        if isinstance(telemetry, FallTelemetry):
            return self._on_fall(state, event, telemetry, home.rules)
        if isinstance(telemetry, SosTelemetry) and telemetry.data.action == "cancel":
            return self._on_cancel(state, event, telemetry, home.rules)
        return state, []

    def _on_fall(
        self, state: FallState, reading: Reading, telemetry: FallTelemetry, rules: HomeRules
    ) -> tuple[FallState, list[Detection]]:
        if telemetry.data.confidence < rules.fall_min_confidence:
            return state, []
        fall = evidence_of(reading)
        opened = reading_detection(
            reading,
            self.kind,
            "open",
            summary=(
                f"fall detected by {reading.device_id} (confidence {telemetry.data.confidence:.2f})"
            ),
            evidence=(fall,),
            details={"confidence": telemetry.data.confidence},
        )
        if state.cancel is not None and _answers(state.cancel, fall, rules):
            # The cancel arrived first but was taken after the fall: open, then cancel.
            return FallState(cancel=state.cancel), [
                opened,
                self._cancelled(reading.home_id, fall, state.cancel),
            ]
        if state.fall is not None and state.fall.ts > fall.ts:
            return state, [opened]  # a late, older fall: the newer one keeps the window
        return FallState(fall=fall, cancel=state.cancel), [opened]

    def _on_cancel(
        self, state: FallState, reading: Reading, telemetry: SosTelemetry, rules: HomeRules
    ) -> tuple[FallState, list[Detection]]:
        cancel = evidence_of(reading)
        latest = cancel
        if state.cancel is not None and state.cancel.ts > cancel.ts:
            latest = state.cancel
        if state.fall is None or not _answers(cancel, state.fall, rules):
            return FallState(fall=state.fall, cancel=latest), []
        return FallState(cancel=latest), [self._cancelled(reading.home_id, state.fall, cancel)]

    def _cancelled(self, home_id: str, fall: Evidence, cancel: Evidence) -> Detection:
        return detection(
            home_id,
            self.kind,
            "cancel",
            (
                fall.device_id,
                fall.seq,
                fall.ts.isoformat(),
                cancel.device_id,
                cancel.seq,
                cancel.ts.isoformat(),
            ),
            at=cancel.ts,
            summary=(
                f"resident cancelled on {cancel.device_id} "
                f"{(cancel.ts - fall.ts).total_seconds():.0f} s after the fall"
            ),
            evidence=(fall, cancel),
        )


DETECTOR: Detector[FallState] = FallDetector()
