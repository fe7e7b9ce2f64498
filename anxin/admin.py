"""The first login: the `admin` account, from ANXIN_ADMIN_PASSWORD or generated once."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from records.accounts import AccountStore, NewAccount

ADMIN = "admin"


def ensure_admin(accounts: AccountStore, password: str | None, *, now: datetime) -> str | None:
    """Make sure `admin` exists with the configured password.

    Returns a newly generated password (to print once) when none was configured and
    the account did not exist yet; None otherwise. A configured password always wins,
    so rotating ANXIN_ADMIN_PASSWORD and restarting changes the login.
    """
    if accounts.get(ADMIN) is None:
        chosen = password or secrets.token_urlsafe(12)
        accounts.create(
            NewAccount(username=ADMIN, password=SecretStr(chosen), role="admin"), now=now
        )
        return None if password else chosen
    if password:
        accounts.set_password(ADMIN, password)
    return None


async def bootstrap_admin(engine: Engine, password: SecretStr | None) -> str | None:
    """`ensure_admin` at a service's start, off the event loop (hashing is slow)."""
    return await asyncio.to_thread(
        ensure_admin,
        AccountStore(engine),
        None if password is None else password.get_secret_value(),
        now=datetime.now(UTC),
    )
