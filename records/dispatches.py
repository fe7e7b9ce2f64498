"""Dispatches in SQL: each change one locked transaction, with one history row per new step.

The pure core (`alerts.dispatches`, `alerts.offers`) decides; this module locks the
dispatch (`FOR UPDATE` on PostgreSQL; SQLite serialises writers at BEGIN), hands it
to the decision, and stores the result: the row (the whole model as JSON plus the
columns queries need: status, holder, open offer's deadline) and one
`dispatch_events` row per step the decision appended. An accept racing the timer's
expiry therefore ends with exactly one of them applied, and the loser sees the
winner's dispatch and fails as an illegal transition.

Every time goes into a column as UTC: SQLite keeps no offset, so only UTC compares.
It also reads the inputs of the SLA report (`sla_inputs`) from the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.dispatches import Dispatch, DispatchStatus, Step, appended
from alerts.dispatches import rate as rate_dispatch
from alerts.sla import ALARM_SEVERITIES, AlertTimes, DispatchTimes
from alerts.workers import Worker
from records.database import in_transaction
from records.schema import (
    AlertEventRow,
    AlertRow,
    DispatchEventRow,
    DispatchRow,
    as_utc,
    from_column,
)
from records.workers import fold_rating

WORKER_STEPS: Final[frozenset[DispatchStatus]] = frozenset(
    {"accepted", "declined", "en_route", "on_site", "completed"}
)
"""Steps the worker named on them took: their actor is `worker:<id>`, or the dispatcher who
recorded the step for them (the row's `worker_id` still names the worker)."""

ROUND_DUE: Final[tuple[DispatchStatus, ...]] = ("pending", "declined", "expired")
"""Waiting for the round to choose a worker (only for an instant, unless a process died)."""

T = TypeVar("T")


class DispatchNotFound(LookupError):
    """No dispatch with that id (the API answers 404)."""


@dataclass(frozen=True, slots=True)
class StoredDispatch:
    """A dispatch as stored after a change, the steps the change added and their event ids."""

    dispatch: Dispatch
    steps: tuple[Step, ...]
    event_ids: tuple[int, ...]


class DispatchStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, dispatch: Dispatch, *, actor: str, once_per_alert: bool = False
    ) -> StoredDispatch | None:
        """Store a new dispatch; with `once_per_alert`, None if its alert already has an
        automatic one (the alert row is locked meanwhile, so two racing openers make one)."""

        def attempt(session: Session) -> StoredDispatch | None:
            if once_per_alert and dispatch.alert_id is not None:
                session.get(AlertRow, dispatch.alert_id, with_for_update=True)
                existing = session.scalar(
                    select(DispatchRow.dispatch_id).where(
                        DispatchRow.alert_id == dispatch.alert_id,
                        DispatchRow.origin == "automatic",
                    )
                )
                if existing is not None:
                    return None
            return save(session, None, None, dispatch, actor=actor)

        return self._transaction(attempt)

    def transition(
        self, dispatch_id: str, change: Callable[[Dispatch], Dispatch], *, actor: str
    ) -> StoredDispatch:
        """Apply a pure change to the locked dispatch; its errors pass through untouched.

        `actor` names who caused the steps that are not a worker's own (a dispatcher,
        `system:timer`); a change that appends nothing writes nothing.
        """

        def attempt(session: Session) -> StoredDispatch:
            row = session.get(DispatchRow, dispatch_id, with_for_update=True)
            if row is None:
                raise DispatchNotFound(dispatch_id)
            before = Dispatch.model_validate(row.body)
            after = change(before)
            if after == before:
                return StoredDispatch(before, (), ())
            return save(session, row, before, after, actor=actor)

        return self._transaction(attempt)

    def rate(
        self, dispatch_id: str, stars: int, *, now: datetime, actor: str
    ) -> tuple[Dispatch, Worker]:
        """The family's rating: recorded on the dispatch (once) and folded into the
        worker's mean in the same transaction, so it counts exactly once."""

        def attempt(session: Session) -> tuple[Dispatch, Worker]:
            row = session.get(DispatchRow, dispatch_id, with_for_update=True)
            if row is None:
                raise DispatchNotFound(dispatch_id)
            before = Dispatch.model_validate(row.body)
            after = rate_dispatch(before, stars, now=now)
            if after.worker_id is None:  # a completed dispatch always has its worker
                raise DispatchNotFound(dispatch_id)
            worker = fold_rating(session, after.worker_id, stars)
            row.body = after.model_dump(mode="json")
            session.add(
                DispatchEventRow(
                    dispatch_id=dispatch_id,
                    at=as_utc(now),
                    event="rated",
                    worker_id=after.worker_id,
                    actor=actor,
                    reason=f"{stars} stars",
                )
            )
            return after, worker

        return self._transaction(attempt)

    def get(self, dispatch_id: str) -> Dispatch | None:
        with Session(self._engine) as session:
            row = session.get(DispatchRow, dispatch_id)
            return None if row is None else Dispatch.model_validate(row.body)

    def recent(
        self,
        *,
        statuses: Collection[DispatchStatus] | None = None,
        worker_id: str | None = None,
        home_ids: Collection[str] | None = None,
        alert_id: str | None = None,
        booking_id: str | None = None,
        limit: int = 100,
    ) -> list[Dispatch]:
        """Newest first. `worker_id`: offered to or held by that worker (the column names
        exactly that); `home_ids`: those homes only (a family's)."""
        query = select(DispatchRow.body).order_by(
            DispatchRow.created_at.desc(), DispatchRow.dispatch_id
        )
        if statuses is not None:
            query = query.where(DispatchRow.status.in_(sorted(statuses)))
        if worker_id is not None:
            query = query.where(DispatchRow.worker_id == worker_id)
        if home_ids is not None:
            query = query.where(DispatchRow.home_id.in_(sorted(home_ids)))
        if alert_id is not None:
            query = query.where(DispatchRow.alert_id == alert_id)
        if booking_id is not None:
            query = query.where(DispatchRow.booking_id == booking_id)
        with Session(self._engine) as session:
            return [Dispatch.model_validate(body) for body in session.scalars(query.limit(limit))]

    def dispatched_alerts(self, alert_ids: Collection[str]) -> frozenset[str]:
        """Those of `alert_ids` that have a dispatch, whatever its status (one query)."""
        if not alert_ids:
            return frozenset()
        query = (
            select(DispatchRow.alert_id)
            .where(DispatchRow.alert_id.in_(sorted(alert_ids)))
            .distinct()
        )
        with Session(self._engine) as session:
            return frozenset(alert_id for alert_id in session.scalars(query) if alert_id)

    def due_rounds(self, now: datetime, *, limit: int = 200) -> list[str]:
        """Dispatches whose round must move: an offer past its deadline, or none chosen yet."""
        query = (
            select(DispatchRow.dispatch_id)
            .where(
                or_(
                    DispatchRow.status.in_(ROUND_DUE),
                    (DispatchRow.status == "offered") & (DispatchRow.offer_deadline <= as_utc(now)),
                )
            )
            .order_by(DispatchRow.created_at)
            .limit(limit)
        )
        with Session(self._engine) as session:
            return list(session.scalars(query))

    def served_home(self, home_id: str, *, limit: int = 50) -> frozenset[str]:
        """Workers who completed a job at this home, most recent first up to `limit`: the
        continuity that ranking prefers."""
        latest = func.max(DispatchRow.created_at)
        query = (
            select(DispatchRow.worker_id)
            .where(
                DispatchRow.home_id == home_id,
                DispatchRow.status == "completed",
                DispatchRow.worker_id.is_not(None),
            )
            .group_by(DispatchRow.worker_id)
            .order_by(latest.desc())
            .limit(limit)
        )
        with Session(self._engine) as session:
            return frozenset(w for w in session.scalars(query) if w)

    def sla_inputs(
        self, since: datetime, until: datetime
    ) -> tuple[list[AlertTimes], list[DispatchTimes]]:
        """The alarms opened in `[since, until)` and the responses to them, with step times."""
        start, end = as_utc(since), as_utc(until)
        with Session(self._engine) as session:
            return _alert_times(session, start, end), _dispatch_times(session, start, end)

    def _transaction(self, attempt: Callable[[Session], T]) -> T:
        return in_transaction(self._engine, attempt)


def save(
    session: Session,
    row: DispatchRow | None,
    before: Dispatch | None,
    after: Dispatch,
    *,
    actor: str,
) -> StoredDispatch:
    """Inside a transaction: write the dispatch's row and a history row per new step."""
    if row is None:
        row = DispatchRow(
            dispatch_id=after.dispatch_id,
            alert_id=after.alert_id,
            booking_id=after.booking_id,
            home_id=after.home_id,
            service=after.service,
            origin=after.origin,
            created_at=as_utc(after.created_at),
            scheduled_for=as_utc(after.scheduled_for or after.created_at),
        )
        session.add(row)
    offer = after.current_offer
    row.severity = after.severity
    row.status = after.status
    row.worker_id = after.worker_id
    row.offer_deadline = None if offer is None else as_utc(offer.deadline)
    row.body = after.model_dump(mode="json")
    session.flush()  # the row before its history (they reference it)
    steps = appended(before, after)
    events = [
        DispatchEventRow(
            dispatch_id=after.dispatch_id,
            at=as_utc(step.at),
            event=step.status,
            worker_id=step.worker_id,
            actor=step.worker_actor if step.status in WORKER_STEPS and step.worker_id else actor,
            reason=step.note[:500],
        )
        for step in steps
    ]
    session.add_all(events)
    session.flush()
    return StoredDispatch(after, steps, tuple(event.event_id for event in events))


_ALERT_STEPS: Final = ("acknowledged", "resolved", "cancelled")
_DISPATCH_STEPS: Final = ("accepted", "on_site", "completed", "cancelled")


def _alert_times(session: Session, start: datetime, end: datetime) -> list[AlertTimes]:
    window = (
        AlertRow.opened_at >= start,
        AlertRow.opened_at < end,
        AlertRow.severity.in_(sorted(ALARM_SEVERITIES)),
    )
    firsts: dict[str, dict[str, datetime]] = {}
    for alert_id, event, at in session.execute(
        select(AlertEventRow.alert_id, AlertEventRow.event, func.min(AlertEventRow.at))
        .join(AlertRow, AlertRow.alert_id == AlertEventRow.alert_id)
        .where(*window, AlertEventRow.event.in_(_ALERT_STEPS))
        .group_by(AlertEventRow.alert_id, AlertEventRow.event)
    ):
        firsts.setdefault(alert_id, {})[event] = from_column(at)
    rows = session.execute(
        select(AlertRow.alert_id, AlertRow.severity, AlertRow.opened_at).where(*window)
    )
    out: list[AlertTimes] = []
    for alert_id, severity, opened_at in rows:
        steps = firsts.get(alert_id, {})
        out.append(
            AlertTimes.model_validate(
                {
                    "alert_id": alert_id,
                    "severity": severity,
                    "opened_at": from_column(opened_at),
                    "acknowledged_at": steps.get("acknowledged"),
                    "resolved_at": steps.get("resolved"),
                    "cancelled_at": steps.get("cancelled"),
                }
            )
        )
    return out


def _dispatch_times(session: Session, start: datetime, end: datetime) -> list[DispatchTimes]:
    called = func.coalesce(AlertRow.opened_at, DispatchRow.created_at)
    window = (
        DispatchRow.origin != "booking",
        DispatchRow.severity.in_(sorted(ALARM_SEVERITIES)),
        called >= start,
        called < end,
    )
    firsts: dict[str, dict[str, datetime]] = {}
    for dispatch_id, event, at in session.execute(
        select(DispatchEventRow.dispatch_id, DispatchEventRow.event, func.min(DispatchEventRow.at))
        .join(DispatchRow, DispatchRow.dispatch_id == DispatchEventRow.dispatch_id)
        .outerjoin(AlertRow, AlertRow.alert_id == DispatchRow.alert_id)
        .where(*window, DispatchEventRow.event.in_(_DISPATCH_STEPS))
        .group_by(DispatchEventRow.dispatch_id, DispatchEventRow.event)
    ):
        firsts.setdefault(dispatch_id, {})[event] = from_column(at)
    rows = session.execute(
        select(
            DispatchRow.dispatch_id,
            DispatchRow.alert_id,
            DispatchRow.origin,
            DispatchRow.severity,
            DispatchRow.created_at,
            AlertRow.opened_at,
        )
        .outerjoin(AlertRow, AlertRow.alert_id == DispatchRow.alert_id)
        .where(*window)
    )
    out: list[DispatchTimes] = []
    for dispatch_id, alert_id, origin, severity, created_at, opened_at in rows:
        steps = firsts.get(dispatch_id, {})
        out.append(
            DispatchTimes.model_validate(
                {
                    "dispatch_id": dispatch_id,
                    "alert_id": alert_id,
                    "origin": origin,
                    "severity": severity,
                    "created_at": from_column(created_at),
                    "alert_opened_at": None if opened_at is None else from_column(opened_at),
                    "accepted_at": steps.get("accepted"),
                    "on_site_at": steps.get("on_site"),
                    "completed_at": steps.get("completed"),
                    "cancelled_at": steps.get("cancelled"),
                }
            )
        )
    return out
