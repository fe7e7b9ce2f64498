"""`POST /api/v1/auth/token`: the OAuth2 password flow, and refresh, rate-limited.

Both grants answer the same way for a wrong user and a wrong password (401),
and each attempt spends a token of the username's and of the client address's
bucket, so guessing is slow whichever is varied; past the limit: 429.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request, status

from api.context import Ctx
from api.tokens import TokenPair

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_BAD_LOGIN = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    "wrong username or password",
    headers={"WWW-Authenticate": "Bearer"},
)


@router.post("/token")
def token(
    request: Request,
    ctx: Ctx,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()] = "password",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    refresh_token: Annotated[str, Form(max_length=4096)] = "",
) -> TokenPair:
    """Log in with a username and password (or exchange a refresh token) for tokens."""
    now = ctx.clock()
    client = request.client.host if request.client else "unknown"
    keys = [f"ip:{client}"]
    if grant_type == "password":
        keys.append(f"user:{username}")
    if not all([ctx.logins.admit(key, "low", now) for key in keys]):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many login attempts; try again in a few minutes",
            headers={"Retry-After": "60"},
        )
    if grant_type == "refresh_token":
        claims = ctx.tokens.refresh(refresh_token)
        account = None if claims is None else ctx.accounts.get(claims.username)
        if account is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired refresh token")
        return ctx.tokens.issue(account)
    if not username or not password:
        raise _BAD_LOGIN
    account = ctx.accounts.authenticate(username, password)
    if account is None:
        raise _BAD_LOGIN
    return ctx.tokens.issue(account)
