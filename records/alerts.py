"""Alerts in SQL: each change applied in one transaction, with its history rows.

The pure lifecycle (`alerts.lifecycle`, `alerts.escalation`) decides; this module
loads what it needs, locks it, and stores the result: the alert row (its whole
model as JSON plus the columns queries need), one `alert_events` row per new
history record, and the detection id in `applied_detections`. The active alert of a
(home, kind) is locked (`FOR UPDATE` on PostgreSQL; SQLite serialises writers), and
the unique `open_slot` column makes the database itself refuse a second active
alert, so two processes racing on one home end with one alert: the loser's
transaction is retried and merges into the winner's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.escalation import Escalation, EscalationPolicy, due, escalate
from alerts.lifecycle import Decision, on_detection
from alerts.model import ACTIVE, Alert, AlertStatus, appended
from alerts.notifiers.stream import AlertChange
from processors.detection import Detection
from records.database import in_transaction
from records.schema import AlertEventRow, AlertRow, AppliedDetectionRow, HomeRow

T = TypeVar("T")


class AlertNotFound(LookupError):
    """No alert with that id (the API answers 404)."""


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A change as stored: the alert after it and the history rows' event ids."""

    alert: Alert
    event_ids: tuple[int, ...]

    @property
    def change(self) -> AlertChange:
        return AlertChange.of(self.alert)

    @property
    def last_event_id(self) -> int:
        return self.event_ids[-1]


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a detection did, and the stored change if there was one."""

    decision: Decision
    stored: StoredChange | None


def open_slot(home_id: str, kind: str) -> str:
    return f"{home_id}/{kind}"


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def apply(
        self,
        detection: Detection,
        *,
        now: datetime,
        new_alert_id: Callable[[], str],
        policy: EscalationPolicy,
    ) -> Applied:
        """Open, merge, cancel or ignore; the detection id is remembered in the same commit."""

        def attempt(session: Session) -> Applied:
            applied = session.get(AppliedDetectionRow, detection.detection_id) is not None
            seen = {detection.detection_id} if applied else set()
            if session.get(HomeRow, detection.home_id) is None:
                decision = Decision(
                    outcome="rejected", alert=None, reason=f"unknown home {detection.home_id}"
                )
                return Applied(decision, None)
            row = session.scalars(
                select(AlertRow)
                .where(AlertRow.open_slot == open_slot(detection.home_id, detection.kind))
                .with_for_update()
            ).one_or_none()
            before = None if row is None else Alert.model_validate(row.body)
            decision = on_detection(
                before,
                detection,
                now=now,
                new_alert_id=new_alert_id(),
                policy=policy,
                seen=seen,
            )
            stored = None
            if decision.processed:
                alert_id = None if decision.alert is None else decision.alert.alert_id
                session.add(
                    AppliedDetectionRow(
                        detection_id=detection.detection_id, alert_id=alert_id, applied_at=now
                    )
                )
            if decision.alert is not None and decision.records:
                stored = _save(session, row, before, decision.alert)
            return Applied(decision, stored)

        return self._transaction(attempt)

    def act(self, alert_id: str, action: Callable[[Alert], Alert]) -> StoredChange:
        """Apply a person's action (acknowledge, resolve, ...) to the alert, locked.

        `action` is a pure lifecycle function bound to its actor and time; its
        `IllegalTransition` passes through untouched (the API's 409).
        """

        def attempt(session: Session) -> StoredChange:
            row = session.get(AlertRow, alert_id, with_for_update=True)
            if row is None:
                raise AlertNotFound(alert_id)
            before = Alert.model_validate(row.body)
            return _save(session, row, before, action(before))

        return self._transaction(attempt)

    def escalate_due(
        self, now: datetime, policy: EscalationPolicy, *, limit: int = 100
    ) -> list[tuple[StoredChange, list[Escalation]]]:
        """Record every escalation step due at `now`; each alert in its own transaction."""
        with Session(self._engine) as session:
            due_ids = list(
                session.scalars(
                    select(AlertRow.alert_id)
                    .where(AlertRow.status == "open", AlertRow.next_escalation_at <= now)
                    .order_by(AlertRow.next_escalation_at)
                    .limit(limit)
                )
            )
        done: list[tuple[StoredChange, list[Escalation]]] = []
        for alert_id in due_ids:

            def attempt(
                session: Session, alert_id: str = alert_id
            ) -> tuple[StoredChange, list[Escalation]] | None:
                row = session.get(AlertRow, alert_id, with_for_update=True)
                if row is None:
                    return None
                before = Alert.model_validate(row.body)
                steps = due(before, now, policy)
                if not steps:
                    return None  # acknowledged, or escalated by another process meanwhile
                return _save(session, row, before, escalate(before, steps, now=now)), steps

            result = self._transaction(attempt)
            if result is not None:
                done.append(result)
        return done

    def get(self, alert_id: str) -> Alert | None:
        with Session(self._engine) as session:
            row = session.get(AlertRow, alert_id)
            return None if row is None else Alert.model_validate(row.body)

    def recent(
        self,
        *,
        status: AlertStatus | None = None,
        home_ids: Collection[str] | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first; `home_ids` restricts to those homes (a family's)."""
        query = select(AlertRow.body).order_by(AlertRow.opened_at.desc(), AlertRow.alert_id)
        if status is not None:
            query = query.where(AlertRow.status == status)
        if home_ids is not None:
            query = query.where(AlertRow.home_id.in_(list(home_ids)))
        with Session(self._engine) as session:
            return [Alert.model_validate(body) for body in session.scalars(query.limit(limit))]

    def active_for_home(self, home_id: str) -> list[Alert]:
        with Session(self._engine) as session:
            rows = session.scalars(
                select(AlertRow.body)
                .where(AlertRow.home_id == home_id, AlertRow.status.in_(list(ACTIVE)))
                .order_by(AlertRow.opened_at)
            )
            return [Alert.model_validate(body) for body in rows]

    def changes_after(
        self, event_id: int, *, home_ids: Collection[str] | None = None, limit: int = 1000
    ) -> list[tuple[int, AlertChange]]:
        """The changes stored after `event_id`, oldest first, as the live stream sent them."""
        query = (
            select(AlertEventRow.event_id, AlertEventRow.change)
            .where(AlertEventRow.event_id > event_id, AlertEventRow.change.is_not(None))
            .order_by(AlertEventRow.event_id)
            .limit(limit)
        )
        if home_ids is not None:
            query = query.where(AlertEventRow.home_id.in_(list(home_ids)))
        with Session(self._engine) as session:
            return [
                (event, AlertChange.model_validate(change))
                for event, change in session.execute(query)
            ]

    def _transaction(self, attempt: Callable[[Session], T]) -> T:
        return in_transaction(self._engine, attempt)


def _save(
    session: Session, row: AlertRow | None, before: Alert | None, after: Alert
) -> StoredChange:
    body = after.model_dump(mode="json")
    slot = open_slot(after.home_id, after.kind) if after.active else None
    if row is None:
        row = AlertRow(
            alert_id=after.alert_id,
            home_id=after.home_id,
            kind=after.kind,
            opened_at=after.opened_at,
        )
        session.add(row)
    row.severity = after.severity
    row.service = after.service
    row.status = after.status
    row.open_slot = slot
    row.updated_at = after.updated_at
    row.next_escalation_at = after.next_escalation_at if after.status == "open" else None
    row.body = body
    session.flush()  # the alert row before its history rows (they reference it)
    events = [
        AlertEventRow(
            alert_id=after.alert_id,
            home_id=after.home_id,
            at=transition.at,
            event=transition.event,
            from_status=transition.from_status,
            to_status=transition.to_status,
            actor=transition.actor,
            reason=transition.reason,
            detection_id=transition.detection_id,
            level=transition.level,
            change=None,
        )
        for transition in appended(before, after)
    ]
    events[-1].change = AlertChange.of(after).model_dump(mode="json")
    session.add_all(events)
    session.flush()
    return StoredChange(after, tuple(event.event_id for event in events))
