"""Who is asking: the bearer token's account, and the role checks every route states.

A route names the roles it serves; anyone else gets 404, as for an object they
may not see (CONTRACT §5: 404, not 403, so ids do not leak). Object-level
checks (`own_home`) answer 404 the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, status
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext, Ctx
from devices.envelope import ID_PATTERN
from records.accounts import Account, Role

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

NOT_FOUND = "not found"


def not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)


def current_account(ctx: Ctx, token: Annotated[str | None, Depends(bearer)]) -> Account:
    """The account behind a valid access token; 401 otherwise."""
    return _authenticated(ctx, token)


def stream_account(
    ctx: Ctx,
    token: Annotated[str | None, Depends(bearer)],
    access_token: Annotated[
        str | None,
        Query(
            max_length=4096,
            description="the access token, for browsers' EventSource (it cannot set headers)",
        ),
    ] = None,
) -> Account:
    """As `current_account`, also taking the token from `?access_token=`.

    Only the event stream accepts it: a URL is more easily leaked than a header,
    so the short-lived access token (never the refresh token) is the one allowed,
    and the HTTP server keeps no access log.
    """
    return _authenticated(ctx, token or access_token)


def _authenticated(ctx: ApiContext, token: str | None) -> Account:
    claims = None if token is None else ctx.tokens.access(token)
    account = None if claims is None else ctx.accounts.get(claims.username)
    if account is None or claims is None or account.role != claims.role:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing, invalid or expired token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return account


Current = Annotated[Account, Depends(current_account)]


def role(*allowed: Role) -> Callable[[Account], Account]:
    """A dependency admitting these roles (an admin may do what a dispatcher may)."""
    admitted = set(allowed) | ({"admin"} if "dispatcher" in allowed else set())

    def check(account: Current) -> Account:
        if account.role not in admitted:
            raise not_found()
        return account

    return check


Admin = Annotated[Account, Depends(role("admin"))]
Dispatcher = Annotated[Account, Depends(role("dispatcher"))]
FamilyOrDispatcher = Annotated[Account, Depends(role("family", "dispatcher"))]
WorkerOrDispatcher = Annotated[Account, Depends(role("worker", "dispatcher"))]
WorkerAccount = Annotated[Account, Depends(role("worker"))]


def sees_home(account: Account, home_id: str) -> bool:
    """Dispatchers and admins see every home; a family only its own."""
    if account.role in ("admin", "dispatcher"):
        return True
    return account.role == "family" and home_id in account.home_ids


def own_home(account: Account, home_id: str) -> None:
    """404 unless `account` may see this home (whether or not it exists)."""
    if not sees_home(account, home_id):
        raise not_found()


def visible_homes(account: Account) -> tuple[str, ...] | None:
    """The homes whose data this account may see; None means every home."""
    return None if account.role in ("admin", "dispatcher") else account.home_ids


PathId = Annotated[str, Path(pattern=ID_PATTERN)]
"""A home, device or alert id in a path: `^[A-Za-z0-9_-]{1,64}$`."""


async def audit(
    ctx: ApiContext, account: Account, action: str, *, target: str = "", detail: str = ""
) -> None:
    """Record who read or changed what (PIPL: every read of health data is recorded)."""
    await run_in_threadpool(
        ctx.audit.record,
        actor=account.username,
        action=action,
        target=target,
        detail=detail,
        at=ctx.clock(),
    )
