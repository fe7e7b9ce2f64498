"""The shape every detector has: pure functions of (state, event or tick) -> (state, detections).

A detector never reads the clock, logs or does I/O. Its state is a small frozen
model the runner stores (a dict in the embedded runner, a Faust table in the
worker), so the same code runs in both, replays recorded data, and survives a
restart through its serialised state.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from devices.events import GatewayEvent
from devices.telemetry import TelemetryType
from processors.detection import AlertKind, Detection
from processors.rules import HomeRules


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
