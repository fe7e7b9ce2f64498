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
from typing import ClassVar, NamedTuple

from pydantic import Field

from devices.events import GatewayEvent, Reading
from devices.types.environment import EnvironmentTelemetry
from processors.detection import Action, AlertKind, Detection, Evidence, detection, evidence_of
from processors.detector import Detector, DetectorState, EventType, HomeContext, ReadingDetector
from processors.frozen import construct


class RoomClimate(NamedTuple):
    """A room's climate as last judged (a tuple: one is made per reading)."""

    ts: datetime
    """The room's latest reading time."""
    since: Evidence | None = None
    """First reading of the current out-of-range run; None when in range."""
    opened: bool = False


class HomeClimateState(DetectorState):
    rooms: dict[str, RoomClimate] = Field(default_factory=dict)


class HomeClimateDetector(ReadingDetector[HomeClimateState]):
    """Readings alone, by reading time: a sensor that stops reporting is `device_offline`'s."""

    kind: ClassVar[AlertKind] = "home_climate"
    state_type: ClassVar[type[DetectorState]] = HomeClimateState
    reads: ClassVar[frozenset[EventType]] = frozenset({"environment"})

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
        ts = telemetry.ts
        if known is not None and ts < known.ts:
            return state, []
        celsius = telemetry.data.temperature
        if rules.climate_low_c <= celsius <= rules.climate_high_c:
            rooms = {**state.rooms, room: RoomClimate(ts)}
            new_state = construct(HomeClimateState, {"rooms": rooms})
            if known is None or not known.opened or any(r.opened for r in rooms.values()):
                return new_state, []
            current = evidence_of(event)
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
        current = evidence_of(event)
        since = current if known is None or known.since is None else known.since
        lasted = ts - since.ts
        was_open = known is not None and known.opened
        opens = not was_open and lasted >= rules.climate_after
        entry = RoomClimate(ts, since, opens or was_open)
        new_state = construct(HomeClimateState, {"rooms": {**state.rooms, room: entry}})
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
                at=ts,
            )
        ]

    def _detection(
        self,
        home_id: str,
        action: Action,
        room: str,
        key: Evidence,
        *,
        summary: str,
        evidence: tuple[Evidence, ...],
        at: datetime | None = None,
    ) -> Detection:
        return detection(
            home_id,
            self.kind,
            action,
            (room, key.device_id, key.seq, key.ts.isoformat()),
            at=key.ts if at is None else at,
            summary=summary,
            evidence=evidence,
            details={"room": room},
        )


DETECTOR: Detector[HomeClimateState] = HomeClimateDetector()
