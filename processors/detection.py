"""What a detector decides: a detection, with its evidence, ready to become an alert.

A detection is a value with a stable id derived from its inputs, so an
at-least-once pipeline may deliver it twice and downstream keeps one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from devices.events import Reading

AlertKind = Literal[
    "sos",
    "fall",
    "news2",
    "inactivity",
    "unusual_inactivity",
    "night_wandering",
    "bed_exit",
    "bathroom_long",
    "no_meal",
    "stove_unattended",
    "leak",
    "smoke",
    "home_climate",
    "device_offline",
    "low_battery",
]
"""CONTRACT §2's catalogue, plus `unusual_inactivity` from the learned activity baseline."""

Severity = Literal["critical", "high", "medium", "low"]
Service = Literal["medical", "housekeeping", "meal", "wellbeing", "technical"]
Action = Literal["open", "cancel"]
"""`open`: the condition holds (a repeat adds evidence to the open alert);
`cancel`: the resident cancelled, or the condition cleared where the kind allows it."""

SEVERITY_RANK: Final[dict[Severity, int]] = {"critical": 4, "high": 3, "medium": 2, "low": 1}


class Evidence(BaseModel):
    """One reading a detection rests on, as it was received."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: Name
    type: str
    ts: datetime
    seq: int | None = None
    values: dict[str, float | bool | str | None] = Field(default_factory=dict)


class Detection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    detection_id: str = Field(description="stable: the same inputs always give the same id")
    home_id: Name
    kind: AlertKind
    action: Action = "open"
    severity: Severity
    service: Service
    at: datetime = Field(description="event time at which the condition was established")
    summary: str = Field(max_length=500, description="for people: what was seen, in one line")
    evidence: tuple[Evidence, ...] = ()
    details: dict[str, float | int | bool | str | list[str] | None] = Field(default_factory=dict)


def detection_id(home_id: str, kind: str, action: str, *parts: object) -> str:
    """A stable id from what triggered the detection (device, seq, reading time, window)."""
    text = "|".join([home_id, kind, action, *(str(part) for part in parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def evidence_of(reading: Reading) -> Evidence:
    """A reading as evidence, exactly as it was received."""
    telemetry = reading.telemetry
    return Evidence(
        device_id=reading.device_id,
        type=telemetry.type,
        ts=telemetry.ts,
        seq=telemetry.seq,
        values=telemetry.data.model_dump(),
    )


def reading_detection(
    reading: Reading,
    kind: AlertKind,
    action: Action,
    *,
    severity: Severity,
    service: Service,
    summary: str,
    evidence: tuple[Evidence, ...] | None = None,
    details: dict[str, float | int | bool | str | list[str] | None] | None = None,
) -> Detection:
    """A detection one reading triggers, identified by that reading (device, seq, ts)."""
    telemetry = reading.telemetry
    return Detection(
        detection_id=detection_id(
            reading.home_id,
            kind,
            action,
            reading.device_id,
            telemetry.seq,
            telemetry.ts.isoformat(),
        ),
        home_id=reading.home_id,
        kind=kind,
        action=action,
        severity=severity,
        service=service,
        at=telemetry.ts,
        summary=summary,
        evidence=(evidence_of(reading),) if evidence is None else evidence,
        details=details or {},
    )
