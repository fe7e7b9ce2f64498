"""Family bookings on SQLite and a real PostgreSQL: each occurrence within the lead time
becomes exactly one dispatch, however often (or however concurrently) the scheduler runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from alerts.bookings import Once, Weekly
from records.bookings import BookingNotFound
from tests.integration.dispatch_rig import Clock, Rig

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_0730 = datetime(2026, 11, 23, 7, 30, tzinfo=SHANGHAI).astimezone(UTC)
WEEKLY_CLEANING = Weekly(
    at=time(9, 0), starts_on=date(2026, 11, 23), weekdays=frozenset({"mon", "thu"})
)


@pytest.fixture
async def rig(records_engine: Engine) -> AsyncIterator[Rig]:
    made = Rig(records_engine, clock=Clock(MONDAY_0730))
    await made.service.start()
    await made.add_worker("cleaner", 800, skills=("housekeeping",))
    yield made
    await made.close()


def local(dispatch_time: datetime | None) -> datetime:
    assert dispatch_time is not None
    return dispatch_time.astimezone(SHANGHAI)


async def test_a_weekly_cleaning_makes_one_dispatch_per_occurrence(rig: Rig) -> None:
    record = await rig.service.book("h1", "housekeeping", WEEKLY_CLEANING, created_by="family:mei")
    booking_id = record.booking.booking_id
    assert record.booking.timezone == "Asia/Shanghai"
    [monday] = rig.dispatches.recent(booking_id=booking_id)  # 09:00 is within the 2 h lead
    assert local(monday.scheduled_for) == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    assert (monday.origin, monday.status, monday.worker_id) == ("booking", "offered", "cleaner")

    assert await rig.service.schedule_bookings() == []  # run again: nothing new
    rig.clock.now = datetime(2026, 11, 26, 6, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert await rig.service.schedule_bookings() == []  # Thursday 09:00 is 3 h away
    rig.clock.now = datetime(2026, 11, 26, 7, 5, tzinfo=SHANGHAI).astimezone(UTC)
    [thursday] = await rig.service.schedule_bookings()
    assert await rig.service.schedule_bookings() == []
    assert local(thursday.scheduled_for) == datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)

    made = rig.dispatches.recent(booking_id=booking_id)
    assert len(made) == 2
    assert len({d.scheduled_for for d in made}) == 2


async def test_two_schedulers_racing_still_make_one_dispatch_per_occurrence(rig: Rig) -> None:
    record = await rig.service.book(
        "h1", "housekeeping", Once(on=date(2026, 11, 30), at=time(9, 0)), created_by="family:mei"
    )
    assert rig.dispatches.recent(booking_id=record.booking.booking_id) == []
    rig.clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI).astimezone(UTC)
    other = rig.dispatch_service()
    await other.start()
    results = await asyncio.gather(
        *(service.schedule_bookings() for service in (rig.service, other, rig.service, other))
    )
    assert sum(len(made) for made in results) == 1
    assert len(rig.dispatches.recent(booking_id=record.booking.booking_id)) == 1


async def test_cancelling_a_booking_calls_off_its_visits_and_stops_new_ones(rig: Rig) -> None:
    record = await rig.service.book("h1", "housekeeping", WEEKLY_CLEANING, created_by="family:mei")
    booking_id = record.booking.booking_id
    cancelled = await rig.service.cancel_booking(booking_id, actor="family:mei")
    assert not cancelled.active
    [monday] = rig.dispatches.recent(booking_id=booking_id)
    assert monday.status == "cancelled"
    rig.clock.advance(timedelta(days=3).total_seconds())
    assert await rig.service.schedule_bookings() == []
    with pytest.raises(BookingNotFound):
        await rig.service.cancel_booking("nope", actor="family:mei")


async def test_a_scheduler_that_was_down_does_not_dispatch_the_past(rig: Rig) -> None:
    record = await rig.service.book("h1", "housekeeping", WEEKLY_CLEANING, created_by="family:mei")
    rig.clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI).astimezone(UTC)
    made = await rig.service.schedule_bookings()  # Thursday passed unseen
    assert [local(d.scheduled_for).date() for d in made] == [date(2026, 11, 30)]
    assert len(rig.dispatches.recent(booking_id=record.booking.booking_id)) == 2
