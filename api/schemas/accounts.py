"""Family and dispatcher logins at the HTTP edge (worker logins come with the worker)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.schemas.common import Input, Name
from records.accounts import Account, Role

Password = Annotated[SecretStr, Field(min_length=8, max_length=256)]


class FamilyCreate(Input):
    username: Name
    password: Password
    home_ids: tuple[Name, ...] = Field(min_length=1, max_length=50)


class DispatcherCreate(Input):
    username: Name
    password: Password
    tier: Annotated[
        int, Field(strict=True, ge=1, le=9, description="escalation tier: 1 is called first")
    ] = 1


class AccountPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    role: Role
    tier: int | None
    home_ids: tuple[str, ...]

    @classmethod
    def of(cls, account: Account) -> AccountPublic:
        return cls(
            username=account.username,
            role=account.role,
            tier=account.tier,
            home_ids=account.home_ids,
        )
