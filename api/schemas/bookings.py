"""Family bookings at the HTTP edge: a service and a schedule in the home's wall-clock time.

The schedule is a union on `kind` (`once`, `daily`, `weekly`, `every_n_days`), as
`alerts.bookings` has it, except that a repeating one may leave out `starts_on`
(today, at the home). Days are bounded to years 2000–2200, so no date a client sends
can overflow a calendar computation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.bookings import WEEKDAYS, Daily, EveryNDays, LocalTime, Once, Weekday, Weekly
from api.schemas.common import Input
from processors.detection import Service
from records.bookings import BookingRecord

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2200, 12, 31))]


class OnceIn(Input):
    kind: Literal["once"]
    on: Day = Field(description="home-local day")
    at: LocalTime

    def schedule(self, today: date) -> Once:
        if self.on < today:
            raise ValueError("on is in the past")
        return Once(on=self.on, at=self.at)


class _RepeatingIn(Input):
    at: LocalTime
    starts_on: Day | None = Field(default=None, description="first day; default today")
    ends_on: Day | None = Field(default=None, description="last day, inclusive; none: open")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        starts_on, ends_on = self.starts_on, self.ends_on
        if starts_on is not None and ends_on is not None and ends_on < starts_on:
            raise ValueError("ends_on is before starts_on")
        return self

    def _span(self, today: date) -> dict[str, object]:
        starts_on = self.starts_on or today
        if self.ends_on is not None and self.ends_on < starts_on:
            raise ValueError("ends_on is in the past")
        return {"at": self.at, "starts_on": starts_on, "ends_on": self.ends_on}


class DailyIn(_RepeatingIn):
    kind: Literal["daily"]

    def schedule(self, today: date) -> Daily:
        return Daily.model_validate(self._span(today))


class WeeklyIn(_RepeatingIn):
    kind: Literal["weekly"]
    weekdays: frozenset[Weekday] = Field(min_length=1, max_length=len(WEEKDAYS))

    def schedule(self, today: date) -> Weekly:
        return Weekly.model_validate({**self._span(today), "weekdays": self.weekdays})


class EveryNDaysIn(_RepeatingIn):
    kind: Literal["every_n_days"]
    every_days: int = Field(strict=True, ge=1, le=366)

    def schedule(self, today: date) -> EveryNDays:
        return EveryNDays.model_validate({**self._span(today), "every_days": self.every_days})


ScheduleIn = Annotated[OnceIn | DailyIn | WeeklyIn | EveryNDaysIn, Field(discriminator="kind")]


class BookingCreate(Input):
    service: Service
    schedule: ScheduleIn


class BookingPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    booking_id: str
    home_id: str
    service: Service
    schedule: Once | Daily | Weekly | EveryNDays = Field(discriminator="kind")
    timezone: str = Field(description="the home's IANA zone the schedule's times are in")
    active: bool
    created_by: str
    created_at: datetime
    scheduled_until: datetime | None = Field(description="every visit before it is dispatched")

    @classmethod
    def of(cls, record: BookingRecord) -> BookingPublic:
        booking = record.booking
        return cls(
            booking_id=booking.booking_id,
            home_id=booking.home_id,
            service=booking.service,
            schedule=booking.schedule,
            timezone=booking.timezone,
            active=record.active,
            created_by=record.created_by,
            created_at=record.created_at,
            scheduled_until=record.scheduled_until,
        )
