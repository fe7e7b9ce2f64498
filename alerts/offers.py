"""The offer round: one worker at a time, each with a deadline, then the dispatcher queue.

Pure: the shell passes the dispatch, the ranked eligible workers (from
`alerts.matching.match`, excluding `dispatch.tried`), and `now`; it gets back the
new dispatch and what to do next (send an offer, wake up at a deadline, or tell the
dispatchers). It owns the timers, and calls `advance` again when one fires or a
worker answers.

Timeouts: 60 s for a critical dispatch (a fall, an SOS: the next worker must be
asked within the minute), 5 minutes otherwise. A worker who declined or let an offer
expire is not asked again by the round; a dispatcher may still choose them.

A `queued` dispatch stays with the dispatchers: the round does not take it back
when someone comes on shift (a dispatcher may already be on the phone about it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from alerts.dispatches import Dispatch, expire, offer, queue
from processors.detection import Severity


class OfferTimeouts(BaseModel):
    """How long a worker has to accept, by the dispatch's severity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    critical_s: float = Field(default=60.0, gt=0, le=3600, description="seconds")
    other_s: float = Field(default=300.0, gt=0, le=86_400, description="seconds")

    def for_severity(self, severity: Severity) -> timedelta:
        return timedelta(seconds=self.critical_s if severity == "critical" else self.other_s)


DEFAULT_TIMEOUTS: Final = OfferTimeouts()


@dataclass(frozen=True, slots=True)
class OfferTo:
    """Send the offer to this worker (MQTT `anxin/v1/workers/{id}/offers`); wake at `deadline`."""

    worker_id: str
    deadline: datetime


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """An offer is out: wake up at its deadline unless the worker answers first."""

    deadline: datetime


@dataclass(frozen=True, slots=True)
class Queued:
    """No eligible worker left: the dispatch is in the dispatcher queue now."""


@dataclass(frozen=True, slots=True)
class Settled:
    """Nothing for the round to do: held by a worker, queued, or final."""


Decision = OfferTo | WaitUntil | Queued | Settled

_CHOOSING: Final = frozenset({"pending", "declined", "expired"})


def due(dispatch: Dispatch, now: datetime) -> bool:
    """Whether `advance` would choose a worker now (so the shell should run `match` first)."""
    current = dispatch.current_offer
    if current is not None:
        return now >= current.deadline
    return dispatch.status in _CHOOSING


def advance(
    dispatch: Dispatch,
    ranked: Sequence[str],
    *,
    now: datetime,
    timeouts: OfferTimeouts = DEFAULT_TIMEOUTS,
) -> tuple[Dispatch, Decision]:
    """One step of the round: expire an overdue offer, then offer the next worker or queue.

    `ranked`: eligible worker ids, best first. Workers this dispatch was already
    offered to are skipped whatever their place in `ranked`.
    """
    current = dispatch.current_offer
    if current is not None:
        if now < current.deadline:
            return dispatch, WaitUntil(current.deadline)
        dispatch = expire(dispatch, now=now)
    if dispatch.status not in _CHOOSING:
        return dispatch, Settled()
    tried = dispatch.tried
    chosen = next((worker_id for worker_id in ranked if worker_id not in tried), None)
    if chosen is None:
        return queue(dispatch, now=now), Queued()
    deadline = max(now, dispatch.updated_at) + timeouts.for_severity(dispatch.severity)
    return offer(dispatch, chosen, now=now, deadline=deadline), OfferTo(chosen, deadline)
