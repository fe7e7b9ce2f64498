"""Family bookings: cleaning, meals and periodic visits, in the home's own wall-clock time.

A family books for its own homes, dispatchers and admins for any; anyone else, and
any home or booking they may not see, gets 404. What falls due within the lead
time is dispatched at once; cancelling a booking calls off its visits not yet under
way (a worker already on the way finishes).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from alerts.candidates import home_day
from api.context import Ctx
from api.deps import FamilyOrDispatcher, PathId, audit, not_found, own_home, sees_home
from api.routes.dispatches import actor
from api.schemas.bookings import BookingCreate, BookingPublic

router = APIRouter(prefix="/api/v1", tags=["bookings"])

MAX_LIMIT = 1000


@router.post("/homes/{home_id}/bookings", status_code=status.HTTP_201_CREATED)
async def book(
    home_id: PathId, body: BookingCreate, ctx: Ctx, account: FamilyOrDispatcher
) -> BookingPublic:
    """Book a service once or on a schedule; times are the home's wall-clock times."""
    own_home(account, home_id)
    profile = await run_in_threadpool(ctx.homes.profile, home_id)
    if profile is None:
        raise not_found()
    today = home_day(ctx.clock(), profile.home.timezone)
    record = await ctx.dispatching.book(
        home_id, body.service, body.schedule.schedule(today), created_by=actor(account)
    )
    await audit(
        ctx,
        account,
        "create_booking",
        target=home_id,
        detail=f"booking={record.booking.booking_id} service={body.service}",
    )
    return BookingPublic.of(record)


@router.get("/homes/{home_id}/bookings")
async def list_bookings(
    home_id: PathId,
    ctx: Ctx,
    account: FamilyOrDispatcher,
    active: Annotated[bool | None, Query(description="only active (or cancelled) ones")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[BookingPublic]:
    """The home's bookings, newest first."""
    own_home(account, home_id)
    if await run_in_threadpool(ctx.homes.profile, home_id) is None:
        raise not_found()
    records = await run_in_threadpool(
        lambda: ctx.dispatching.bookings.recent(home_ids=[home_id], active=active, limit=limit)
    )
    return [BookingPublic.of(record) for record in records]


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(
    booking_id: PathId, ctx: Ctx, account: FamilyOrDispatcher
) -> BookingPublic:
    """No more visits; those made and not yet under way are called off."""
    record = await run_in_threadpool(ctx.dispatching.bookings.get, booking_id)
    if record is None or not sees_home(account, record.booking.home_id):
        raise not_found()
    cancelled = await ctx.dispatching.cancel_booking(booking_id, actor=actor(account))
    await audit(
        ctx,
        account,
        "cancel_booking",
        target=record.booking.home_id,
        detail=f"booking={booking_id}",
    )
    return BookingPublic.of(cancelled)
