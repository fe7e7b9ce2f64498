"""A service dispatch and its lifecycle: frozen values, pure transitions, every step timed.

CONTRACT §3: `offered → accepted → en_route → on_site → completed`, or `declined`,
`expired`, `cancelled`. Three statuses are added around them:

- `pending`: created, not yet offered to anyone (a booking waiting for its offer
  window, or an automatic dispatch for the instant before its first offer);
- `queued`: no eligible worker left; it waits in the dispatcher queue;
- `declined` and `expired` are where the dispatch rests between one worker's answer
  and the next offer (or the queue); they are not final.

Final: `completed`, `cancelled`. A dispatch names the `worker_id` it is offered to
or held by (None while pending, declined, expired or queued). Every transition
appends a `Step`, and every offer is kept with its outcome, so the SQL layer can
store both as append-only rows and SLA figures come from the steps.

A clock that steps back (another instance, NTP) never puts a step before the one it
follows: `now` is raised to the last step's time, as the alert lifecycle does.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Final, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.workers import Latitude, Longitude, Stars, Worker, haversine_m
from devices.envelope import Name
from processors.detection import Service, Severity

DispatchStatus = Literal[
    "pending",
    "offered",
    "accepted",
    "en_route",
    "on_site",
    "completed",
    "declined",
    "expired",
    "queued",
    "cancelled",
]
Origin = Literal["automatic", "dispatcher", "booking"]
OfferOutcome = Literal["pending", "accepted", "declined", "expired", "withdrawn"]
DeclineReason = Literal[
    "busy", "too_far", "off_shift", "not_qualified", "unsafe", "personal", "other"
]

OFFERABLE: Final[frozenset[DispatchStatus]] = frozenset(
    {"pending", "declined", "expired", "queued"}
)
"""May be offered to a worker (the round, or a dispatcher choosing one)."""
HELD: Final[frozenset[DispatchStatus]] = frozenset({"accepted", "en_route", "on_site"})
"""A worker has it in hand: it counts towards their active jobs."""
FINAL: Final[frozenset[DispatchStatus]] = frozenset({"completed", "cancelled"})

CHECK_IN_RADIUS_M: Final = 200.0
"""Arrival is a check-in within this many metres of the home."""

Note = Annotated[str, Field(max_length=2000)]


class DispatchError(Exception):
    """Root of the dispatch core's errors."""


class IllegalDispatchTransition(DispatchError):
    """An action the dispatch's current status does not allow (the API answers 409)."""

    def __init__(
        self, dispatch_id: str, status: DispatchStatus, action: str, why: str = ""
    ) -> None:
        tail = f" ({why})" if why else ""
        super().__init__(f"dispatch {dispatch_id} is {status}: cannot {action}{tail}")
        self.dispatch_id = dispatch_id
        self.status = status
        self.action = action


class WrongWorker(DispatchError):
    """A worker acting on a dispatch not offered to or held by them (the API answers 404)."""

    def __init__(self, dispatch_id: str, worker_id: str) -> None:
        super().__init__(f"dispatch {dispatch_id} is not offered to or held by {worker_id}")
        self.dispatch_id = dispatch_id
        self.worker_id = worker_id


class CheckInRejected(DispatchError):
    """An arrival check-in that is too far from the home or carries the wrong code."""

    def __init__(
        self, dispatch_id: str, reason: Literal["too_far", "wrong_code"], detail: str
    ) -> None:
        super().__init__(f"check-in for dispatch {dispatch_id} refused: {detail}")
        self.dispatch_id = dispatch_id
        self.reason = reason


class Offer(BaseModel):
    """One worker asked to take the dispatch, and what came of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    worker_id: Name
    offered_at: AwareDatetime
    deadline: AwareDatetime = Field(description="unanswered by then, the offer expires")
    outcome: OfferOutcome = "pending"
    answered_at: AwareDatetime | None = None
    reason: DeclineReason | None = Field(default=None, description="why it was declined")
    note: Note = ""


class Step(BaseModel):
    """One transition: the status reached, when, and the worker concerned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: DispatchStatus
    at: AwareDatetime
    worker_id: Name | None = None
    note: Note = ""
    recorded_by: str | None = Field(
        default=None,
        max_length=200,
        description="who recorded a worker's step for them (a dispatcher the worker called)",
    )

    @property
    def worker_actor(self) -> str:
        """Who entered a worker's step: the worker, or the dispatcher who spoke for them
        (the step still names the worker)."""
        return self.recorded_by or f"worker:{self.worker_id}"


class CheckIn(BaseModel):
    """Where the worker checked in on arrival, and how far that was from the home."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: Latitude
    lon: Longitude
    distance_m: float = Field(ge=0)


class Dispatch(BaseModel):
    """A service job at a home: who it is offered to or held by, and its history."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dispatch_id: Name
    alert_id: Name | None = None
    booking_id: Name | None = None
    home_id: Name
    lat: Latitude = Field(description="the home: where the worker must check in")
    lon: Longitude
    address: str = Field(default="", max_length=300, description="the home's, for the worker")
    service: Service
    severity: Severity = Field(description="the alert's severity; sets the offer timeout")
    origin: Origin
    status: DispatchStatus
    worker_id: Name | None = Field(default=None, description="offered to or held by")
    created_at: AwareDatetime
    scheduled_for: AwareDatetime | None = Field(
        default=None, description="bookings: when the service is due; None: as soon as possible"
    )
    updated_at: AwareDatetime
    offers: tuple[Offer, ...] = ()
    history: tuple[Step, ...]
    check_in: CheckIn | None = None
    notes: Note | None = Field(default=None, description="the worker's notes on completion")
    rating: Stars | None = Field(default=None, description="the family's stars, once")
    rated_at: AwareDatetime | None = None
    cancel_reason: Note | None = None

    @property
    def current_offer(self) -> Offer | None:
        """The offer awaiting an answer, if any."""
        if self.status == "offered" and self.offers and self.offers[-1].outcome == "pending":
            return self.offers[-1]
        return None

    @property
    def tried(self) -> frozenset[str]:
        """Workers already offered this dispatch (whatever they answered)."""
        return frozenset(offer.worker_id for offer in self.offers)

    def first_at(self, status: DispatchStatus) -> datetime | None:
        """When the dispatch first reached `status`, if it did."""
        return next((step.at for step in self.history if step.status == status), None)


def new_dispatch(
    *,
    dispatch_id: str,
    home_id: str,
    lat: float,
    lon: float,
    service: Service,
    severity: Severity,
    origin: Origin,
    now: datetime,
    address: str = "",
    alert_id: str | None = None,
    booking_id: str | None = None,
    scheduled_for: datetime | None = None,
) -> Dispatch:
    """A `pending` dispatch, not yet offered to anyone."""
    return Dispatch(
        dispatch_id=dispatch_id,
        alert_id=alert_id,
        booking_id=booking_id,
        home_id=home_id,
        lat=lat,
        lon=lon,
        address=address,
        service=service,
        severity=severity,
        origin=origin,
        status="pending",
        created_at=now,
        scheduled_for=scheduled_for,
        updated_at=now,
        history=(Step(status="pending", at=now),),
    )


def appended(before: Dispatch | None, after: Dispatch) -> tuple[Step, ...]:
    """The steps `after` has that `before` had not: the rows to insert."""
    return after.history[len(before.history) :] if before is not None else after.history


def recorded_for_worker(dispatch: Dispatch, actor: str | None) -> Dispatch:
    """`dispatch` with its newest step marked as recorded by `actor` for its worker.

    A worker without a phone at hand calls the dispatch centre, and the dispatcher
    records the answer; the step stays the worker's, and says who entered it. With
    `actor` None (the worker acted themselves) the dispatch is unchanged.
    """
    if actor is None:
        return dispatch
    last = dispatch.history[-1].model_copy(update={"recorded_by": actor})
    return dispatch.model_copy(update={"history": (*dispatch.history[:-1], last)})


def _when(dispatch: Dispatch, now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return max(now, dispatch.updated_at)


def _require(dispatch: Dispatch, allowed: frozenset[DispatchStatus], action: str) -> None:
    if dispatch.status not in allowed:
        raise IllegalDispatchTransition(dispatch.dispatch_id, dispatch.status, action)


def _require_holder(dispatch: Dispatch, worker_id: str) -> None:
    if dispatch.worker_id != worker_id:
        raise WrongWorker(dispatch.dispatch_id, worker_id)


def _step(
    dispatch: Dispatch,
    status: DispatchStatus,
    at: datetime,
    *,
    worker_id: str | None,
    about: str | None = None,
    note: str = "",
    **changes: object,
) -> Dispatch:
    """`dispatch` moved to `status`; `worker_id` holds it after, the step names `about` or them."""
    step = Step(status=status, at=at, worker_id=about or worker_id, note=note)
    update: dict[str, object] = {
        "status": status,
        "worker_id": worker_id,
        "updated_at": at,
        "history": (*dispatch.history, step),
        **changes,
    }
    return dispatch.model_copy(update=update)


def _answered(
    dispatch: Dispatch, outcome: OfferOutcome, at: datetime, **fields: object
) -> tuple[Offer, ...]:
    last = dispatch.offers[-1]
    return (
        *dispatch.offers[:-1],
        last.model_copy(update={"outcome": outcome, "answered_at": at, **fields}),
    )


def _text(value: str, what: str, *, required: bool, limit: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be text")
    text = value.strip()
    if required and not text:
        raise ValueError(f"{what} must not be empty")
    if len(text) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return text


def offer(dispatch: Dispatch, worker_id: str, *, now: datetime, deadline: datetime) -> Dispatch:
    """Offer the dispatch to one worker until `deadline`.

    Eligibility is the caller's (`alerts.matching`); this only keeps the record straight.
    """
    _require(dispatch, OFFERABLE, "offer")
    at = _when(dispatch, now)
    if deadline <= at:
        raise ValueError("an offer's deadline must be after it is made")
    made = Offer(worker_id=worker_id, offered_at=at, deadline=deadline)
    return _step(dispatch, "offered", at, worker_id=worker_id, offers=(*dispatch.offers, made))


def accept(dispatch: Dispatch, worker_id: str, *, now: datetime) -> Dispatch:
    """The offered worker takes the job.

    An offer stands until the round expires it: an answer a little past the deadline,
    before the next worker is asked, still counts (the elder is better served).
    """
    _require(dispatch, frozenset({"offered"}), "accept")
    _require_holder(dispatch, worker_id)
    at = _when(dispatch, now)
    offers = _answered(dispatch, "accepted", at)
    return _step(dispatch, "accepted", at, worker_id=worker_id, offers=offers)


def decline(
    dispatch: Dispatch, worker_id: str, reason: DeclineReason, *, now: datetime, note: str = ""
) -> Dispatch:
    """The offered worker says no, and why; the round goes on to the next worker."""
    _require(dispatch, frozenset({"offered"}), "decline")
    _require_holder(dispatch, worker_id)
    if reason not in get_args(DeclineReason):
        raise ValueError(f"unknown decline reason {reason!r}")
    text = _text(note, "note", required=reason == "other", limit=500)
    at = _when(dispatch, now)
    offers = _answered(dispatch, "declined", at, reason=reason, note=text)
    return _step(
        dispatch, "declined", at, worker_id=None, about=worker_id, note=reason, offers=offers
    )


def expire(dispatch: Dispatch, *, now: datetime) -> Dispatch:
    """The offered worker did not answer by the deadline."""
    current = dispatch.current_offer
    if current is None:
        raise IllegalDispatchTransition(dispatch.dispatch_id, dispatch.status, "expire")
    at = _when(dispatch, now)
    if at < current.deadline:
        raise IllegalDispatchTransition(
            dispatch.dispatch_id, dispatch.status, "expire", "the offer's deadline has not passed"
        )
    offers = _answered(dispatch, "expired", at)
    return _step(dispatch, "expired", at, worker_id=None, about=current.worker_id, offers=offers)


def queue(dispatch: Dispatch, *, now: datetime) -> Dispatch:
    """No eligible worker left: the dispatch waits for a dispatcher."""
    _require(dispatch, frozenset({"pending", "declined", "expired"}), "queue")
    return _step(dispatch, "queued", _when(dispatch, now), worker_id=None)


def start(dispatch: Dispatch, worker_id: str, *, now: datetime) -> Dispatch:
    """The worker sets off (`en_route`)."""
    _require(dispatch, frozenset({"accepted"}), "start")
    _require_holder(dispatch, worker_id)
    return _step(dispatch, "en_route", _when(dispatch, now), worker_id=worker_id)


def arrive(
    dispatch: Dispatch,
    worker: Worker,
    *,
    lat: float,
    lon: float,
    code: str,
    now: datetime,
    radius_m: float = CHECK_IN_RADIUS_M,
) -> Dispatch:
    """Check-in at the home: within `radius_m` of it, with the worker's own credential code.

    From `accepted` too: a worker who forgot to press "on my way" has still arrived.
    The credential's validity was judged when the worker was matched (on the service
    date); here the code proves the person at the door is the worker who accepted.
    """
    _require(dispatch, frozenset({"accepted", "en_route"}), "arrive")
    _require_holder(dispatch, worker.worker_id)
    place = CheckIn(lat=lat, lon=lon, distance_m=0.0)  # validates the coordinates
    if not isinstance(code, str) or not hmac.compare_digest(
        code.strip().encode(), worker.credential_code.encode()
    ):
        raise CheckInRejected(
            dispatch.dispatch_id, "wrong_code", "the code is not this worker's credential code"
        )
    metres = haversine_m(place.lat, place.lon, dispatch.lat, dispatch.lon)
    if not metres <= radius_m:
        raise CheckInRejected(
            dispatch.dispatch_id,
            "too_far",
            f"{metres:,.0f} m from the home; check in within {radius_m:,.0f} m",
        )
    check_in = place.model_copy(update={"distance_m": metres})
    at = _when(dispatch, now)
    return _step(dispatch, "on_site", at, worker_id=worker.worker_id, check_in=check_in)


def complete(dispatch: Dispatch, worker_id: str, notes: str, *, now: datetime) -> Dispatch:
    """The work is done; the worker says what was done."""
    _require(dispatch, frozenset({"on_site"}), "complete")
    _require_holder(dispatch, worker_id)
    text = _text(notes, "completion notes", required=True, limit=2000)
    at = _when(dispatch, now)
    return _step(dispatch, "completed", at, worker_id=worker_id, notes=text)


def cancel(dispatch: Dispatch, reason: str, *, now: datetime) -> Dispatch:
    """Called off (the alert cleared, the family cancelled a visit); an open offer is withdrawn."""
    if dispatch.status in FINAL:
        raise IllegalDispatchTransition(dispatch.dispatch_id, dispatch.status, "cancel")
    text = _text(reason, "cancel reason", required=True, limit=500)
    at = _when(dispatch, now)
    offers = _answered(dispatch, "withdrawn", at) if dispatch.current_offer else dispatch.offers
    return _step(
        dispatch,
        "cancelled",
        at,
        worker_id=dispatch.worker_id,
        note=text,
        offers=offers,
        cancel_reason=text,
    )


def rate(dispatch: Dispatch, stars: int, *, now: datetime) -> Dispatch:
    """The family's rating of a completed service, once (then fold it into the worker's)."""
    if dispatch.status != "completed":
        raise IllegalDispatchTransition(dispatch.dispatch_id, dispatch.status, "rate")
    if dispatch.rating is not None:
        raise IllegalDispatchTransition(
            dispatch.dispatch_id, dispatch.status, "rate", "already rated"
        )
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValueError("a rating is a whole number of stars, 1 to 5")
    at = _when(dispatch, now)
    return dispatch.model_copy(update={"rating": stars, "rated_at": at, "updated_at": at})
