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
from devices.telemetry import Telemetry
from processors.frozen import construct

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


Details = dict[str, float | int | bool | str | list[str] | None]
"""A detection's machine-readable facts (thresholds, times, what was used)."""


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
    details: Details = Field(default_factory=dict)


TRIAGE: Final[dict[AlertKind, tuple[Severity, Service]]] = {
    "sos": ("critical", "medical"),
    "fall": ("critical", "medical"),
    "news2": ("high", "medical"),  # by NEWS2 band: critical, high or medium
    "inactivity": ("high", "wellbeing"),
    "unusual_inactivity": ("medium", "wellbeing"),
    "night_wandering": ("critical", "wellbeing"),
    "bed_exit": ("high", "wellbeing"),
    "bathroom_long": ("high", "wellbeing"),
    "no_meal": ("medium", "meal"),
    "stove_unattended": ("critical", "housekeeping"),
    "leak": ("critical", "technical"),
    "smoke": ("critical", "medical"),
    "home_climate": ("medium", "housekeeping"),
    "device_offline": ("low", "technical"),
    "low_battery": ("low", "technical"),
}
"""Each kind's severity and service (CONTRACT §2's table)."""


def detection_id(home_id: str, kind: str, action: str, *parts: object) -> str:
    """A stable id from what triggered the detection (device, seq, reading time, window)."""
    text = "|".join([home_id, kind, action, *(str(part) for part in parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def detection(
    home_id: str,
    kind: AlertKind,
    action: Action,
    key: tuple[object, ...],
    *,
    at: datetime,
    summary: str,
    evidence: tuple[Evidence, ...] = (),
    details: Details | None = None,
    severity: Severity | None = None,
) -> Detection:
    """A detection of `kind`, identified by `key`, with the kind's severity and service.

    `severity` overrides the kind's where it depends on the reading (NEWS2's band).
    """
    usual, service = TRIAGE[kind]
    return Detection(
        detection_id=detection_id(home_id, kind, action, *key),
        home_id=home_id,
        kind=kind,
        action=action,
        severity=usual if severity is None else severity,
        service=service,
        at=at,
        summary=summary,
        evidence=evidence,
        details={} if details is None else details,
    )


def evidence_values(data: BaseModel) -> dict[str, float | bool | str | None]:
    """`data.model_dump()` as `Evidence.values` validates it (ints become floats).

    Every telemetry type's data is flat (scalars only), so its `__dict__` is its dump.
    """
    return {
        key: float(value) if type(value) is int else value for key, value in data.__dict__.items()
    }


def telemetry_evidence(device_id: str, telemetry: Telemetry) -> Evidence:
    """A device's telemetry as evidence, exactly as it was received."""
    values = evidence_values(telemetry.data)
    return _evidence(device_id, telemetry.type, telemetry.ts, telemetry.seq, values)


def status_evidence(device_id: str, status: str, at: datetime) -> Evidence:
    """A device's status change as evidence, at the gateway's time."""
    return _evidence(device_id, "status", at, None, {"status": status})


def _evidence(
    device_id: str,
    type_: str,
    ts: datetime,
    seq: int | None,
    values: dict[str, float | bool | str | None],
) -> Evidence:
    # Every part already valid (from validated telemetry): not validated again.
    fields = {"device_id": device_id, "type": type_, "ts": ts, "seq": seq, "values": values}
    return construct(Evidence, fields)


_last: tuple[Reading, Evidence] | None = None


def evidence_of(reading: Reading) -> Evidence:
    """A reading as evidence, exactly as it was received.

    Made once per reading: the detectors that keep the same reading as evidence share
    one value (it is frozen), rather than each building its own.
    """
    global _last
    last = _last
    if last is not None and last[0] is reading:
        return last[1]
    evidence = telemetry_evidence(reading.device_id, reading.telemetry)
    _last = (reading, evidence)
    return evidence


def reading_detection(
    reading: Reading,
    kind: AlertKind,
    action: Action,
    *,
    summary: str,
    evidence: tuple[Evidence, ...] | None = None,
    details: Details | None = None,
) -> Detection:
    """A detection one reading triggers, identified by that reading (device, seq, ts)."""
    telemetry = reading.telemetry
    return detection(
        reading.home_id,
        kind,
        action,
        (reading.device_id, telemetry.seq, telemetry.ts.isoformat()),
        at=telemetry.ts,
        summary=summary,
        evidence=(evidence_of(reading),) if evidence is None else evidence,
        details=details,
    )
