"""Care workers: provisioning (admin), the dispatchers' map, position and shift, and the
family's check of a credential code at the door.

`GET /workers/verify/{code}` needs no login (a family member at the door may have
none) and answers the name, skills, validity today and rating behind a code, nothing
more; it is rate-limited per client address so codes cannot be walked. No other
answer carries a credential code: it is also the worker's check-in proof.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool

from alerts.workers import CREDENTIAL_PATTERN, Worker
from api.context import ApiContext, Ctx
from api.deps import Admin, Dispatcher, PathId, WorkerAccount, audit, not_found
from api.routes.dispatches import worker_id_of
from api.schemas.workers import VerifiedWorker, WorkerCreate, WorkerUpdate, WorkerView
from processors.detection import Service
from records.accounts import Account

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])

MAX_WORKERS = 10_000

TOO_MANY = {"description": "too many checks from this address; try again in a few minutes"}


def _view(ctx: ApiContext, worker: Worker) -> WorkerView:
    return WorkerView.of(worker, today=ctx.clock().date())


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_worker(body: WorkerCreate, ctx: Ctx, account: Admin) -> WorkerView:
    """A care worker and, with `username` and `password`, their login; 409 when the id,
    the credential code or the username is taken."""
    worker = await ctx.dispatching.add_worker(body.new())
    await audit(ctx, account, "create_worker", target=worker.worker_id)
    return _view(ctx, worker)


@router.get("")
async def list_workers(
    ctx: Ctx,
    account: Dispatcher,
    service: Annotated[Service | None, Query(description="only those with this skill")] = None,
    on_shift: Annotated[bool | None, Query(description="only those on (or off) shift")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_WORKERS)] = 1000,
) -> list[WorkerView]:
    """Workers in id order with place, shift, rating and load: the dispatchers' map."""
    workers = await run_in_threadpool(ctx.dispatching.workers.all)
    chosen = [
        worker
        for worker in workers
        if (service is None or service in worker.skills)
        and (on_shift is None or worker.on_shift == on_shift)
    ][:limit]
    await audit(ctx, account, "list_workers", detail=f"count={len(chosen)}")
    return [_view(ctx, worker) for worker in chosen]


async def _update(
    ctx: ApiContext, account: Account, worker_id: str, changes: dict[str, Any]
) -> WorkerView:
    worker = await run_in_threadpool(ctx.dispatching.workers.get, worker_id)
    if worker is None:
        raise not_found()
    if "lat" in changes:
        worker = await ctx.dispatching.move_worker(worker_id, changes["lat"], changes["lon"])
    if "on_shift" in changes:
        worker = await ctx.dispatching.set_shift(worker_id, changes["on_shift"])
    await audit(ctx, account, "update_worker", target=worker_id, detail=",".join(sorted(changes)))
    return _view(ctx, worker)


@router.patch("/me")
async def update_myself(body: WorkerUpdate, ctx: Ctx, account: WorkerAccount) -> WorkerView:
    """A worker's own position (from their app) or shift."""
    return await _update(ctx, account, worker_id_of(account), body.changes())


@router.patch("/{worker_id}")
async def update_worker(
    worker_id: PathId, body: WorkerUpdate, ctx: Ctx, account: Admin
) -> WorkerView:
    """Move a worker or put them on or off shift."""
    return await _update(ctx, account, worker_id, body.changes())


@router.get("/verify/{code}", responses={404: {"description": "no such code"}, 429: TOO_MANY})
async def verify(
    code: Annotated[str, Path(pattern=CREDENTIAL_PATTERN)], request: Request, ctx: Ctx
) -> VerifiedWorker:
    """The worker behind a credential code: name, skills, validity today and rating."""
    client = request.client.host if request.client else "unknown"
    if not ctx.verifications.admit(f"ip:{client}", "low", ctx.clock()):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            TOO_MANY["description"],
            headers={"Retry-After": "60"},
        )
    found = await ctx.dispatching.verify(code)
    if found is None:
        raise not_found()
    return VerifiedWorker(**found.model_dump())
