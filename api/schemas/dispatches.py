"""Dispatches at the HTTP edge: what dispatchers and workers send, and the view each gets.

A dispatch is shown with its step times flattened (`accepted_at`, `on_site_at`…), so
a client need not replay the history to know when help was accepted or arrived; the
history itself and every offer's outcome are a dispatcher's view only (a worker does
not learn which colleagues declined, a family does not need to).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.dispatches import (
    CheckIn,
    DeclineReason,
    Dispatch,
    DispatchStatus,
    Offer,
    Origin,
    Step,
)
from alerts.matching import Candidate
from api.schemas.common import Input, Lat, Lon, Name
from processors.detection import Service, Severity

Required = Annotated[str, Field(min_length=1, pattern=r"\S")]


class DispatchCreate(Input):
    """A dispatcher's job: offered to `worker_id` if given, else to the round's best."""

    home_id: Name
    service: Service
    alert_id: Name | None = Field(default=None, description="the alert it answers, if any")
    severity: Severity | None = Field(
        default=None, description="sets the offer timeout; default the alert's, else medium"
    )
    scheduled_for: AwareDatetime | None = Field(
        default=None, description="when the service is due; none: as soon as possible"
    )
    worker_id: Name | None = Field(default=None, description="offer to this worker first")


class DeclineBody(Input):
    reason: DeclineReason
    note: str = Field(default="", max_length=500, description="required when reason is other")


class ArriveBody(Input):
    """The check-in: where the worker is, and the code on their credential card."""

    lat: Lat
    lon: Lon
    code: str = Field(max_length=64, description="the worker's own credential code")


class CompleteBody(Input):
    notes: Annotated[Required, Field(max_length=2000, description="what was done")]


class CancelDispatchBody(Input):
    reason: Annotated[Required, Field(max_length=500, description="why it is called off")]


class RateBody(Input):
    stars: int = Field(strict=True, ge=1, le=5)


class OfferBody(Input):
    worker_id: Name


class DispatchPublic(BaseModel):
    """A dispatch as its reader may see it; `history` and `offers` are null but for
    dispatchers and admins."""

    model_config = ConfigDict(frozen=True)

    dispatch_id: str
    alert_id: str | None
    booking_id: str | None
    home_id: str
    lat: float = Field(description="the home, where the worker checks in (°)")
    lon: float
    address: str = Field(description="the home's address (empty if not provisioned)")
    service: Service
    severity: Severity
    origin: Origin
    status: DispatchStatus
    worker_id: str | None = Field(description="the worker it is offered to or held by")
    offer_deadline: datetime | None = Field(description="the open offer expires then")
    created_at: datetime
    scheduled_for: datetime | None
    updated_at: datetime
    offered_at: datetime | None = Field(description="first offer made")
    accepted_at: datetime | None
    en_route_at: datetime | None
    on_site_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    check_in: CheckIn | None
    notes: str | None = Field(description="the worker's notes on completion")
    rating: int | None
    rated_at: datetime | None
    cancel_reason: str | None
    history: tuple[Step, ...] | None
    offers: tuple[Offer, ...] | None

    @classmethod
    def of(cls, dispatch: Dispatch, *, full: bool) -> DispatchPublic:
        offer = dispatch.current_offer
        return cls(
            **dispatch.model_dump(
                include={
                    "dispatch_id",
                    "alert_id",
                    "booking_id",
                    "home_id",
                    "lat",
                    "lon",
                    "address",
                    "service",
                    "severity",
                    "origin",
                    "status",
                    "worker_id",
                    "created_at",
                    "scheduled_for",
                    "updated_at",
                    "notes",
                    "rating",
                    "rated_at",
                    "cancel_reason",
                }
            ),
            check_in=dispatch.check_in,
            offer_deadline=None if offer is None else offer.deadline,
            offered_at=dispatch.first_at("offered"),
            accepted_at=dispatch.first_at("accepted"),
            en_route_at=dispatch.first_at("en_route"),
            on_site_at=dispatch.first_at("on_site"),
            completed_at=dispatch.first_at("completed"),
            cancelled_at=dispatch.first_at("cancelled"),
            history=dispatch.history if full else None,
            offers=dispatch.offers if full else None,
        )


class CandidatePublic(BaseModel):
    """An eligible worker for a job, in the round's order."""

    model_config = ConfigDict(frozen=True)

    worker_id: str
    name: str
    distance_m: float = Field(description="great-circle metres from the home")
    rating: float
    rating_count: int
    active_jobs: int
    served_before: bool = Field(description="completed a job at this home before")

    @classmethod
    def of(cls, candidate: Candidate) -> CandidatePublic:
        worker = candidate.worker
        return cls(
            worker_id=worker.worker_id,
            name=worker.name,
            distance_m=round(candidate.distance_m, 1),
            rating=round(worker.rating, 2),
            rating_count=worker.rating_count,
            active_jobs=worker.active_jobs,
            served_before=candidate.served_before,
        )
