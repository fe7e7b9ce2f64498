"""Logins on SQLite and PostgreSQL: hashed passwords, roles, tiers and family homes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from devices.registry import Home
from records.accounts import AccountError, AccountStore, NewAccount
from records.devices import DeviceRegistry
from records.schema import AccountRow

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def accounts(records_engine: Engine) -> AccountStore:
    registry = DeviceRegistry(records_engine)
    for home_id in ("h1", "h2"):
        registry.add_home(Home(home_id=home_id, lat=22.5, lon=113.4))
    return AccountStore(records_engine)


def family(username: str, *homes: str) -> NewAccount:
    return NewAccount.model_validate(
        {"username": username, "password": "correct horse", "role": "family", "home_ids": homes}
    )


def test_only_the_right_password_logs_in_and_it_is_never_stored(
    accounts: AccountStore, records_engine: Engine
) -> None:
    accounts.create(family("mei", "h1"), now=NOW)
    assert accounts.authenticate("mei", "correct horse") is not None
    assert accounts.authenticate("mei", "wrong horse!") is None
    assert accounts.authenticate("nobody", "correct horse") is None
    with Session(records_engine) as session:
        stored = session.scalars(select(AccountRow.password_hash)).one()
    assert "correct horse" not in stored
    assert stored.startswith("$argon2id$")


def test_a_family_sees_the_homes_it_is_linked_to(accounts: AccountStore) -> None:
    accounts.create(family("mei", "h1"), now=NOW)
    accounts.create(family("li", "h1", "h2"), now=NOW)
    accounts.link_home("mei", "h2")
    mei = accounts.get("mei")
    assert mei is not None
    assert mei.home_ids == ("h1", "h2")
    assert [a.username for a in accounts.families_of("h2")] == ["li", "mei"]


def test_dispatchers_are_found_by_tier(accounts: AccountStore) -> None:
    for name, tier in (("ann", 1), ("bo", 2), ("cy", 1)):
        accounts.create(
            NewAccount.model_validate(
                {"username": name, "password": "password1", "role": "dispatcher", "tier": tier}
            ),
            now=NOW,
        )
    assert [a.username for a in accounts.dispatchers(1)] == ["ann", "cy"]
    assert [a.username for a in accounts.dispatchers(2)] == ["bo"]


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (family("mei", "nowhere"), "home nowhere does not exist"),
        (
            NewAccount(username="w", password="password1", role="worker"),
            "names its worker_id",
        ),
        (
            NewAccount(username="w", password="password1", role="worker", worker_id="ghost"),
            "worker ghost does not exist",
        ),
        (
            NewAccount(username="d", password="password1", role="admin", home_ids=("h1",)),
            "only a family account",
        ),
    ],
)
def test_impossible_accounts_are_refused_clearly(
    accounts: AccountStore, new: NewAccount, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.create(new, now=NOW)
    assert accounts.get(new.username) is None


def test_a_taken_username_is_refused(accounts: AccountStore) -> None:
    accounts.create(family("mei", "h1"), now=NOW)
    with pytest.raises(AccountError, match="taken"):
        accounts.create(family("mei", "h2"), now=NOW)


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "a b", "password": "password1", "role": "family"},
        {"username": "x" * 65, "password": "password1", "role": "family"},
        {"username": "ok", "password": "short", "role": "family"},
        {"username": "ok", "password": "password1", "role": "root"},
        {"username": "ok", "password": "password1", "role": "dispatcher", "tier": 0},
    ],
)
def test_hostile_account_fields_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NewAccount.model_validate(fields)
