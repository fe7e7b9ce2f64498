"""Logins: admins, dispatchers (with their escalation tier), families (with their homes), workers.

Passwords are stored only as argon2id hashes (OWASP's first choice for
password storage); a username is an id (`^[A-Za-z0-9_-]{1,64}$`), so it can
appear in topics, logs and URLs without escaping.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.envelope import Name
from records.schema import AccountRow, FamilyHomeRow, HomeRow, WorkerRow

Role = Literal["admin", "dispatcher", "family", "worker"]

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not tell who does.

    Made at the first such login, not at import: an argon2id hash touches 64 MiB, which
    stayed in the peak memory of every process that imports this (the gateway too).
    """
    return _hasher.hash("not a password anyone has")


class AccountError(Exception):
    """An account change that cannot be made (name taken, unknown home or worker)."""


class NewAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: Name
    password: SecretStr = Field(min_length=8, max_length=256)
    role: Role
    tier: int | None = Field(default=None, ge=1, le=9, description="dispatchers: escalation tier")
    worker_id: Name | None = None
    home_ids: tuple[Name, ...] = ()


class Account(BaseModel):
    """A login as the rest of the platform sees it: never with its password."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: Name
    role: Role
    tier: int | None = None
    worker_id: Name | None = None
    home_ids: tuple[Name, ...] = ()


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, new: NewAccount, *, now: datetime) -> Account:
        if new.role == "dispatcher" and new.tier is None:
            new = new.model_copy(update={"tier": 1})
        if new.role == "worker" and new.worker_id is None:
            raise AccountError("a worker account names its worker_id")
        if new.role != "family" and new.home_ids:
            raise AccountError("only a family account is linked to homes")
        password_hash = _hasher.hash(new.password.get_secret_value())  # slow: outside the lock
        try:
            with Session(self._engine) as session, session.begin():
                if session.get(AccountRow, new.username) is not None:
                    raise AccountError(f"username {new.username} is taken")
                if new.worker_id is not None and session.get(WorkerRow, new.worker_id) is None:
                    raise AccountError(f"worker {new.worker_id} does not exist")
                for home_id in new.home_ids:
                    if session.get(HomeRow, home_id) is None:
                        raise AccountError(f"home {home_id} does not exist")
                session.add(
                    AccountRow(
                        username=new.username,
                        password_hash=password_hash,
                        role=new.role,
                        tier=new.tier if new.role == "dispatcher" else None,
                        worker_id=new.worker_id,
                        created_at=now,
                    )
                )
                session.flush()
                session.add_all(
                    FamilyHomeRow(username=new.username, home_id=home_id)
                    for home_id in dict.fromkeys(new.home_ids)
                )
        except IntegrityError:  # created concurrently between the check and the commit
            taken = f"username {new.username}"
            if new.worker_id is not None:
                taken += f" or a login for worker {new.worker_id}"
            raise AccountError(f"{taken} is taken") from None
        return Account(
            username=new.username,
            role=new.role,
            tier=new.tier if new.role == "dispatcher" else None,
            worker_id=new.worker_id,
            home_ids=tuple(dict.fromkeys(new.home_ids)),
        )

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account when the password is right; None otherwise, in about the same time."""
        with Session(self._engine) as session:
            row = session.get(AccountRow, username)
            stored = _dummy_hash() if row is None else row.password_hash
            try:
                _hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            return None if row is None else _account(session, row)

    def get(self, username: str) -> Account | None:
        with Session(self._engine) as session:
            row = session.get(AccountRow, username)
            return None if row is None else _account(session, row)

    def set_password(self, username: str, password: str) -> bool:
        """Replace a password; False when there is no such account."""
        if not 8 <= len(password) <= 256:
            raise AccountError("a password has 8 to 256 characters")
        with Session(self._engine) as session, session.begin():
            row = session.get(AccountRow, username)
            if row is None:
                return False
            row.password_hash = _hasher.hash(password)
            return True

    def link_home(self, username: str, home_id: str) -> None:
        with Session(self._engine) as session, session.begin():
            row = session.get(AccountRow, username)
            if row is None or row.role != "family":
                raise AccountError(f"{username} is not a family account")
            if session.get(HomeRow, home_id) is None:
                raise AccountError(f"home {home_id} does not exist")
            if session.get(FamilyHomeRow, (username, home_id)) is None:
                session.add(FamilyHomeRow(username=username, home_id=home_id))

    def dispatchers(self, tier: int) -> list[Account]:
        """The dispatchers of one escalation tier."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(AccountRow)
                .where(AccountRow.role == "dispatcher", AccountRow.tier == tier)
                .order_by(AccountRow.username)
            )
            return [_account(session, row) for row in rows]

    def families_of(self, home_id: str) -> list[Account]:
        """The family accounts linked to a home."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(AccountRow)
                .join(FamilyHomeRow, FamilyHomeRow.username == AccountRow.username)
                .where(FamilyHomeRow.home_id == home_id)
                .order_by(AccountRow.username)
            )
            return [_account(session, row) for row in rows]


def _account(session: Session, row: AccountRow) -> Account:
    homes: tuple[str, ...] = ()
    if row.role == "family":
        homes = tuple(
            session.scalars(
                select(FamilyHomeRow.home_id)
                .where(FamilyHomeRow.username == row.username)
                .order_by(FamilyHomeRow.home_id)
            )
        )
    return Account.model_validate(
        {
            "username": row.username,
            "role": row.role,
            "tier": row.tier,
            "worker_id": row.worker_id,
            "home_ids": homes,
        }
    )
