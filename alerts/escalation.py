"""Escalation: who hears about an alert nobody acknowledged, and when (pure, time passed in).

An open alert is offered to the first rung of the ladder (dispatcher tier 1) when it
opens. If nobody acknowledges it by its severity's deadline it climbs one rung (the next
dispatcher tier, then the family, then the emergency contact), and again after each
reminder interval; past the top rung it keeps reminding everyone reached. Each step is a
history record and a round of notifications, so "past its deadline without an escalation
record" cannot happen as long as the service applies `due` on its timer.

Defaults: acknowledgement within 60 s for critical (the telecare target: 97.5 % of alarms
answered within 60 s, 99 % within 180 s, which the critical ladder reaches at its third
rung), 5 min high, 30 min medium, 24 h low; each further step after the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from alerts.model import Alert, Transition, record, record_time
from processors.detection import Severity

SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "high", "medium", "low")

DEFAULT_DEADLINES: Final[dict[Severity, timedelta]] = {
    "critical": timedelta(seconds=60),
    "high": timedelta(minutes=5),
    "medium": timedelta(minutes=30),
    "low": timedelta(hours=24),
}


class Tier(BaseModel):
    """One rung of the ladder; the service maps it to people (dispatchers of that tier,
    the home's family accounts, its emergency contacts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["dispatcher", "family", "emergency_contact"]
    number: int | None = Field(default=None, ge=1, description="dispatcher tier, 1 first")

    @property
    def name(self) -> str:
        return f"dispatcher_tier_{self.number}" if self.kind == "dispatcher" else self.kind


def _complete(value: dict[Severity, timedelta]) -> dict[Severity, timedelta]:
    missing = [s for s in SEVERITIES if s not in value]
    if missing:
        raise ValueError(f"no duration for {', '.join(missing)}")
    if any(v < timedelta(seconds=1) for v in value.values()):
        raise ValueError("durations must be at least 1 s")
    return value


class EscalationPolicy(BaseModel):
    """Deadlines, reminder intervals and the ladder; configurable, validated once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ack_deadlines: dict[Severity, timedelta] = Field(
        default_factory=lambda: dict(DEFAULT_DEADLINES),
        description="time to acknowledge after opening, per severity",
    )
    reminder_intervals: dict[Severity, timedelta] = Field(
        default_factory=lambda: dict(DEFAULT_DEADLINES),
        description="time between further steps, per severity",
    )
    dispatcher_tiers: int = Field(default=2, ge=1, le=9)

    _complete_deadlines = field_validator("ack_deadlines", "reminder_intervals")(_complete)

    @property
    def ladder(self) -> tuple[Tier, ...]:
        dispatchers = tuple(
            Tier(kind="dispatcher", number=n) for n in range(1, self.dispatcher_tiers + 1)
        )
        return (*dispatchers, Tier(kind="family"), Tier(kind="emergency_contact"))

    def deadline(self, severity: Severity) -> timedelta:
        return self.ack_deadlines[severity]

    def interval(self, severity: Severity) -> timedelta:
        return self.reminder_intervals[severity]


class Escalation(BaseModel):
    """One step due: climb to `tier`, or remind; notify every tier in `notify`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: Literal["escalate", "remind"]
    level: int = Field(ge=0, description="ladder level after this step")
    tier: Tier = Field(description="the rung reached (for a reminder: the top one)")
    notify: tuple[Tier, ...] = Field(description="every rung reached so far")
    scheduled_at: AwareDatetime = Field(description="when the step fell due")
    next_at: AwareDatetime = Field(description="when the step after it falls due")


def due(alert: Alert, now: datetime, policy: EscalationPolicy) -> list[Escalation]:
    """The steps due at `now` for an unacknowledged alert, in order; nothing otherwise.

    Each rung missed (the service was down) is its own step, so every tier is told and
    recorded; reminders past the top rung collapse into the latest one: ten reminders at
    once would tell nobody more than one.
    """
    at = alert.next_escalation_at
    if alert.status != "open" or at is None or at > now:
        return []
    ladder = policy.ladder
    top = len(ladder) - 1
    interval = policy.interval(alert.severity)
    level = alert.escalation_level
    steps: list[Escalation] = []
    while at <= now and level < top:
        level += 1
        steps.append(_step("escalate", level, ladder, at, at + interval))
        at += interval
    if at <= now:  # the ladder is exhausted: one reminder for every interval missed
        missed = (now - at) // interval
        latest = at + missed * interval
        steps.append(_step("remind", level, ladder, latest, latest + interval))
    return steps


def _step(
    step: Literal["escalate", "remind"],
    level: int,
    ladder: tuple[Tier, ...],
    at: datetime,
    next_at: datetime,
) -> Escalation:
    return Escalation(
        step=step,
        level=level,
        tier=ladder[level],
        notify=ladder[: level + 1],
        scheduled_at=at,
        next_at=next_at,
    )


def escalate(alert: Alert, steps: Sequence[Escalation], *, now: datetime) -> Alert:
    """`alert` with each step recorded (actor `system:escalation`) and the next one set.

    Steps for an alert acknowledged or closed since `due` was asked are dropped: whoever
    acted first wins, and the escalation is moot.
    """
    for escalation in steps:
        if alert.status != "open":
            break
        at = record_time(alert, now)
        late = (at - escalation.scheduled_at).total_seconds()
        what = (
            f"not acknowledged: escalated to {escalation.tier.name}"
            if escalation.step == "escalate"
            else f"not acknowledged: reminded {', '.join(t.name for t in escalation.notify)}"
        )
        alert = record(
            alert,
            Transition(
                at=at,
                event="escalated" if escalation.step == "escalate" else "reminded",
                from_status=alert.status,
                to_status=alert.status,
                actor="system:escalation",
                reason=f"{what} (due {escalation.scheduled_at.isoformat()}, {late:.0f} s late)",
                level=escalation.level,
            ),
        ).model_copy(
            update={
                "escalation_level": escalation.level,
                "next_escalation_at": escalation.next_at,
            }
        )
    return alert
