"""`GET /api/v1/audit` (admin): the audit trail, newest first; reading it is recorded too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.context import Ctx
from api.deps import Admin, audit
from api.schemas.common import ID_PATTERN, problems
from records.audit import AuditEntry

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=problems(401, 404, 422))


@router.get("")
async def read_audit(
    ctx: Ctx,
    account: Admin,
    home_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="entries about it")
    ] = None,
    actor: Annotated[str | None, Query(pattern=ID_PATTERN, description="a username")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="page back from this audit_id")
    ] = None,
) -> list[AuditEntry]:
    """Who read or changed what; `before` pages back through older entries."""
    entries = await run_in_threadpool(
        lambda: ctx.audit.entries(target=home_id, actor=actor, limit=limit, before=before)
    )
    await audit(
        ctx,
        account,
        "read_audit",
        detail=f"home_id={home_id or '-'} actor={actor or '-'} before={before or '-'}"
        f" count={len(entries)}",
    )
    return entries
