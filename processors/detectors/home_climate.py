"""`home_climate`: a room below `rules.climate_low_c` or above `climate_high_c` for an hour.

Cold homes and overheated ones harm older people (WHO Housing and health
guidelines, 2018); the contract's defaults are 16 °C and 30 °C for 1 h.
Judged per room by reading time: a room is out of range from its first
out-of-range reading until an in-range one, and opens once that run lasts
`rules.climate_after`. Readings older than a room's latest are ignored (a
late reading does not rewrite a run already judged). The home has one alert
of this kind, so the `cancel` comes when the last room out of range is back.
Not an activity rule: a home marked away keeps it (frozen pipes, a heat wave).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.events import GatewayEvent, Reading
from devices.types.environment import EnvironmentTelemetry
from processors.detection import AlertKind, Detection, Evidence, detection_id, evidence_of
from processors.detector import Detector, DetectorState, HomeContext


class RoomClimate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ts: datetime
    """The room's latest reading time."""
    since: Evidence | None = None
    """First reading of the current out-of-range run; None when in range."""
    opened: bool = False


class HomeClimateState(DetectorState):
    rooms: dict[str, RoomClimate] = Field(default_factory=dict)


class HomeClimateDetector:
    kind: ClassVar[AlertKind] = "home_climate"
    state_type: ClassVar[type[DetectorState]] = HomeClimateState

    def initial(self) -> HomeClimateState:
        return HomeClimateState()

    def on_event(
        self, state: HomeClimateState, event: GatewayEvent, home: HomeContext
    ) -> tuple[HomeClimateState, list[Detection]]:
        """Open when a room has been out of range long enough; cancel when all are back."""
        if not isinstance(event, Reading) or not isinstance(event.telemetry, EnvironmentTelemetry):
            return state, []
        telemetry = event.telemetry
        rules = home.rules
        room = telemetry.data.room
        known = state.rooms.get(room)
        if known is not None and telemetry.ts < known.ts:
            return state, []
        current = evidence_of(event)
        celsius = telemetry.data.temperature
        if rules.climate_low_c <= celsius <= rules.climate_high_c:
            rooms = {**state.rooms, room: RoomClimate(ts=telemetry.ts)}
            new_state = HomeClimateState(rooms=rooms)
            if known is None or not known.opened or any(r.opened for r in rooms.values()):
                return new_state, []
            return new_state, [
                self._detection(
                    event.home_id,
                    "cancel",
                    room,
                    current,
                    summary=f"{room} back to {celsius:g} °C; every room in range",
                    evidence=(current,),
                )
            ]
        since = current if known is None or known.since is None else known.since
        lasted = telemetry.ts - since.ts
        opens = not (known is not None and known.opened) and lasted >= rules.climate_after
        entry = RoomClimate(
            ts=telemetry.ts, since=since, opened=opens or (known is not None and known.opened)
        )
        new_state = HomeClimateState(rooms={**state.rooms, room: entry})
        if not opens:
            return new_state, []
        side = (
            f"below {rules.climate_low_c:g}"
            if celsius < rules.climate_low_c
            else (f"above {rules.climate_high_c:g}")
        )
        return new_state, [
            self._detection(
                event.home_id,
                "open",
                room,
                since,
                summary=(
                    f"{room} at {celsius:g} °C, {side} °C for {lasted.total_seconds() / 60:.0f} min"
                ),
                evidence=(since, current) if since != current else (current,),
                at=telemetry.ts,
            )
        ]

    def on_tick(
        self, state: HomeClimateState, now: datetime, home: HomeContext
    ) -> tuple[HomeClimateState, list[Detection]]:
        """Judged by reading time only; a sensor that stops reporting is `device_offline`'s."""
        return state, []

    def _detection(
        self,
        home_id: str,
        action: Literal["open", "cancel"],
        room: str,
        key: Evidence,
        *,
        summary: str,
        evidence: tuple[Evidence, ...],
        at: datetime | None = None,
    ) -> Detection:
        return Detection(
            detection_id=detection_id(
                home_id, self.kind, action, room, key.device_id, key.seq, key.ts.isoformat()
            ),
            home_id=home_id,
            kind=self.kind,
            action=action,
            severity="medium",
            service="housekeeping",
            at=key.ts if at is None else at,
            summary=summary,
            evidence=evidence,
            details={"room": room},
        )


DETECTOR: Detector[HomeClimateState] = HomeClimateDetector()
