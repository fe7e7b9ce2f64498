"""The shape every detector has: pure functions of (state, event or tick) -> (state, detections).

A detector never reads the clock, logs or does I/O. Its state is a small frozen
model the runner stores (a dict in the embedded runner, a Faust table in the
worker), so the same code runs in both, replays recorded data, and survives a
restart through its serialised state. Each detector declares the event types it
`reads`; the engine hands it those and no others, and ticks it unless it is a
`ReadingDetector` (one that judges readings alone).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final, Generic, Literal, Protocol, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from devices.events import GatewayEvent, Reading
from devices.telemetry import TelemetryType
from processors.detection import AlertKind, Detection
from processors.rules import HomeRules

EventType = TelemetryType | Literal["status"]
"""What a detector may read: a reading of one telemetry type, or a device status change."""

EVERY_READING: Final[frozenset[EventType]] = frozenset(get_args(TelemetryType))
"""Readings of every telemetry type (any reading may carry a battery level)."""
EVERY_EVENT: Final[frozenset[EventType]] = EVERY_READING | {"status"}
"""Every reading and every status change."""


def event_type(event: GatewayEvent) -> EventType:
    """The type a detector's `reads` names this event by."""
    return event.telemetry.type if isinstance(event, Reading) else "status"


class DetectorState(BaseModel):
    """Base of every detector's state: frozen, and JSON-serialisable for Faust tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DeviceProfile(BaseModel):
    """What a detector may know about a home's device from the registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: Name
    type: TelemetryType
    room: Name | None = None
    appliance: Name | None = None
    report_interval_s: int = Field(default=300, ge=1)


class HomeContext(BaseModel):
    """The home a detector judges: its rules and its devices."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: HomeRules
    devices: dict[str, DeviceProfile] = Field(default_factory=dict)


StateT = TypeVar("StateT", bound=DetectorState)


class Detector(Protocol[StateT]):
    kind: ClassVar[AlertKind]
    state_type: ClassVar[type[DetectorState]]
    reads: ClassVar[frozenset[EventType]]
    """The event types whose content the detector uses: the engine sends it no others
    (the passing of time reaches it through ticks)."""

    def initial(self) -> StateT:
        """The state of a home this detector has seen nothing of."""
        ...

    def on_event(
        self, state: StateT, event: GatewayEvent, home: HomeContext
    ) -> tuple[StateT, list[Detection]]:
        """Judge one reading or status change, by the reading's own time."""
        ...

    def on_tick(
        self, state: StateT, now: datetime, home: HomeContext
    ) -> tuple[StateT, list[Detection]]:
        """Judge the passing of time: silence is only visible from a tick."""
        ...


class DetectorBase(Generic[StateT]):
    """What detectors share: their state for a home they have seen nothing of is a fresh
    `state_type()`. A subclass names its kind, state type and the event types it reads."""

    kind: ClassVar[AlertKind]
    state_type: ClassVar[type[DetectorState]]
    reads: ClassVar[frozenset[EventType]]

    def initial(self) -> StateT:
        """The state of a home this detector has seen nothing of."""
        return cast(StateT, self.state_type())


class ReadingDetector(DetectorBase[StateT]):
    """A detector that judges readings alone: the passing of time changes nothing, so the
    engine does not tick it."""

    def on_tick(
        self, state: StateT, now: datetime, home: HomeContext
    ) -> tuple[StateT, list[Detection]]:
        """Time alone changes nothing: only a reading does."""
        return state, []
