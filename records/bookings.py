"""Family bookings in SQL, and turning their occurrences into dispatches exactly once.

A booking row keeps `scheduled_until`: every occurrence before it already has its
dispatch. Scheduling locks the booking, expands the occurrences in
`[max(scheduled_until, now), until)`, inserts a dispatch for each and moves
`scheduled_until` to `until`, all in one transaction; the unique (booking,
occurrence) pair on `dispatches` makes the database itself refuse a second dispatch
for one occurrence should two schedulers race anyway.

Occurrences that passed while no scheduler ran are not dispatched late: a cleaning
five hours late is a new arrangement with the family, for a dispatcher to make.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.bookings import Booking, due_occurrences
from alerts.dispatches import Dispatch
from devices.registry import Home
from records.database import in_transaction
from records.dispatches import StoredDispatch, save
from records.homes import home_from_row
from records.schema import BookingRow, DispatchRow, HomeRow, as_utc, from_column

MakeDispatch = Callable[[Booking, datetime, Home], Dispatch]
"""(booking, occurrence, its home) -> the pending dispatch for it."""

ACTOR: Final = "system:booking"


class BookingError(Exception):
    """A booking that cannot be made (unknown home, id taken)."""


class BookingNotFound(LookupError):
    """No booking with that id (the API answers 404)."""


class BookingRecord(BaseModel):
    """A booking with what the records keep about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    booking: Booking
    active: bool
    created_by: str
    created_at: AwareDatetime
    scheduled_until: AwareDatetime | None = None


class BookingStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, booking: Booking, *, created_by: str, now: datetime) -> BookingRecord:
        with Session(self._engine) as session, session.begin():
            if session.get(HomeRow, booking.home_id) is None:
                raise BookingError(f"home {booking.home_id} does not exist")
            if session.get(BookingRow, booking.booking_id) is not None:
                raise BookingError(f"booking {booking.booking_id} already exists")
            row = BookingRow(
                booking_id=booking.booking_id,
                home_id=booking.home_id,
                service=booking.service,
                active=True,
                created_by=created_by,
                created_at=as_utc(now),
                scheduled_until=None,
                body=booking.model_dump(mode="json"),
            )
            session.add(row)
            return _record(row)

    def get(self, booking_id: str) -> BookingRecord | None:
        with Session(self._engine) as session:
            row = session.get(BookingRow, booking_id)
            return None if row is None else _record(row)

    def recent(
        self,
        *,
        home_ids: Collection[str] | None = None,
        active: bool | None = None,
        limit: int = 100,
    ) -> list[BookingRecord]:
        """Newest first; `home_ids`: those homes only (a family's)."""
        query = select(BookingRow).order_by(BookingRow.created_at.desc(), BookingRow.booking_id)
        if home_ids is not None:
            query = query.where(BookingRow.home_id.in_(sorted(home_ids)))
        if active is not None:
            query = query.where(BookingRow.active == active)
        with Session(self._engine) as session:
            return [_record(row) for row in session.scalars(query.limit(limit))]

    def active_ids(self) -> list[str]:
        with Session(self._engine) as session:
            return list(
                session.scalars(
                    select(BookingRow.booking_id)
                    .where(BookingRow.active.is_(True))
                    .order_by(BookingRow.booking_id)
                )
            )

    def deactivate(self, booking_id: str) -> BookingRecord:
        """No more dispatches from this booking (those already made are the caller's)."""
        with Session(self._engine) as session, session.begin():
            row = session.get(BookingRow, booking_id, with_for_update=True)
            if row is None:
                raise BookingNotFound(booking_id)
            row.active = False
            return _record(row)

    def schedule(
        self, booking_id: str, *, now: datetime, until: datetime, make: MakeDispatch
    ) -> list[StoredDispatch]:
        """Make the dispatches for the booking's occurrences before `until` not made yet."""

        def attempt(session: Session) -> list[StoredDispatch]:
            row = session.get(BookingRow, booking_id, with_for_update=True)
            if row is None:
                raise BookingNotFound(booking_id)
            if not row.active:
                return []
            done = None if row.scheduled_until is None else from_column(row.scheduled_until)
            since = max(as_utc(now), done) if done is not None else as_utc(now)
            end = as_utc(until)
            if end <= since:
                return []
            home = session.get(HomeRow, row.home_id)
            if home is None:
                raise BookingError(f"home {row.home_id} does not exist")
            booking = Booking.model_validate(row.body)
            made: list[StoredDispatch] = []
            for at in due_occurrences(booking, since, end):
                exists = session.scalar(
                    select(DispatchRow.dispatch_id).where(
                        DispatchRow.booking_id == booking_id,
                        DispatchRow.scheduled_for == as_utc(at),
                    )
                )
                if exists is None:
                    dispatch = make(booking, at, home_from_row(home))
                    made.append(save(session, None, None, dispatch, actor=ACTOR))
            row.scheduled_until = end
            return made

        return in_transaction(self._engine, attempt)


def _record(row: BookingRow) -> BookingRecord:
    return BookingRecord(
        booking=Booking.model_validate(row.body),
        active=row.active,
        created_by=row.created_by,
        created_at=from_column(row.created_at),
        scheduled_until=None if row.scheduled_until is None else from_column(row.scheduled_until),
    )
