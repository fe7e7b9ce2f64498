"""A home's health data: its status at a glance, and its time series.

Families read their own homes, dispatchers and admins every home; anyone else,
and any home that does not exist, gets 404. Every successful read is written to
the audit trail before the answer leaves (PIPL: health data is sensitive
personal information).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext, Ctx
from api.deps import FamilyOrDispatcher, PathId, audit, not_found, own_home
from api.schemas.common import problems
from api.schemas.status import HomeStatus, home_status, is_motion_seen
from api.schemas.telemetry import EVERY_PATTERN, telemetry_window
from devices.telemetry import TelemetryType
from gateway.timeseries import SeriesPoint
from records.accounts import Account
from records.homes import HomeProfile

router = APIRouter(prefix="/api/v1/homes", tags=["homes"], responses=problems(401, 404, 422, 503))

MOTION_LOOKBACK = timedelta(hours=24)
"""How far back status looks for the last motion seen when the newest motion reading is a
"no motion" one (door and bed changes come from the newest reading of each)."""


def _visible_home(ctx: ApiContext, account: Account, home_id: str) -> HomeProfile:
    own_home(account, home_id)
    profile = ctx.homes.profile(home_id)
    if profile is None:
        raise not_found()
    return profile


async def _last_motion_seen(ctx: ApiContext, home_id: str, now: datetime) -> SeriesPoint | None:
    points = await ctx.timeseries.series(
        home_id, "motion", since=now - MOTION_LOOKBACK, until=now + timedelta(minutes=5)
    )
    seen = [point for point in points if is_motion_seen(point)]
    return seen[-1] if seen else None


@router.get("/{home_id}/status")
async def read_status(home_id: PathId, ctx: Ctx, account: FamilyOrDispatcher) -> HomeStatus:
    """Resident, newest reading per type, last activity, device health and open alerts."""
    profile = await run_in_threadpool(_visible_home, ctx, account, home_id)
    devices = await run_in_threadpool(ctx.registry.devices_of, home_id)
    alerts = await run_in_threadpool(ctx.alerts.active_for_home, home_id)
    now = ctx.clock()
    latest = await ctx.timeseries.latest(home_id)
    motion = latest.get("motion")
    if motion is None or not is_motion_seen(motion):
        motion = await _last_motion_seen(ctx, home_id, now)
    await audit(
        ctx, account, "read_status", target=home_id, detail="resident, readings, devices, alerts"
    )
    return home_status(profile, devices, latest, motion, alerts, now=now)


@router.get("/{home_id}/telemetry")
async def read_telemetry(
    home_id: PathId,
    ctx: Ctx,
    account: FamilyOrDispatcher,
    kind: Annotated[TelemetryType, Query(alias="type", description="a telemetry type")],
    since: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with offset; default until - 24 h")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with offset; default now")
    ] = None,
    every: Annotated[
        str | None,
        Query(
            pattern=EVERY_PATTERN,
            description="aggregation window (30s, 5m, 1h, 1d): per-window means of numeric"
            " fields; at most 10,000 windows. Without it, every reading (at most 7 days).",
        ),
    ] = None,
) -> list[SeriesPoint]:
    """Readings of one type in [since, until), oldest first, or per-window means."""
    await run_in_threadpool(_visible_home, ctx, account, home_id)
    try:
        window = telemetry_window(since, until, every, now=ctx.clock())
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    points = await ctx.timeseries.series(
        home_id, kind, since=window.since, until=window.until, every=window.every
    )
    await audit(
        ctx,
        account,
        "read_telemetry",
        target=home_id,
        detail=f"type={kind} since={window.since.isoformat()} until={window.until.isoformat()}"
        f" every={every or '-'} points={len(points)}",
    )
    return points
