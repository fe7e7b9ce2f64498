"""Provisioning (admin): homes, their devices, and family and dispatcher logins.

Creation answers 201 with the resource; an id or username already taken is 409;
a device for a home that does not exist is 404, a family linked to one is 422.
Nothing answered carries a password hash; a new device's MQTT password is in its
creation answer only. The broker and the gateway read the device registry, so a
device may connect as soon as it is provisioned. Every change is audited.

`GET /homes` is open to dispatchers (every home) and families (their own): it
carries residents' conditions, so it is audited as a read of health data.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from api.context import Ctx
from api.deps import Admin, Current, PathId, audit, not_found, visible_homes
from api.schemas.accounts import AccountPublic, DispatcherCreate, FamilyCreate
from api.schemas.common import ID_PATTERN, problems
from api.schemas.homes import DeviceCreate, DeviceProvisioned, HomeCreate, HomePublic, HomeUpdate
from devices.registry import Home
from records.accounts import NewAccount
from records.homes import HomeProfile

router = APIRouter(prefix="/api/v1", tags=["provisioning"], responses=problems(401, 404, 409, 422))

MAX_HOMES = 10_000


def generated_id(prefix: str) -> str:
    """A fresh id for a resource created without one (matches the id pattern)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


@router.post("/homes", status_code=status.HTTP_201_CREATED)
async def create_home(body: HomeCreate, ctx: Ctx, account: Admin) -> HomePublic:
    """A home with its resident and emergency contacts; `home_id` generated if absent."""
    profile = HomeProfile(
        home=Home(
            home_id=body.home_id or generated_id("home"),
            address=body.address,
            lat=body.lat,
            lon=body.lon,
            timezone=body.timezone,
            away=body.away,
        ),
        resident=body.resident,
        emergency_contacts=body.emergency_contacts,
    )
    created = await run_in_threadpool(ctx.homes.create, profile)
    await audit(ctx, account, "create_home", target=created.home.home_id)
    return HomePublic.of(created)


@router.get("/homes")
async def list_homes(
    ctx: Ctx,
    account: Current,
    after: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="page after this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_HOMES)] = 1000,
) -> list[HomePublic]:
    """Homes in id order: every home for dispatchers and admins, a family's own."""
    if account.role not in ("admin", "dispatcher", "family"):
        raise not_found()
    home_ids = visible_homes(account)
    profiles = await run_in_threadpool(
        lambda: ctx.homes.profiles(home_ids, after=after, limit=limit)
    )
    await audit(ctx, account, "list_homes", detail=f"count={len(profiles)}")
    return [HomePublic.of(profile) for profile in profiles]


@router.patch("/homes/{home_id}")
async def update_home(home_id: PathId, body: HomeUpdate, ctx: Ctx, account: Admin) -> HomePublic:
    """Change some of a home's fields (`away` pauses the activity rules)."""
    changes = body.changes()
    updated = await run_in_threadpool(ctx.homes.update, home_id, changes)
    if updated is None:
        raise not_found()
    await audit(ctx, account, "update_home", target=home_id, detail=",".join(sorted(changes)))
    return HomePublic.of(updated)


@router.post("/homes/{home_id}/devices", status_code=status.HTTP_201_CREATED)
async def add_device(
    home_id: PathId, body: DeviceCreate, ctx: Ctx, account: Admin
) -> DeviceProvisioned:
    """A device of the home, with its MQTT username and password (shown once)."""
    if await run_in_threadpool(ctx.registry.home, home_id) is None:
        raise not_found()
    device, password = await run_in_threadpool(
        lambda: ctx.registry.add_device(
            device_id=body.device_id or generated_id(body.type),
            home_id=home_id,
            type=body.type,
            room=body.room,
            appliance=body.appliance,
            report_interval_s=body.report_interval_s,
        )
    )
    await audit(ctx, account, "add_device", target=home_id, detail=f"device={device.device_id}")
    return DeviceProvisioned.with_login(device, password)


@router.post("/families", status_code=status.HTTP_201_CREATED)
async def create_family(body: FamilyCreate, ctx: Ctx, account: Admin) -> AccountPublic:
    """A family login that sees the homes named."""
    for home_id in body.home_ids:
        if await run_in_threadpool(ctx.registry.home, home_id) is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"home {home_id} does not exist"
            )
    new = NewAccount(
        username=body.username, password=body.password, role="family", home_ids=body.home_ids
    )
    created = await run_in_threadpool(lambda: ctx.accounts.create(new, now=ctx.clock()))
    await audit(
        ctx, account, "create_family", target=created.username, detail=",".join(body.home_ids)
    )
    return AccountPublic.of(created)


@router.post("/dispatchers", status_code=status.HTTP_201_CREATED)
async def create_dispatcher(body: DispatcherCreate, ctx: Ctx, account: Admin) -> AccountPublic:
    """A dispatcher login on an escalation tier."""
    new = NewAccount(
        username=body.username, password=body.password, role="dispatcher", tier=body.tier
    )
    created = await run_in_threadpool(lambda: ctx.accounts.create(new, now=ctx.clock()))
    await audit(
        ctx, account, "create_dispatcher", target=created.username, detail=f"tier={body.tier}"
    )
    return AccountPublic.of(created)
