"""Dispatch work over HTTP: the lists, a dispatcher's choices, a worker's steps, a family's stars.

Who sees what (CONTRACT §5): a worker only the dispatches offered to or held by
them, a family those of its homes (its service history), dispatchers and admins
all. A worker's steps (accept, decline, start, arrive, complete) are the worker's own,
or entered by a dispatcher for the worker the dispatch is offered to or held by; the
step then names the dispatcher in `recorded_by`. Anything else answers 404, as for a dispatch that does not exist, and a worker
acting on another's dispatch gets 404 before its status is looked at, so ids and
states do not leak. Every change goes through `DispatchService` (one locked
transaction, then the worker or the queue told) and is audited; the service's
errors are mapped in `api.errors` (409 for a step the status does not allow, 422
for a check-in refused, naming `too_far` or `wrong_code`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from alerts.dispatches import Dispatch, DispatchStatus, IllegalDispatchTransition, WrongWorker
from api.context import ApiContext, Ctx
from api.deps import (
    Current,
    Dispatcher,
    PathId,
    WorkerOrDispatcher,
    audit,
    not_found,
    own_home,
    role,
    sees_home,
)
from api.schemas.common import ID_PATTERN
from api.schemas.dispatches import (
    ArriveBody,
    CancelDispatchBody,
    CandidatePublic,
    CompleteBody,
    DeclineBody,
    DispatchCreate,
    DispatchPublic,
    OfferBody,
    RateBody,
)
from records.accounts import Account

router = APIRouter(prefix="/api/v1", tags=["dispatches"])

MAX_LIMIT = 1000
MAX_CANDIDATES = 100

FamilyAccount = Annotated[Account, Depends(role("family"))]


def actor(account: Account) -> str:
    return f"{account.role}:{account.username}"


def worker_id_of(account: Account) -> str:
    """The worker behind a worker login (a login without one sees nothing)."""
    if account.worker_id is None:
        raise not_found()
    return account.worker_id


def public(account: Account, dispatch: Dispatch) -> DispatchPublic:
    return DispatchPublic.of(dispatch, full=account.role in ("admin", "dispatcher"))


async def visible(ctx: ApiContext, account: Account, dispatch_id: str) -> Dispatch:
    """The dispatch if `account` may see it; 404 otherwise (`WrongWorker`, `DispatchNotFound`)."""
    if account.role == "worker":
        return await ctx.dispatching.get_for_worker(dispatch_id, worker_id_of(account))
    dispatch = await ctx.dispatching.get(dispatch_id)
    if not sees_home(account, dispatch.home_id):
        raise not_found()
    return dispatch


@router.get("/dispatches")
async def list_dispatches(
    ctx: Ctx,
    account: Current,
    status: Annotated[DispatchStatus | None, Query(description="only this status")] = None,
    home_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="only this home")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[DispatchPublic]:
    """Dispatches newest first: a worker's own, a family's homes', or all (dispatchers)."""
    if account.role == "worker":
        found = await ctx.dispatching.for_worker(worker_id_of(account), status=status, limit=limit)
        found = [d for d in found if home_id is None or d.home_id == home_id]
    else:
        homes = [home_id] if home_id is not None else None
        if account.role == "family":
            if home_id is not None:
                own_home(account, home_id)
            homes = homes or list(account.home_ids)
        found = await ctx.dispatching.recent(status=status, home_ids=homes, limit=limit)
    await audit(
        ctx, account, "list_dispatches", detail=f"status={status or '-'} count={len(found)}"
    )
    return [public(account, dispatch) for dispatch in found]


@router.post("/dispatches", status_code=status.HTTP_201_CREATED)
async def create_dispatch(body: DispatchCreate, ctx: Ctx, account: Dispatcher) -> DispatchPublic:
    """A dispatcher's job for a home: offered to `worker_id`, or to the round's best."""
    dispatch = await ctx.dispatching.create(
        body.home_id,
        body.service,
        actor=actor(account),
        alert_id=body.alert_id,
        severity=body.severity,
        scheduled_for=body.scheduled_for,
        worker_id=body.worker_id,
    )
    await audit(
        ctx,
        account,
        "create_dispatch",
        target=dispatch.home_id,
        detail=f"dispatch={dispatch.dispatch_id} service={dispatch.service}",
    )
    return public(account, dispatch)


@router.get("/dispatches/{dispatch_id}")
async def read_dispatch(dispatch_id: PathId, ctx: Ctx, account: Current) -> DispatchPublic:
    """One dispatch with its step times (and, for dispatchers, its history and offers)."""
    dispatch = await visible(ctx, account, dispatch_id)
    return public(account, dispatch)


async def _done(
    ctx: ApiContext, account: Account, action: str, dispatch: Dispatch
) -> DispatchPublic:
    await audit(
        ctx, account, action, target=dispatch.home_id, detail=f"dispatch={dispatch.dispatch_id}"
    )
    return public(account, dispatch)


Step = Callable[[str, str | None], Awaitable[Dispatch]]
"""A worker's step on a dispatch: given the worker and who records it for them (None: the
worker themselves)."""


async def _worker_step(
    ctx: ApiContext, account: Account, dispatch_id: str, action: str, step: Step
) -> tuple[Dispatch, Dispatch]:
    """The dispatch before and after a worker's step.

    A worker acts for themselves: 404 for a dispatch not theirs, checked before its status
    (a 409 would tell them it exists). A dispatcher (or admin) records the step for the
    worker the dispatch is offered to or held by, as when a worker phones the centre:
    409 when nobody is, or when the dispatch moved on to someone else meanwhile.
    """
    if account.role == "worker":
        worker_id = worker_id_of(account)
        before = await ctx.dispatching.get_for_worker(dispatch_id, worker_id)
        return before, await step(worker_id, None)
    before = await ctx.dispatching.get(dispatch_id)
    if before.worker_id is None:
        raise IllegalDispatchTransition(
            dispatch_id, before.status, action, "it is not offered to or held by a worker"
        )
    try:
        return before, await step(before.worker_id, actor(account))
    except WrongWorker as error:
        raise IllegalDispatchTransition(
            dispatch_id, before.status, action, f"it is no longer {before.worker_id}'s"
        ) from error


async def _worker_action(
    ctx: ApiContext, account: Account, dispatch_id: str, action: str, step: Step
) -> DispatchPublic:
    _, after = await _worker_step(ctx, account, dispatch_id, action, step)
    return await _done(ctx, account, f"dispatch_{action}", after)


@router.post("/dispatches/{dispatch_id}/accept")
async def accept(dispatch_id: PathId, ctx: Ctx, account: WorkerOrDispatcher) -> DispatchPublic:
    """The offered worker takes the job (its alert becomes `dispatched`)."""
    return await _worker_action(
        ctx,
        account,
        dispatch_id,
        "accept",
        lambda worker_id, by: ctx.dispatching.accept(dispatch_id, worker_id, recorded_by=by),
    )


@router.post("/dispatches/{dispatch_id}/decline")
async def decline(
    dispatch_id: PathId, body: DeclineBody, ctx: Ctx, account: WorkerOrDispatcher
) -> DispatchPublic:
    """The offered worker says no, and why; the next worker is asked at once. The answer
    is the dispatch as it stood when declined: it is no longer this worker's to see."""
    before, after = await _worker_step(
        ctx,
        account,
        dispatch_id,
        "decline",
        lambda worker_id, by: ctx.dispatching.decline(
            dispatch_id, worker_id, body.reason, body.note, recorded_by=by
        ),
    )
    await audit(ctx, account, "dispatch_decline", target=after.home_id, detail=body.reason)
    step = next(s for s in reversed(after.history) if s.status == "declined")
    return public(
        account,
        before.model_copy(update={"status": "declined", "worker_id": None, "updated_at": step.at}),
    )


@router.post("/dispatches/{dispatch_id}/start")
async def start(dispatch_id: PathId, ctx: Ctx, account: WorkerOrDispatcher) -> DispatchPublic:
    """The worker sets off (`en_route`)."""
    return await _worker_action(
        ctx,
        account,
        dispatch_id,
        "start",
        lambda worker_id, by: ctx.dispatching.start_trip(dispatch_id, worker_id, recorded_by=by),
    )


@router.post("/dispatches/{dispatch_id}/arrive")
async def arrive(
    dispatch_id: PathId, body: ArriveBody, ctx: Ctx, account: WorkerOrDispatcher
) -> DispatchPublic:
    """Check-in at the home: within 200 m, with the worker's own credential code (also
    when a dispatcher records it for them)."""
    return await _worker_action(
        ctx,
        account,
        dispatch_id,
        "arrive",
        lambda worker_id, by: ctx.dispatching.arrive(
            dispatch_id, worker_id, lat=body.lat, lon=body.lon, code=body.code, recorded_by=by
        ),
    )


@router.post("/dispatches/{dispatch_id}/complete")
async def complete(
    dispatch_id: PathId, body: CompleteBody, ctx: Ctx, account: WorkerOrDispatcher
) -> DispatchPublic:
    """The work is done (its alert is resolved unless another job for it is under way)."""
    return await _worker_action(
        ctx,
        account,
        dispatch_id,
        "complete",
        lambda worker_id, by: ctx.dispatching.complete(
            dispatch_id, worker_id, body.notes, recorded_by=by
        ),
    )


@router.post("/dispatches/{dispatch_id}/cancel")
async def cancel(
    dispatch_id: PathId, body: CancelDispatchBody, ctx: Ctx, account: Dispatcher
) -> DispatchPublic:
    """Call the dispatch off; the worker who had it is told."""
    dispatch = await ctx.dispatching.cancel(dispatch_id, body.reason, actor=actor(account))
    return await _done(ctx, account, "dispatch_cancel", dispatch)


@router.post("/dispatches/{dispatch_id}/offer")
async def offer(
    dispatch_id: PathId, body: OfferBody, ctx: Ctx, account: Dispatcher
) -> DispatchPublic:
    """Offer a waiting dispatch to a worker the dispatcher chose (skill, credential and
    shift still hold: 409 naming the reasons otherwise)."""
    dispatch = await ctx.dispatching.offer_to(dispatch_id, body.worker_id, actor=actor(account))
    return await _done(ctx, account, "dispatch_offer", dispatch)


@router.post("/dispatches/{dispatch_id}/rate")
async def rate(
    dispatch_id: PathId, body: RateBody, ctx: Ctx, account: FamilyAccount
) -> DispatchPublic:
    """The family's stars for a completed service, once; the worker's rating follows."""
    await visible(ctx, account, dispatch_id)
    dispatch = await ctx.dispatching.rate(dispatch_id, body.stars, actor=actor(account))
    return await _done(ctx, account, "dispatch_rate", dispatch)


@router.get("/dispatches/{dispatch_id}/candidates")
async def dispatch_candidates(
    dispatch_id: PathId,
    ctx: Ctx,
    account: Dispatcher,
    limit: Annotated[int, Query(ge=1, le=MAX_CANDIDATES)] = 20,
) -> list[CandidatePublic]:
    """The workers who could take this dispatch, in the order the round would offer it."""
    found = await ctx.dispatching.candidates.for_dispatch(dispatch_id, limit=limit)
    return [CandidatePublic.of(candidate) for candidate in found]


@router.get("/alerts/{alert_id}/candidates")
async def alert_candidates(
    alert_id: PathId,
    ctx: Ctx,
    account: Dispatcher,
    limit: Annotated[int, Query(ge=1, le=MAX_CANDIDATES)] = 20,
) -> list[CandidatePublic]:
    """The workers who could take the alert's service now, best first."""
    found = await ctx.dispatching.candidates.for_alert(alert_id, limit=limit)
    return [CandidatePublic.of(candidate) for candidate in found]
