"""Who lives in a home and whom to call: the resident and the emergency contacts.

`devices.registry.Home` is a home as devices and detectors need it (place,
zone, away); this adds the people, for the console and for the last rung of
the escalation ladder. Both live in the same `homes` row, so provisioning a
home (`create`, `update`) writes them together in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.registry import Home
from records.errors import RegistryError
from records.schema import HomeRow

Condition = Annotated[str, Field(min_length=1, max_length=100)]


class Resident(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="", max_length=200)
    birth_year: int | None = Field(default=None, ge=1890, le=2100)
    conditions: tuple[Condition, ...] = Field(default=(), max_length=50)


class EmergencyContact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(pattern=r"^\+?[0-9 ()-]{3,32}$")
    relation: str = Field(default="", max_length=100)


class HomeProfile(BaseModel):
    """A home with its people."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Home
    resident: Resident = Resident()
    emergency_contacts: tuple[EmergencyContact, ...] = Field(default=(), max_length=10)


HOME_FIELDS = frozenset(Home.model_fields) - {"home_id"}
"""What `update` may change on the home itself (its id never changes)."""


class HomeStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def profile(self, home_id: str) -> HomeProfile | None:
        with Session(self._engine) as session:
            row = session.get(HomeRow, home_id)
            return None if row is None else _profile(row)

    def profiles(
        self,
        home_ids: Collection[str] | None = None,
        *,
        after: str | None = None,
        limit: int = 1000,
    ) -> list[HomeProfile]:
        """Homes in id order; `home_ids` restricts (a family's), `after` pages on."""
        query = select(HomeRow).order_by(HomeRow.home_id).limit(limit)
        if home_ids is not None:
            query = query.where(HomeRow.home_id.in_(list(home_ids)))
        if after is not None:
            query = query.where(HomeRow.home_id > after)
        with Session(self._engine) as session:
            return [_profile(row) for row in session.scalars(query)]

    def create(self, profile: HomeProfile) -> HomeProfile:
        """Add a home with its people; `RegistryError` when the id is taken."""
        home_id = profile.home.home_id
        try:
            with Session(self._engine) as session, session.begin():
                if session.get(HomeRow, home_id) is not None:
                    raise RegistryError(f"home {home_id} already exists")
                session.add(
                    HomeRow(
                        **profile.home.model_dump(),
                        **_people(profile),
                        changed_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:  # created concurrently between the check and the commit
            raise RegistryError(f"home {home_id} already exists") from None
        return profile

    def update(self, home_id: str, changes: Mapping[str, Any]) -> HomeProfile | None:
        """Apply a partial change: any `Home` field but the id, `resident`,
        `emergency_contacts` (each replaced whole). None when there is no such home.

        The result is validated as a whole before it is written, so a change can
        never leave a home the domain would refuse.
        """
        unknown = set(changes) - HOME_FIELDS - {"resident", "emergency_contacts"}
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        with Session(self._engine) as session, session.begin():
            row = session.get(HomeRow, home_id, with_for_update=True)
            if row is None:
                return None
            before = _profile(row)
            after = HomeProfile.model_validate(
                {
                    "home": {
                        **before.home.model_dump(),
                        **{k: v for k, v in changes.items() if k in HOME_FIELDS},
                    },
                    "resident": changes.get("resident", before.resident),
                    "emergency_contacts": changes.get(
                        "emergency_contacts", before.emergency_contacts
                    ),
                }
            )
            for key, value in after.home.model_dump().items():
                setattr(row, key, value)
            for key, value in _people(after).items():
                setattr(row, key, value)
            row.changed_at = datetime.now(UTC)
            return after

    def set_people(
        self, home_id: str, resident: Resident, contacts: tuple[EmergencyContact, ...]
    ) -> bool:
        """Replace the resident and contacts; False when the home does not exist."""
        return (
            self.update(home_id, {"resident": resident, "emergency_contacts": contacts}) is not None
        )


def _people(profile: HomeProfile) -> dict[str, Any]:
    return {
        "resident": profile.resident.model_dump(mode="json"),
        "emergency_contacts": [c.model_dump(mode="json") for c in profile.emergency_contacts],
    }


def home_from_row(row: HomeRow) -> Home:
    return Home(
        home_id=row.home_id,
        address=row.address,
        lat=row.lat,
        lon=row.lon,
        timezone=row.timezone,
        away=row.away,
    )


def _profile(row: HomeRow) -> HomeProfile:
    return HomeProfile(
        home=home_from_row(row),
        resident=Resident.model_validate(row.resident or {}),
        emergency_contacts=tuple(
            EmergencyContact.model_validate(c) for c in row.emergency_contacts or []
        ),
    )
