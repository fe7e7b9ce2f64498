"""Alerts for the people who act on them: the queue, one alert in full, and the lifecycle.

Dispatchers (and admins) list and act; a family lists and reads the alerts of
its own homes, and gets 404 for any other. Actions run through the alert service, so
each is one locked transaction, recorded in the alert's history with its actor,
published to the live streams and notified like any other change; an action
the alert's status does not allow is 409. Reads are audited (health data).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool

from alerts.model import Alert, AlertStatus
from alerts.service import Action
from api.context import ApiContext, Ctx
from api.deps import (
    Dispatcher,
    FamilyOrDispatcher,
    PathId,
    audit,
    not_found,
    sees_home,
    visible_homes,
)
from api.schemas.alerts import ActionBody, CancelBody, DispatchBody
from api.schemas.common import problems
from records.accounts import Account

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=problems(401, 404, 409, 422))

MAX_LIMIT = 1000


@router.get("")
async def list_alerts(
    ctx: Ctx,
    account: FamilyOrDispatcher,
    status: Annotated[AlertStatus | None, Query(description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[Alert]:
    """Alerts newest first; every status unless `status` is given. A family gets those
    of its own homes (its past alerts included)."""
    homes = visible_homes(account)
    alerts = await run_in_threadpool(
        lambda: ctx.alerts.recent(status=status, home_ids=homes, limit=limit)
    )
    await audit(ctx, account, "list_alerts", detail=f"status={status or '-'} count={len(alerts)}")
    return alerts


@router.get("/{alert_id}")
async def read_alert(alert_id: PathId, ctx: Ctx, account: FamilyOrDispatcher) -> Alert:
    """One alert with its evidence and full history."""
    alert = await run_in_threadpool(ctx.alerts.get, alert_id)
    if alert is None or not sees_home(account, alert.home_id):
        raise not_found()
    await audit(ctx, account, "read_alert", target=alert.home_id, detail=f"alert={alert_id}")
    return alert


async def _act(
    ctx: ApiContext, account: Account, alert_id: str, action: Action, reason: str
) -> Alert:
    alert = await ctx.alert_service.act(
        alert_id, action, actor=f"{account.role}:{account.username}", reason=reason
    )
    await audit(ctx, account, f"alert_{action}", target=alert.home_id, detail=f"alert={alert_id}")
    return alert


OptionalReason = Annotated[ActionBody | None, Body()]


@router.post("/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: PathId, ctx: Ctx, account: Dispatcher, body: OptionalReason = None
) -> Alert:
    """Someone has seen it: stops the escalation ladder."""
    return await _act(ctx, account, alert_id, "acknowledge", body.reason if body else "")


@router.post("/{alert_id}/dispatch")
async def dispatch(
    alert_id: PathId,
    ctx: Ctx,
    account: Dispatcher,
    body: Annotated[DispatchBody | None, Body()] = None,
) -> Alert:
    """Help is being sent: the alert's dispatch goes to the chosen worker (`worker_id`,
    from `/candidates`) or to the round's best, and the alert is marked dispatched."""
    body = body or DispatchBody()
    await ctx.dispatching.send_help(
        alert_id, actor=f"{account.role}:{account.username}", worker_id=body.worker_id
    )
    alert = await run_in_threadpool(ctx.alerts.get, alert_id)
    if alert is not None and alert.status == "dispatched":  # a worker took it meanwhile
        return alert
    return await _act(ctx, account, alert_id, "dispatch", body.reason)


@router.post("/{alert_id}/resolve")
async def resolve(
    alert_id: PathId, ctx: Ctx, account: Dispatcher, body: OptionalReason = None
) -> Alert:
    """Dealt with."""
    return await _act(ctx, account, alert_id, "resolve", body.reason if body else "")


@router.post("/{alert_id}/cancel")
async def cancel(alert_id: PathId, ctx: Ctx, account: Dispatcher, body: CancelBody) -> Alert:
    """A false alarm, with the reason why (required)."""
    return await _act(ctx, account, alert_id, "cancel", body.reason)
