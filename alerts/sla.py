"""Service levels from step timestamps, against the telecare targets (CONTRACT §3).

Targets (TSA Quality Standards Framework, as CONTRACT §3 states them): alarm calls
answered 97.5 % within 60 s and 99 % within 180 s; responders on site 90 % within
45 minutes and all within 60 minutes.

What counts:

- An *alarm* is an alert of severity `critical` or `high`: the ones a resident or
  carer would have raised with a pendant (SOS, fall, smoke, night wandering,
  NEWS2 ≥ 5, long silences). `medium` and `low` (a missed meal, a flat battery) are
  routine work, not calls, and the targets were not written for them. All figures
  here are over alarms opened in `[since, until)`.
- Acknowledging is the alarm being answered: `acknowledged_at − opened_at`.
- Attendance is from the alarm opening (the call) to the first check-in on site of
  any of its dispatches (a dispatch without an alert: from its creation). Bookings
  are scheduled visits, not responses, and are left out.
- Not yet answered (or attended) and older than a threshold at `as_of`: a miss.
  Younger: not decided yet, left out of that threshold. Cancelled before the
  threshold without an answer (the resident pressed "I am fine"): left out; cancelled
  after it: a miss, since nobody answered in time.

Percentiles are nearest-rank (a value that was actually observed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.dispatches import Dispatch, Origin
from devices.envelope import Name
from processors.detection import Severity

ALARM_SEVERITIES: Final[frozenset[Severity]] = frozenset({"critical", "high"})


class AlertTimes(BaseModel):
    """An alert's step times, as the SQL layer reads them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: Name
    severity: Severity
    opened_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None


class DispatchTimes(BaseModel):
    """A dispatch's step times (and its alert's opening), as the SQL layer reads them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dispatch_id: Name
    alert_id: Name | None = None
    origin: Origin
    severity: Severity
    created_at: AwareDatetime
    alert_opened_at: AwareDatetime | None = Field(
        default=None, description="the alert's opened_at: attendance is timed from the call"
    )
    accepted_at: AwareDatetime | None = None
    on_site_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None

    @classmethod
    def of(cls, dispatch: Dispatch, alert_opened_at: datetime | None = None) -> DispatchTimes:
        """The times a dispatch's history holds (first time each status was reached)."""
        return cls(
            dispatch_id=dispatch.dispatch_id,
            alert_id=dispatch.alert_id,
            origin=dispatch.origin,
            severity=dispatch.severity,
            created_at=dispatch.created_at,
            alert_opened_at=alert_opened_at,
            accepted_at=dispatch.first_at("accepted"),
            on_site_at=dispatch.first_at("on_site"),
            completed_at=dispatch.first_at("completed"),
            cancelled_at=dispatch.first_at("cancelled"),
        )


class Durations(BaseModel):
    """A distribution of durations, seconds; None without observations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    p50_s: float | None
    p90_s: float | None
    max_s: float | None


class TargetResult(BaseModel):
    """One telecare target and how the window did against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    label: str
    threshold_s: float
    target_share: float = Field(ge=0, le=1)
    counted: int = Field(description="decided cases: answered, or old enough to be a miss")
    within: int
    share: float | None = Field(description="within / counted; None when nothing counted")
    met: bool | None = Field(description="share ≥ target; None when nothing counted")


class SlaReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    since: AwareDatetime
    until: AwareDatetime
    as_of: AwareDatetime
    alarms: int
    time_to_acknowledge: Durations
    time_to_accept: Durations
    time_to_arrive: Durations
    time_to_resolve: Durations
    targets: tuple[TargetResult, ...]


ANSWER_TARGETS: Final = (("answered_60s", 60.0, 0.975), ("answered_180s", 180.0, 0.99))
ATTENDANCE_TARGETS: Final = (("attended_45min", 2700.0, 0.90), ("attended_60min", 3600.0, 1.0))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (0 < q ≤ 1) of `values`; None when empty."""
    if not 0 < q <= 1:
        raise ValueError("q must be within (0, 1]")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def durations(values: Sequence[float]) -> Durations:
    return Durations(
        count=len(values),
        p50_s=percentile(values, 0.5),
        p90_s=percentile(values, 0.9),
        max_s=max(values) if values else None,
    )


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def judged(
    start: datetime,
    done: datetime | None,
    cancelled: datetime | None,
    threshold: timedelta,
    as_of: datetime,
) -> bool | None:
    """Met the threshold (True), missed it (False), or not counted (None); see the module."""
    if done is not None:
        return done - start <= threshold
    if cancelled is not None and cancelled - start <= threshold:
        return None
    if as_of - start >= threshold:
        return False
    return None


def _target(
    key: str, label: str, threshold_s: float, share: float, verdicts: Iterable[bool | None]
) -> TargetResult:
    decided = [v for v in verdicts if v is not None]
    within = sum(decided)
    achieved = within / len(decided) if decided else None
    return TargetResult(
        key=key,
        label=label,
        threshold_s=threshold_s,
        target_share=share,
        counted=len(decided),
        within=within,
        share=achieved,
        met=None if achieved is None else achieved >= share,
    )


@dataclass(frozen=True, slots=True)
class _Attendance:
    """One alarm's response: from the call to the first worker on site."""

    start: datetime
    on_site: datetime | None
    cancelled: datetime | None


def _attendances(dispatches: Sequence[DispatchTimes]) -> list[_Attendance]:
    groups: dict[str, list[DispatchTimes]] = {}
    for item in dispatches:
        groups.setdefault(item.alert_id or f"dispatch:{item.dispatch_id}", []).append(item)
    out: list[_Attendance] = []
    for group in groups.values():
        start = min(d.alert_opened_at or d.created_at for d in group)
        arrivals = [d.on_site_at for d in group if d.on_site_at is not None]
        cancels = [d.cancelled_at for d in group]
        all_cancelled = all(c is not None for c in cancels)
        out.append(
            _Attendance(
                start=start,
                on_site=min(arrivals) if arrivals else None,
                cancelled=max(c for c in cancels if c is not None) if all_cancelled else None,
            )
        )
    return out


def sla_report(
    alerts: Iterable[AlertTimes],
    dispatches: Iterable[DispatchTimes],
    *,
    since: datetime,
    until: datetime,
    as_of: datetime | None = None,
) -> SlaReport:
    """Time to acknowledge, accept, arrive and resolve, and the telecare targets, over alarms.

    `alerts` and `dispatches` may hold more than the window; alarms opened in
    `[since, until)` count. `as_of` (default `until`) judges what is still unanswered.
    """
    if until <= since:
        raise ValueError("until must be after since")
    now = as_of or until
    alarms = [a for a in alerts if a.severity in ALARM_SEVERITIES and since <= a.opened_at < until]
    responses = [
        d
        for d in dispatches
        if d.origin != "booking"
        and d.severity in ALARM_SEVERITIES
        and since <= (d.alert_opened_at or d.created_at) < until
    ]
    to_ack = [s for a in alarms if (s := _seconds(a.opened_at, a.acknowledged_at)) is not None]
    to_resolve = [s for a in alarms if (s := _seconds(a.opened_at, a.resolved_at)) is not None]
    to_accept = [s for d in responses if (s := _seconds(d.created_at, d.accepted_at)) is not None]
    attendances = _attendances(responses)
    to_arrive = [s for t in attendances if (s := _seconds(t.start, t.on_site)) is not None]
    targets = [
        _target(
            key,
            f"alarms answered within {seconds:g} s",
            seconds,
            share,
            (
                judged(
                    a.opened_at, a.acknowledged_at, a.cancelled_at, timedelta(seconds=seconds), now
                )
                for a in alarms
            ),
        )
        for key, seconds, share in ANSWER_TARGETS
    ]
    targets += [
        _target(
            key,
            f"attendance within {seconds / 60:g} min",
            seconds,
            share,
            (
                judged(t.start, t.on_site, t.cancelled, timedelta(seconds=seconds), now)
                for t in attendances
            ),
        )
        for key, seconds, share in ATTENDANCE_TARGETS
    ]
    return SlaReport(
        since=since,
        until=until,
        as_of=now,
        alarms=len(alarms),
        time_to_acknowledge=durations(to_ack),
        time_to_accept=durations(to_accept),
        time_to_arrive=durations(to_arrive),
        time_to_resolve=durations(to_resolve),
        targets=tuple(targets),
    )
