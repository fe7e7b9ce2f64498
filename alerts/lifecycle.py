"""The alert lifecycle as pure functions: an alert and an event in, a new alert out.

Nothing here reads the clock, makes ids, logs or stores: `now`, the new alert's id and
what the store already processed are passed in, so every rule is a table of cases and
the SQL service is a thin shell (load the active alert for (home, kind), decide, store
the alert and `appended(before, after)`, record the detection id as processed, notify).

Rules decided here:

- Idempotency is exact: a detection whose id is in `seen` (the store's processed
  detections, looked up by the caller) or already in the alert's history is ignored, so
  a redelivery never opens, merges or cancels twice, even after the alert closed.
- One active alert per (home, kind): a repeat while `open`, `acknowledged` or
  `dispatched` merges (evidence added, severity raised to the highest seen).
- A detection's cancel closes the alert only while it is still `open`. Once a person
  acknowledged it, someone has taken responsibility and may already be on the way; a
  sensor clearing or a confused resident pressing "I am fine" must not silently withdraw
  that help. The cancel is then recorded (`cancel_noted`) for the dispatcher to weigh,
  and the dispatcher resolves or cancels. Which kinds may cancel at all (an `sos` cancel
  within 60 s of a fall, a leak that dried, ...) is the detector's rule: it emits
  `action="cancel"` only where the kind allows it.
- Dispatching or resolving an alert still `open` acknowledges it first (two records, the
  same actor): whoever acts on an alert has seen it, and time-to-acknowledge stays true.
- Illegal transitions raise `IllegalTransition` (the API's 409).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from alerts.escalation import EscalationPolicy
from alerts.model import (
    Alert,
    AlertStatus,
    IllegalTransition,
    Transition,
    TransitionEvent,
    record,
    record_time,
)
from devices.envelope import ID_PATTERN
from processors.detection import SEVERITY_RANK, Detection, Evidence

EVIDENCE_FIRST: Final = 5
"""Opening readings always kept: they say why the alert was raised."""
EVIDENCE_LATEST: Final = 20
"""Latest other readings kept (by reading time): they say whether it still holds."""

Outcome = Literal[
    "opened", "merged", "cancelled", "cancel_noted", "duplicate", "no_alert", "rejected"
]


class Decision(BaseModel):
    """What a detection did.

    `alert` is the alert after it (None when there is none); `records` are the history
    rows it appended. Record the detection id as processed whenever `processed` says so,
    in the same transaction as the alert.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    alert: Alert | None
    records: tuple[Transition, ...] = ()
    reason: str = ""

    @property
    def processed(self) -> bool:
        """Whether to remember the detection id (not for duplicates and rejects)."""
        return self.outcome not in ("duplicate", "rejected")


def on_detection(
    active_alert: Alert | None,
    detection: Detection,
    *,
    now: datetime,
    new_alert_id: str,
    policy: EscalationPolicy,
    seen: Container[str] = frozenset(),
) -> Decision:
    """Open, merge into, cancel, or ignore, for the home's active alert of this kind.

    `active_alert` is the (home, kind) alert not yet resolved or cancelled, or None;
    `new_alert_id` is used only when an alert opens.
    """
    if active_alert is not None:
        if (active_alert.home_id, active_alert.kind) != (detection.home_id, detection.kind):
            raise ValueError("the active alert is for another home or kind")
        if not active_alert.active:
            raise ValueError(f"alert {active_alert.alert_id} is closed: pass None")
    if not re.fullmatch(ID_PATTERN, detection.detection_id):
        return Decision(outcome="rejected", alert=active_alert, reason="malformed detection_id")
    if detection.at.tzinfo is None:
        return Decision(
            outcome="rejected", alert=active_alert, reason="detection time has no offset"
        )
    if detection.detection_id in seen or (
        active_alert is not None and detection.detection_id in active_alert.detection_ids
    ):
        return Decision(outcome="duplicate", alert=active_alert, reason="already processed")
    if detection.action == "open":
        if active_alert is None:
            alert = _open(detection, now=now, alert_id=new_alert_id, policy=policy)
            return Decision(outcome="opened", alert=alert, records=alert.history)
        return _decided("merged", active_alert, _merge(active_alert, detection, now, policy))
    if active_alert is None:
        return Decision(outcome="no_alert", alert=None, reason="nothing active to cancel")
    if active_alert.status == "open":
        cancelled = _transition(
            _with_evidence(active_alert, detection.evidence),
            "cancelled",
            "cancelled",
            actor=f"detector:{detection.kind}",
            now=now,
            reason=detection.summary,
            detection_id=detection.detection_id,
        )
        return _decided("cancelled", active_alert, cancelled)
    noted = _transition(
        _with_evidence(active_alert, detection.evidence),
        "cancel_noted",
        active_alert.status,
        actor=f"detector:{detection.kind}",
        now=now,
        reason=f"cancel after acknowledgement, left to the dispatcher: {detection.summary}",
        detection_id=detection.detection_id,
    )
    return _decided("cancel_noted", active_alert, noted)


def acknowledge(alert: Alert, *, actor: str, now: datetime, reason: str = "") -> Alert:
    """open → acknowledged: a person has taken it; escalation stops."""
    _require(alert, {"open"}, "acknowledge")
    return _transition(alert, "acknowledged", "acknowledged", actor=actor, now=now, reason=reason)


def mark_dispatched(alert: Alert, *, actor: str, now: datetime, reason: str = "") -> Alert:
    """open or acknowledged → dispatched: a service dispatch was created for it."""
    _require(alert, {"open", "acknowledged"}, "dispatch")
    alert = _implicit_ack(alert, actor=actor, now=now, action="dispatched")
    return _transition(alert, "dispatched", "dispatched", actor=actor, now=now, reason=reason)


def resolve(alert: Alert, *, actor: str, now: datetime, reason: str = "") -> Alert:
    """open, acknowledged or dispatched → resolved: dealt with."""
    _require(alert, {"open", "acknowledged", "dispatched"}, "resolve")
    alert = _implicit_ack(alert, actor=actor, now=now, action="resolved")
    return _transition(alert, "resolved", "resolved", actor=actor, now=now, reason=reason)


def cancel_by_dispatcher(alert: Alert, *, actor: str, now: datetime, reason: str) -> Alert:
    """Any active status → cancelled: a false alarm, with the reason why (required)."""
    _require(alert, {"open", "acknowledged", "dispatched"}, "cancel")
    if not reason.strip():
        raise ValueError("a cancel needs a reason")
    return _transition(alert, "cancelled", "cancelled", actor=actor, now=now, reason=reason)


# --- inside ------------------------------------------------------------------------------


def _require(alert: Alert, allowed: set[AlertStatus], action: str) -> None:
    if alert.status not in allowed:
        raise IllegalTransition(alert.alert_id, alert.status, action)


def _decided(outcome: Outcome, before: Alert, after: Alert) -> Decision:
    return Decision(outcome=outcome, alert=after, records=after.history[len(before.history) :])


def _transition(
    alert: Alert,
    event: TransitionEvent,
    to_status: AlertStatus,
    *,
    actor: str,
    now: datetime,
    reason: str,
    detection_id: str | None = None,
) -> Alert:
    at = record_time(alert, now)
    after = record(
        alert,
        Transition(
            at=at,
            event=event,
            from_status=alert.status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            detection_id=detection_id,
        ),
    )
    if to_status != "open" and after.next_escalation_at is not None:
        after = after.model_copy(update={"next_escalation_at": None})
    return after


def _implicit_ack(alert: Alert, *, actor: str, now: datetime, action: str) -> Alert:
    if alert.status != "open":
        return alert
    return _transition(
        alert, "acknowledged", "acknowledged", actor=actor, now=now, reason=f"{action} it"
    )


def _open(detection: Detection, *, now: datetime, alert_id: str, policy: EscalationPolicy) -> Alert:
    evidence, omitted = merge_evidence((), 0, detection.evidence)
    deadline = now + policy.deadline(detection.severity)
    opened = Transition(
        at=now,
        event="opened",
        from_status=None,
        to_status="open",
        actor=f"detector:{detection.kind}",
        reason=detection.summary,
        detection_id=detection.detection_id,
    )
    return Alert(
        alert_id=alert_id,
        home_id=detection.home_id,
        kind=detection.kind,
        severity=detection.severity,
        service=detection.service,
        status="open",
        opened_at=now,
        detected_at=detection.at,
        updated_at=now,
        summary=detection.summary,
        details=detection.details,
        evidence=evidence,
        evidence_omitted=omitted,
        history=(opened,),
        ack_deadline=deadline,
        next_escalation_at=deadline,
    )


def _merge(alert: Alert, detection: Detection, now: datetime, policy: EscalationPolicy) -> Alert:
    """A repeat of the condition: its evidence and summary, and a higher severity if so."""
    merged = _transition(
        _with_evidence(alert, detection.evidence).model_copy(
            update={"summary": detection.summary, "details": detection.details}
        ),
        "evidence_added",
        alert.status,
        actor=f"detector:{detection.kind}",
        now=now,
        reason=detection.summary,
        detection_id=detection.detection_id,
    )
    if SEVERITY_RANK[detection.severity] <= SEVERITY_RANK[alert.severity]:
        return merged
    raised = _transition(
        merged.model_copy(update={"severity": detection.severity}),
        "severity_raised",
        alert.status,
        actor=f"detector:{detection.kind}",
        now=now,
        reason=f"{alert.severity} → {detection.severity}",
    )
    if raised.status != "open" or raised.next_escalation_at is None:
        return raised
    # The higher severity's clock starts now, and may only bring the next step closer.
    at = record_time(alert, now)
    if raised.escalation_level == 0:
        deadline = min(raised.ack_deadline, at + policy.deadline(detection.severity))
        return raised.model_copy(update={"ack_deadline": deadline, "next_escalation_at": deadline})
    step = min(raised.next_escalation_at, at + policy.interval(detection.severity))
    return raised.model_copy(update={"next_escalation_at": step})


def _with_evidence(alert: Alert, new: Iterable[Evidence]) -> Alert:
    evidence, omitted = merge_evidence(alert.evidence, alert.evidence_omitted, new)
    return alert.model_copy(update={"evidence": evidence, "evidence_omitted": omitted})


def _key(evidence: Evidence) -> tuple[str, str, datetime, int | None]:
    return (evidence.device_id, evidence.type, evidence.ts, evidence.seq)


def _reading_time(evidence: Evidence) -> float:
    # A POSIX time, so a reading without an offset (Evidence allows it) still sorts.
    return evidence.ts.timestamp()


def merge_evidence(
    held: tuple[Evidence, ...], omitted: int, new: Iterable[Evidence]
) -> tuple[tuple[Evidence, ...], int]:
    """`held` plus the readings of `new` it lacks, bounded; with the count of those dropped.

    The first `EVIDENCE_FIRST` readings stay as they came; the others are ordered by
    reading time and only the latest `EVIDENCE_LATEST` kept, so a late old reading is the
    first to go.
    """
    keys = {_key(e) for e in held}
    combined = list(held)
    for evidence in new:
        key = _key(evidence)
        if key not in keys:
            keys.add(key)
            combined.append(evidence)
    if len(combined) == len(held):
        return held, omitted
    first = combined[:EVIDENCE_FIRST]
    rest = sorted(combined[EVIDENCE_FIRST:], key=_reading_time)
    if len(rest) > EVIDENCE_LATEST:
        omitted += len(rest) - EVIDENCE_LATEST
        rest = rest[-EVIDENCE_LATEST:]
    return (*first, *rest), omitted
