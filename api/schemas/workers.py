"""Care workers at the HTTP edge: provisioning, position and shift, the dispatchers' map.

A worker's credential code is their check-in proof at the door, so no answer carries
it (nor the login's password); the family's check of a code is `VerifiedWorker`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from alerts.workers import CREDENTIAL_PATTERN, Worker
from api.schemas.common import Flag, Input, Lat, Lon, Name
from processors.detection import Service
from records.workers import NewWorker

RESERVED_IDS = frozenset({"me", "verify"})
"""Path words of `/workers/...` that no worker id may take."""

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))]


class WorkerCreate(Input):
    """CONTRACT §5 `POST /api/v1/workers`; `username` and `password` come together."""

    worker_id: Name | None = Field(default=None, description="generated when absent")
    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    skills: frozenset[Service] = Field(min_length=1, description="services they may deliver")
    credential_code: str = Field(
        pattern=CREDENTIAL_PATTERN, description="printed on their card; one person, one code"
    )
    credential_expires: Day = Field(description="last day the credential is valid")
    lat: Lat
    lon: Lon
    on_shift: Flag = False
    username: Name | None = None
    password: SecretStr | None = Field(default=None, min_length=8, max_length=256)

    @field_validator("worker_id")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value is not None and value.lower() in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved")
        return value

    @model_validator(mode="after")
    def _login_whole(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("a worker login needs both username and password")
        return self

    def new(self) -> NewWorker:
        return NewWorker.model_validate(self.model_dump())


class WorkerUpdate(Input):
    """Where the worker is now and whether they are on shift; `lat` and `lon` together."""

    lat: Lat | None = None
    lon: Lon | None = None
    on_shift: Flag | None = None

    @model_validator(mode="after")
    def _whole(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        if ("lat" in self.model_fields_set) != ("lon" in self.model_fields_set):
            raise ValueError("lat and lon come together")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class WorkerView(BaseModel):
    """A worker as dispatchers see them on the map: place, shift, rating and load."""

    model_config = ConfigDict(frozen=True)

    worker_id: str
    name: str
    skills: tuple[Service, ...]
    credential_expires: date
    credential_valid: bool = Field(description="valid today (UTC date), through its expiry day")
    lat: float
    lon: float
    on_shift: bool
    rating: float
    rating_count: int
    active_jobs: int = Field(description="dispatches accepted and not finished")

    @classmethod
    def of(cls, worker: Worker, *, today: date) -> WorkerView:
        return cls(
            worker_id=worker.worker_id,
            name=worker.name,
            skills=tuple(sorted(worker.skills)),
            credential_expires=worker.credential_expires,
            credential_valid=worker.credential_valid_on(today),
            lat=worker.lat,
            lon=worker.lon,
            on_shift=worker.on_shift,
            rating=round(worker.rating, 2),
            rating_count=worker.rating_count,
            active_jobs=worker.active_jobs,
        )


class VerifiedWorker(BaseModel):
    """What a credential code tells anyone: name, skills, validity today, rating; no more."""

    model_config = ConfigDict(frozen=True)

    name: str
    skills: tuple[Service, ...]
    credential_valid: bool
    rating: float
    rating_count: int
