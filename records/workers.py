"""Care workers in SQL: who they are, what they may do, where they are, how they are rated.

A worker's load (`active_jobs`) is not stored: it is counted from the dispatches they
hold (`accepted`, `en_route`, `on_site`), so it can never drift from the jobs
themselves. A rating is folded into the running mean under the row's lock, so two
families rating at once both count.

`verify` answers the family at the door: the name, skills, whether the credential is
valid today and the rating behind a code, and nothing else (no location, no homes).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.dispatches import HELD
from alerts.workers import CredentialCode, Latitude, Longitude, Worker
from devices.envelope import Name
from processors.detection import Service
from records.accounts import AccountError, AccountStore, NewAccount
from records.schema import AccountRow, DispatchRow, WorkerRow


class WorkerError(Exception):
    """A worker change that cannot be made (id or credential code taken, username taken)."""


class WorkerNotFound(LookupError):
    """No worker with that id (the API answers 404)."""


class NewWorker(BaseModel):
    """A care worker to add (CONTRACT §5 `POST /api/v1/workers`), with their login if given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    worker_id: Name | None = Field(default=None, description="generated when absent")
    name: str = Field(min_length=1, max_length=100)
    skills: frozenset[Service] = Field(min_length=1)
    credential_code: CredentialCode
    credential_expires: date
    lat: Latitude
    lon: Longitude
    on_shift: bool = False
    username: Name | None = None
    password: SecretStr | None = Field(default=None, min_length=8, max_length=256)

    @model_validator(mode="after")
    def _login_whole(self) -> NewWorker:
        if (self.username is None) != (self.password is None):
            raise ValueError("a worker login needs both username and password")
        return self


class WorkerPublic(BaseModel):
    """What anyone holding a credential code may learn about the worker behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    skills: tuple[Service, ...]
    credential_valid: bool = Field(description="valid on the day asked (through its expiry day)")
    rating: float
    rating_count: int


def new_worker_id() -> str:
    return f"w-{uuid.uuid4().hex[:12]}"


class WorkerStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._accounts = AccountStore(engine)

    def add(
        self, new: NewWorker, *, now: datetime, new_id: Callable[[], str] = new_worker_id
    ) -> Worker:
        """Add a worker and, when a username is given, their `worker` login.

        Two transactions (the account store owns its own): if the login cannot be made,
        the worker is removed again, so the call adds both or neither.
        """
        worker_id = new.worker_id or new_id()
        account = None
        if new.username is not None and new.password is not None:
            account = NewAccount(
                username=new.username, password=new.password, role="worker", worker_id=worker_id
            )
            if self._accounts.get(new.username) is not None:
                raise WorkerError(f"username {new.username} is taken")
        worker = Worker(
            worker_id=worker_id,
            **new.model_dump(exclude={"worker_id", "username", "password"}),
        )
        try:
            with Session(self._engine) as session, session.begin():
                if session.get(WorkerRow, worker_id) is not None:
                    raise WorkerError(f"worker {worker_id} already exists")
                taken = session.scalar(
                    select(WorkerRow.worker_id).where(
                        WorkerRow.credential_code == new.credential_code
                    )
                )
                if taken is not None:
                    raise WorkerError("credential code is already another worker's")
                session.add(_row(worker))
        except IntegrityError:  # lost a race for the id or the code
            raise WorkerError("worker id or credential code is taken") from None
        if account is not None:
            try:
                self._accounts.create(account, now=now)
            except (AccountError, IntegrityError) as error:
                self._remove(worker_id)
                raise WorkerError(str(error) or "username is taken") from None
        return worker

    def get(self, worker_id: str) -> Worker | None:
        with Session(self._engine) as session:
            row = session.get(WorkerRow, worker_id)
            if row is None:
                return None
            return _worker(row, _active_jobs(session, [worker_id]).get(worker_id, 0))

    def all(self) -> list[Worker]:
        """Every worker with their current load: the snapshot matching starts from."""
        with Session(self._engine) as session:
            loads = _active_jobs(session, None)
            rows = session.scalars(select(WorkerRow).order_by(WorkerRow.worker_id))
            return [_worker(row, loads.get(row.worker_id, 0)) for row in rows]

    def move(self, worker_id: str, lat: float, lon: float) -> Worker:
        """The worker's reported location (validated as a `Worker` field)."""
        return self._update(worker_id, lambda w: _checked(w, lat=lat, lon=lon))

    def set_shift(self, worker_id: str, on_shift: bool) -> Worker:
        return self._update(worker_id, lambda w: _checked(w, on_shift=on_shift))

    def rate(self, worker_id: str, stars: int) -> Worker:
        """Fold one family rating into the worker's running mean, under the row's lock."""
        with Session(self._engine) as session, session.begin():
            return fold_rating(session, worker_id, stars)

    def verify(self, code: str, *, today: date) -> WorkerPublic | None:
        """The public view of the worker holding `code`; None for an unknown code."""
        if not isinstance(code, str) or not 1 <= len(code) <= 64:
            return None
        with Session(self._engine) as session:
            row = session.scalars(
                select(WorkerRow).where(WorkerRow.credential_code == code)
            ).one_or_none()
            if row is None:
                return None
            return WorkerPublic(
                name=row.name,
                skills=tuple(sorted(row.skills)),
                credential_valid=today <= row.credential_expires,
                rating=round(row.rating, 2),
                rating_count=row.rating_count,
            )

    def active_jobs(self, worker_ids: Collection[str] | None = None) -> dict[str, int]:
        """Dispatches held (accepted, en route, on site) per worker; absent means none."""
        with Session(self._engine) as session:
            return _active_jobs(session, worker_ids)

    def _update(self, worker_id: str, change: Callable[[Worker], Worker]) -> Worker:
        with Session(self._engine) as session, session.begin():
            row = session.get(WorkerRow, worker_id, with_for_update=True)
            if row is None:
                raise WorkerNotFound(worker_id)
            after = change(_worker(row, _active_jobs(session, [worker_id]).get(worker_id, 0)))
            row.lat, row.lon, row.on_shift = after.lat, after.lon, after.on_shift
            return after

    def _remove(self, worker_id: str) -> None:
        with Session(self._engine) as session, session.begin():
            if session.scalar(select(AccountRow).where(AccountRow.worker_id == worker_id)) is None:
                row = session.get(WorkerRow, worker_id)
                if row is not None:
                    session.delete(row)


def fold_rating(session: Session, worker_id: str, stars: int) -> Worker:
    """Inside a transaction: lock the worker's row and add `stars` to their mean."""
    row = session.get(WorkerRow, worker_id, with_for_update=True)
    if row is None:
        raise WorkerNotFound(worker_id)
    after = _worker(row, 0).rated(stars)
    row.rating, row.rating_count = after.rating, after.rating_count
    return after.model_copy(
        update={"active_jobs": _active_jobs(session, [worker_id]).get(worker_id, 0)}
    )


def _checked(worker: Worker, **changes: object) -> Worker:
    """`worker` with `changes`, validated as a fresh `Worker` (model_copy would not)."""
    return Worker.model_validate({**worker.model_dump(), **changes})


def _active_jobs(session: Session, worker_ids: Collection[str] | None) -> dict[str, int]:
    query = (
        select(DispatchRow.worker_id, func.count())
        .where(DispatchRow.status.in_(sorted(HELD)), DispatchRow.worker_id.is_not(None))
        .group_by(DispatchRow.worker_id)
    )
    if worker_ids is not None:
        query = query.where(DispatchRow.worker_id.in_(list(worker_ids)))
    return {worker_id: count for worker_id, count in session.execute(query) if worker_id}


def _row(worker: Worker) -> WorkerRow:
    return WorkerRow(
        worker_id=worker.worker_id,
        name=worker.name,
        skills=sorted(worker.skills),
        credential_code=worker.credential_code,
        credential_expires=worker.credential_expires,
        lat=worker.lat,
        lon=worker.lon,
        on_shift=worker.on_shift,
        rating=worker.rating,
        rating_count=worker.rating_count,
    )


def _worker(row: WorkerRow, active_jobs: int) -> Worker:
    return Worker(
        worker_id=row.worker_id,
        name=row.name,
        skills=frozenset(row.skills),
        credential_code=row.credential_code,
        credential_expires=row.credential_expires,
        lat=row.lat,
        lon=row.lon,
        on_shift=row.on_shift,
        rating=row.rating,
        rating_count=row.rating_count,
        active_jobs=active_jobs,
    )
