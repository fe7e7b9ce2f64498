"""`stove_unattended`: the stove on for 30 min with no kitchen motion.

The stove is a `power` plug whose appliance is `stove` (in its data, or the
registry's). The watch starts when it switches on and restarts at every
kitchen motion while it stays on, so the alert means "on, and nobody in the
kitchen for `stove_after`". Kitchen motion or the stove going off cancels.

Late readings are placed by reading time: kitchen motion older than the
watch's start changes nothing; a late kitchen motion inside a reported watch
cancels it and restarts the watch from its time. A stove reading older than
the switch-on being watched is ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

from devices.events import GatewayEvent, Reading
from devices.types.motion import MotionTelemetry
from processors.detection import AlertKind, Detection, Evidence, detection, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import is_stove_on, watch_cancel
from processors.frozen import construct, replace


class StoveState(DetectorState):
    on: Evidence | None = None
    """The switch-on reading while the stove is on."""
    watch_from: datetime | None = None
    """Switch-on, or the latest kitchen motion since: the start of the unattended time."""
    reported: bool = False


_OFF: Final = StoveState()


class StoveUnattendedDetector(DetectorBase[StoveState]):
    kind: ClassVar[AlertKind] = "stove_unattended"
    state_type: ClassVar[type[DetectorState]] = StoveState
    reads: ClassVar[frozenset[EventType]] = frozenset({"power", "motion"})

    def on_event(
        self, state: StoveState, event: GatewayEvent, home: HomeContext
    ) -> tuple[StoveState, list[Detection]]:
        """Settle the watch up to this reading's time, then apply a switch or kitchen motion."""
        if not isinstance(event, Reading):
            return state, []
        telemetry = event.telemetry
        ts = telemetry.ts
        state, detections = self._judge(state, ts, home)
        switched = is_stove_on(event, home)
        if switched is True:
            if state.on is None:
                watch = {"on": evidence_of(event), "watch_from": ts, "reported": False}
                return construct(StoveState, watch), detections
            return state, detections
        if switched is False:
            if state.on is None or ts < state.on.ts:
                return state, detections
            if state.reported:
                detections.append(self._cancel(state, event, home, "stove switched off"))
            return _OFF, detections
        kitchen = (
            isinstance(telemetry, MotionTelemetry)
            and telemetry.data.motion
            and telemetry.data.room == "kitchen"
        )
        if not kitchen or state.watch_from is None or ts <= state.watch_from:
            return state, detections
        if state.reported:
            detections.append(self._cancel(state, event, home, "kitchen motion seen"))
        return replace(state, {"watch_from": ts, "reported": False}), detections

    def on_tick(
        self, state: StoveState, now: datetime, home: HomeContext
    ) -> tuple[StoveState, list[Detection]]:
        """Report a stove on with nobody in the kitchen for `stove_after`."""
        return self._judge(state, now, home)

    def _judge(
        self, state: StoveState, now: datetime, home: HomeContext
    ) -> tuple[StoveState, list[Detection]]:
        rules = home.rules
        watch_from = state.watch_from
        if state.on is None or watch_from is None or state.reported or rules.away:
            return state, []
        if now < watch_from + rules.stove_after:
            return state, []
        minutes = rules.stove_after.total_seconds() / 60
        local = state.on.ts.astimezone(rules.zone)
        opened = detection(
            rules.home_id,
            self.kind,
            "open",
            (state.on.device_id, watch_from.isoformat()),
            at=watch_from + rules.stove_after,
            summary=(
                f"stove on since {local:%H:%M} local with no kitchen motion for {minutes:g} min"
            ),
            evidence=(state.on,),
            details={
                "on_at": state.on.ts.isoformat(),
                "unattended_since": watch_from.isoformat(),
                "after_min": minutes,
            },
        )
        return replace(state, {"reported": True}), [opened]

    def _cancel(self, state: StoveState, event: Reading, home: HomeContext, why: str) -> Detection:
        assert state.on is not None
        assert state.watch_from is not None
        return watch_cancel(self.kind, home, state.on, state.watch_from, event, why)


DETECTOR: Detector[StoveState] = StoveUnattendedDetector()
