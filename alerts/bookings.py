"""Services a family books: once, daily, weekly on chosen days, or every N days.

Times are the home's wall-clock times in its IANA zone, because "meals at 11:30"
means 11:30 on the kitchen clock in winter and in summer. Around a clock change
(RFC 5545's rule, which calendar apps follow):

- a time that does not exist that day (the hour skipped in spring) happens at the
  same distance past the change: 01:30 on the London spring-forward day is 02:30 BST;
- a time that happens twice (the hour repeated in autumn) happens once, the first time.

Pure: `due_occurrences` turns a booking and a window into instants; the shell makes
a dispatch for each one a lead time ahead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from devices.envelope import IanaZone, Name
from processors.detection import Service

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MAX_WINDOW: Final = timedelta(days=400)
"""The longest window one call expands: bounds the work a request can ask for."""


def _wall_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a booking time is a wall-clock time in the home's zone, without offset")
    return value


LocalTime = Annotated[
    time, AfterValidator(_wall_time), Field(description="home-local wall-clock time")
]


class _Repeating(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: LocalTime
    starts_on: date = Field(description="first day (home-local) it may happen")
    ends_on: date | None = Field(default=None, description="last day, inclusive; None: open")

    @model_validator(mode="after")
    def _ordered(self) -> _Repeating:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self

    def _in_range(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class Once(BaseModel):
    """One visit on a given day at a given time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["once"] = "once"
    on: date
    at: LocalTime

    def happens_on(self, day: date) -> bool:
        return day == self.on


class Daily(_Repeating):
    """Every day at a time (meal delivery)."""

    kind: Literal["daily"] = "daily"

    def happens_on(self, day: date) -> bool:
        return self._in_range(day)


class Weekly(_Repeating):
    """On chosen weekdays at a time (cleaning every Monday and Thursday)."""

    kind: Literal["weekly"] = "weekly"
    weekdays: frozenset[Weekday] = Field(min_length=1)

    def happens_on(self, day: date) -> bool:
        return self._in_range(day) and WEEKDAYS[day.weekday()] in self.weekdays


class EveryNDays(_Repeating):
    """Every `every_days` days from `starts_on` (a wellbeing visit every 3 days)."""

    kind: Literal["every_n_days"] = "every_n_days"
    every_days: int = Field(ge=1, le=366)

    def happens_on(self, day: date) -> bool:
        return self._in_range(day) and (day - self.starts_on).days % self.every_days == 0


Schedule = Annotated[Once | Daily | Weekly | EveryNDays, Field(discriminator="kind")]


class Booking(BaseModel):
    """A family's booking of a service at their home."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    booking_id: Name
    home_id: Name
    service: Service
    schedule: Schedule
    timezone: IanaZone = Field(description="the home's IANA zone")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant a home-local wall time means on a day (RFC 5545 for gaps and repeats)."""
    # fold=0: in a repeated hour, the first; in a skipped hour, the offset before the
    # change, which lands the same distance past it once normalised through UTC.
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone)


def due_occurrences(booking: Booking, since: datetime, until: datetime) -> list[datetime]:
    """Every instant the booking is due in `[since, until)`, in the home's zone, in order."""
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if until < since:
        raise ValueError("until is before since")
    if until - since > MAX_WINDOW:
        raise ValueError(f"a window is at most {MAX_WINDOW.days} days")
    zone = booking.zone
    schedule = booking.schedule
    # A day's instant may fall a few hours either side of its local date's span in
    # UTC terms; one day of slack each side catches every candidate.
    day = since.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    found: list[datetime] = []
    while day <= last:
        if schedule.happens_on(day):
            instant = local_instant(day, schedule.at, zone)
            if since <= instant < until:
                found.append(instant)
        day += timedelta(days=1)
    return found
