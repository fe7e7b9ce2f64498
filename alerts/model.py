"""An alert and its history: frozen values the pure lifecycle turns into new values.

An alert is what a dispatcher works on (CONTRACT §2): opened by a detector, merged while
the condition repeats, and walked `open → acknowledged → dispatched → resolved` (or
`cancelled`) by people and by the escalation timer. Every change appends a `Transition`,
so the history answers who did what, when and why, and the SQL layer can store it as
append-only rows (`appended(before, after)` names the new ones).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from devices.envelope import Name
from processors.detection import AlertKind, Evidence, Service, Severity

AlertStatus = Literal["open", "acknowledged", "dispatched", "resolved", "cancelled"]

ACTIVE: Final[frozenset[AlertStatus]] = frozenset({"open", "acknowledged", "dispatched"})
"""Not yet closed: at most one alert per (home, kind) is in one of these."""

CLOSED: Final[frozenset[AlertStatus]] = frozenset({"resolved", "cancelled"})

TransitionEvent = Literal[
    "opened",
    "evidence_added",
    "severity_raised",
    "acknowledged",
    "dispatched",
    "resolved",
    "cancelled",
    "cancel_noted",
    "escalated",
    "reminded",
]
"""What happened. Status changes carry their status's name; `evidence_added`,
`severity_raised`, `cancel_noted`, `escalated` and `reminded` are records that keep the
status (from_status == to_status)."""

ACTOR_PATTERN: Final = (
    r"^(detector|system|dispatcher|admin|family|worker|resident):[A-Za-z0-9_-]{1,64}$"
)
Actor = Annotated[str, Field(pattern=ACTOR_PATTERN)]
"""Who acted, as `role:name`: `detector:fall`, `dispatcher:alice`, `system:escalation`."""

Reason = Annotated[str, Field(max_length=500)]


class AlertError(Exception):
    """Root of the alert core's errors."""


class IllegalTransition(AlertError):
    """An action the alert's current status does not allow (the API answers 409)."""

    def __init__(self, alert_id: str, status: AlertStatus, action: str) -> None:
        super().__init__(f"alert {alert_id} is {status}: cannot {action}")
        self.alert_id = alert_id
        self.status = status
        self.action = action


class Transition(BaseModel):
    """One record of an alert's history: who did what, when and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime = Field(description="when the platform recorded it (never decreasing)")
    event: TransitionEvent
    from_status: AlertStatus | None = Field(description="None only for `opened`")
    to_status: AlertStatus
    actor: Actor
    reason: Reason = ""
    detection_id: Name | None = Field(
        default=None, description="the detection that caused it, if one did"
    )
    level: int | None = Field(
        default=None, ge=0, description="escalation ladder level reached, for escalation records"
    )


class Alert(BaseModel):
    """An alert as the lifecycle sees it; every change is a new value with a longer history.

    Evidence is bounded (`EVIDENCE_FIRST` opening readings and the `EVIDENCE_LATEST` latest
    others, `evidence_omitted` counting the rest): a condition that repeats for days must
    not grow a row without end, the opening readings say why it was raised, the latest
    ones whether it still holds, and every reading stays in the time-series store. The
    history is complete; it holds the ids of the detections the alert absorbed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: Name
    home_id: Name
    kind: AlertKind
    severity: Severity = Field(description="the highest severity any of its detections had")
    service: Service
    status: AlertStatus
    opened_at: AwareDatetime = Field(description="when the platform opened it (processing time)")
    detected_at: AwareDatetime = Field(description="event time of the opening detection")
    updated_at: AwareDatetime
    summary: Reason = Field(description="the latest detection's one-line summary")
    details: dict[str, float | int | bool | str | list[str] | None] = Field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    evidence_omitted: int = Field(
        default=0,
        ge=0,
        description="readings left out by the bound (a reading left out, then seen again in a"
        " later detection, counts again: the bound keeps no memory of what it dropped)",
    )
    history: tuple[Transition, ...]
    escalation_level: int = Field(
        default=0, ge=0, description="ladder rung reached; 0 is the first (notified at opening)"
    )
    ack_deadline: AwareDatetime = Field(description="acknowledge by then, or it escalates")
    next_escalation_at: AwareDatetime | None = Field(
        description="when the next escalation or reminder is due; None once acknowledged"
    )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def detection_ids(self) -> frozenset[str]:
        """Every detection this alert absorbed (opening, merges, cancels)."""
        return frozenset(t.detection_id for t in self.history if t.detection_id is not None)


def appended(before: Alert | None, after: Alert) -> tuple[Transition, ...]:
    """The history records `after` has that `before` had not: the rows to insert."""
    return after.history[len(before.history) :] if before is not None else after.history


def record(alert: Alert, transition: Transition) -> Alert:
    """`alert` with `transition` appended and its status and `updated_at` following it."""
    return alert.model_copy(
        update={
            "status": transition.to_status,
            "updated_at": transition.at,
            "history": (*alert.history, transition),
        }
    )


def record_time(alert: Alert, now: datetime) -> datetime:
    """`now`, or the alert's last record time if the clock stepped back.

    The history is an ordered log: a clock that steps back (another instance, NTP) must
    not put a record before the one it follows.
    """
    return max(now, alert.updated_at)
