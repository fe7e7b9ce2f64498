"""Bearer tokens: short-lived JWT access tokens and longer refresh tokens (HS256).

An access token carries the username and role and lives 15 minutes by default,
so a revoked account stops working soon without a lookup table; every request
still loads the account, so a family's homes are always the current ones. A
refresh token only names the user and may be exchanged for a new pair.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import jwt
from pydantic import BaseModel, ConfigDict

from records.accounts import Account, Role

ALGORITHM = "HS256"
ISSUER = "anxin"


class TokenPair(BaseModel):
    """The OAuth2 token response."""

    model_config = ConfigDict(frozen=True)

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role


class Claims(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    role: Role


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TokenIssuer:
    def __init__(
        self,
        secret: bytes,
        *,
        access_ttl: timedelta = timedelta(minutes=15),
        refresh_ttl: timedelta = timedelta(days=7),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 bytes")
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._clock = clock

    def issue(self, account: Account) -> TokenPair:
        now = self._clock()
        return TokenPair(
            access_token=self._encode(account.username, account.role, "access", now),
            refresh_token=self._encode(account.username, account.role, "refresh", now),
            expires_in=int(self.access_ttl.total_seconds()),
            role=account.role,
        )

    def access(self, token: str) -> Claims | None:
        """The claims of a valid, unexpired access token; None for anything else."""
        return self._decode(token, "access")

    def refresh(self, token: str) -> Claims | None:
        return self._decode(token, "refresh")

    def _encode(self, username: str, role: Role, use: str, now: datetime) -> str:
        ttl = self.access_ttl if use == "access" else self.refresh_ttl
        claims = {
            "iss": ISSUER,
            "sub": username,
            "role": role,
            "use": use,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, use: str) -> Claims | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"], "verify_iat": False},
                leeway=0,
            )
            # PyJWT checks `exp` against the real clock; ours may be injected.
            if claims["exp"] <= self._clock().timestamp() or claims.get("use") != use:
                return None
            return Claims(username=claims["sub"], role=claims["role"])
        except (jwt.PyJWTError, KeyError, ValueError):
            return None


def load_secret(path: Path) -> bytes:
    """The deployment's token secret from a file, created (0600) on first use."""
    if path.exists():
        secret = path.read_bytes().strip()
        if len(secret) >= 32:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(secret)
    return secret
