"""Who lives in a home and whom to call: the resident and the emergency contacts.

`devices.registry.Home` is a home as devices and detectors need it (place,
zone, away); this adds the people, for the console and for the last rung of
the escalation ladder. Both live in the same `homes` row.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from devices.registry import Home
from records.schema import HomeRow


class Resident(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="", max_length=200)
    birth_year: int | None = Field(default=None, ge=1890, le=2100)
    conditions: tuple[str, ...] = Field(default=(), max_length=50)


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


class HomeStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def profile(self, home_id: str) -> HomeProfile | None:
        with Session(self._engine) as session:
            row = session.get(HomeRow, home_id)
            if row is None:
                return None
            return HomeProfile(
                home=Home(
                    home_id=row.home_id,
                    address=row.address,
                    lat=row.lat,
                    lon=row.lon,
                    timezone=row.timezone,
                    away=row.away,
                ),
                resident=Resident.model_validate(row.resident or {}),
                emergency_contacts=tuple(
                    EmergencyContact.model_validate(c) for c in row.emergency_contacts or []
                ),
            )

    def set_people(
        self, home_id: str, resident: Resident, contacts: tuple[EmergencyContact, ...]
    ) -> bool:
        """Replace the resident and contacts; False when the home does not exist."""
        with Session(self._engine) as session, session.begin():
            row = session.get(HomeRow, home_id)
            if row is None:
                return False
            row.resident = resident.model_dump(mode="json")
            row.emergency_contacts = [c.model_dump(mode="json") for c in contacts]
            return True
