"""`GET /api/v1/me`: who the token belongs to, so a client can shape itself to the role."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import Current
from records.accounts import Role

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Me(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    role: Role
    home_ids: tuple[str, ...]
    worker_id: str | None
    tier: int | None


@router.get("/me")
def read_me(account: Current) -> Me:
    """The logged-in account: its role, the homes a family sees, a worker's id."""
    return Me(
        username=account.username,
        role=account.role,
        home_ids=account.home_ids,
        worker_id=account.worker_id,
        tier=account.tier,
    )
