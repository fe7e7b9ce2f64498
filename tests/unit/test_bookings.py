"""Booked services: schedules expanded into instants, right across clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from alerts.bookings import Booking, due_occurrences, local_instant

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def booking(schedule: dict[str, Any], zone: str = "Asia/Shanghai") -> Booking:
    return Booking.model_validate(
        {
            "booking_id": "b1",
            "home_id": "h1",
            "service": "meal",
            "schedule": schedule,
            "timezone": zone,
        }
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


class TestSchedules:
    def test_once_happens_once(self) -> None:
        b = booking({"kind": "once", "on": "2026-11-25", "at": "10:00"})
        found = due_occurrences(b, utc(2026, 11, 20), utc(2026, 12, 20))
        assert found == [local(SHANGHAI, 2026, 11, 25, 10, 0)]

    def test_daily_meals_in_the_home_zone(self) -> None:
        b = booking({"kind": "daily", "at": "11:30", "starts_on": "2026-11-23"})
        found = due_occurrences(b, utc(2026, 11, 22), utc(2026, 11, 26))
        assert found == [local(SHANGHAI, 2026, 11, d, 11, 30) for d in (23, 24, 25)]
        assert found[0] == utc(2026, 11, 23, 3, 30)

    def test_weekly_cleaning_on_chosen_days(self) -> None:
        b = booking(
            {"kind": "weekly", "weekdays": ["mon", "thu"], "at": "09:00", "starts_on": "2026-11-01"}
        )
        found = due_occurrences(b, utc(2026, 11, 22), utc(2026, 12, 4))
        assert [d.date() for d in found] == [
            date(2026, 11, 23),
            date(2026, 11, 26),
            date(2026, 11, 30),
            date(2026, 12, 3),
        ]
        assert all(d.strftime("%a") in {"Mon", "Thu"} for d in found)

    def test_every_n_days_counts_from_the_start(self) -> None:
        b = booking(
            {"kind": "every_n_days", "every_days": 3, "at": "15:00", "starts_on": "2026-11-20"}
        )
        found = due_occurrences(b, utc(2026, 11, 1), utc(2026, 12, 1))
        assert [d.day for d in found] == [20, 23, 26, 29]

    def test_the_last_day_is_inclusive(self) -> None:
        b = booking(
            {"kind": "daily", "at": "08:00", "starts_on": "2026-11-23", "ends_on": "2026-11-24"}
        )
        found = due_occurrences(b, utc(2026, 11, 1), utc(2026, 12, 1))
        assert [d.day for d in found] == [23, 24]

    def test_the_window_is_half_open(self) -> None:
        b = booking({"kind": "daily", "at": "08:00", "starts_on": "2026-11-01"})
        at_eight = local(SHANGHAI, 2026, 11, 23, 8, 0)
        assert due_occurrences(b, at_eight, at_eight + timedelta(days=1)) == [at_eight]
        assert (
            due_occurrences(b, at_eight + timedelta(seconds=1), at_eight + timedelta(days=1)) == []
        )

    def test_the_window_may_be_given_in_any_zone(self) -> None:
        b = booking({"kind": "daily", "at": "08:00", "starts_on": "2026-11-01"})
        new_york = timezone(timedelta(hours=-5))
        found = due_occurrences(
            b,
            datetime(2026, 11, 22, 18, 0, tzinfo=new_york),
            datetime(2026, 11, 22, 20, 0, tzinfo=new_york),
        )
        assert found == [local(SHANGHAI, 2026, 11, 23, 8, 0)]

    def test_an_empty_window_has_nothing(self) -> None:
        b = booking({"kind": "daily", "at": "08:00", "starts_on": "2026-11-01"})
        assert due_occurrences(b, utc(2026, 11, 23), utc(2026, 11, 23)) == []


class TestClockChanges:
    def test_london_daily_visit_keeps_its_wall_time_across_spring_forward(self) -> None:
        b = booking({"kind": "daily", "at": "09:00", "starts_on": "2026-03-01"}, "Europe/London")
        found = due_occurrences(b, utc(2026, 3, 28), utc(2026, 3, 31))
        assert [d.hour for d in found] == [9, 9, 9]
        assert [d.astimezone(UTC).hour for d in found] == [9, 8, 8]

    def test_london_daily_visit_keeps_its_wall_time_across_fall_back(self) -> None:
        b = booking({"kind": "daily", "at": "09:00", "starts_on": "2026-10-01"}, "Europe/London")
        found = due_occurrences(b, utc(2026, 10, 24), utc(2026, 10, 27))
        assert [d.astimezone(UTC).hour for d in found] == [8, 9, 9]

    def test_a_skipped_time_happens_the_same_distance_past_the_change(self) -> None:
        # 2026-03-29 01:00 GMT -> 02:00 BST: 01:30 does not exist that day.
        b = booking({"kind": "daily", "at": "01:30", "starts_on": "2026-03-28"}, "Europe/London")
        found = due_occurrences(b, utc(2026, 3, 28), utc(2026, 3, 31))
        assert [d.astimezone(UTC) for d in found] == [
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 29, 1, 30),  # = 02:30 BST
            utc(2026, 3, 30, 0, 30),
        ]
        assert found[1].hour == 2
        assert found[1].minute == 30

    def test_a_repeated_time_happens_once_the_first_time(self) -> None:
        # 2026-10-25 02:00 BST -> 01:00 GMT: 01:30 happens twice that night.
        b = booking({"kind": "daily", "at": "01:30", "starts_on": "2026-10-24"}, "Europe/London")
        found = due_occurrences(b, utc(2026, 10, 24), utc(2026, 10, 27))
        assert [d.astimezone(UTC) for d in found] == [
            utc(2026, 10, 24, 0, 30),
            utc(2026, 10, 25, 0, 30),  # 01:30 BST, not 01:30 GMT an hour later
            utc(2026, 10, 26, 1, 30),
        ]

    def test_shanghai_does_not_move_when_london_does(self) -> None:
        b = booking({"kind": "daily", "at": "09:00", "starts_on": "2026-03-01"})
        found = due_occurrences(b, utc(2026, 3, 27), utc(2026, 3, 31))
        assert {d.astimezone(UTC).hour for d in found} == {1}
        assert {d.utcoffset() for d in found} == {timedelta(hours=8)}

    def test_shanghai_across_its_1991_summer_time(self) -> None:
        # China kept summer time until 1991: 1991-04-14 02:00 CST -> 03:00 CDT.
        b = booking({"kind": "daily", "at": "02:30", "starts_on": "1991-04-13"})
        found = due_occurrences(b, utc(1991, 4, 12), utc(1991, 4, 15))
        assert [d.utcoffset() for d in found] == [timedelta(hours=h) for h in (8, 9, 9)]
        assert [d.astimezone(UTC) for d in found] == [
            utc(1991, 4, 12, 18, 30),
            utc(1991, 4, 13, 18, 30),  # 02:30 was skipped: 03:30 CDT
            utc(1991, 4, 14, 17, 30),
        ]

    def test_local_instant_of_an_ordinary_time(self) -> None:
        assert local_instant(date(2026, 7, 1), time(9, 0), LONDON) == utc(2026, 7, 1, 8, 0)


class TestValidation:
    @pytest.mark.parametrize(
        "schedule",
        [
            {"kind": "hourly", "at": "09:00"},
            {"kind": "weekly", "weekdays": [], "at": "09:00", "starts_on": "2026-11-01"},
            {"kind": "weekly", "weekdays": ["funday"], "at": "09:00", "starts_on": "2026-11-01"},
            {"kind": "every_n_days", "every_days": 0, "at": "09:00", "starts_on": "2026-11-01"},
            {"kind": "daily", "at": "25:00", "starts_on": "2026-11-01"},
            {"kind": "daily", "at": "09:00+08:00", "starts_on": "2026-11-01"},
            {"kind": "daily", "at": "09:00", "starts_on": "2026-11-02", "ends_on": "2026-11-01"},
            {"kind": "daily", "at": "09:00"},
        ],
    )
    def test_a_bad_schedule_is_refused(self, schedule: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            booking(schedule)

    def test_an_unknown_zone_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="IANA"):
            booking({"kind": "daily", "at": "09:00", "starts_on": "2026-11-01"}, "Mars/Olympus")

    def test_a_naive_window_is_refused(self) -> None:
        b = booking({"kind": "daily", "at": "09:00", "starts_on": "2026-11-01"})
        with pytest.raises(ValueError, match="aware"):
            due_occurrences(b, datetime(2026, 11, 1), utc(2026, 11, 2))

    def test_a_window_longer_than_400_days_is_refused(self) -> None:
        b = booking({"kind": "daily", "at": "09:00", "starts_on": "2026-11-01"})
        with pytest.raises(ValueError, match="400 days"):
            due_occurrences(b, utc(2026, 1, 1), utc(2027, 3, 1))

    def test_a_backwards_window_is_refused(self) -> None:
        b = booking({"kind": "daily", "at": "09:00", "starts_on": "2026-11-01"})
        with pytest.raises(ValueError, match="before"):
            due_occurrences(b, utc(2026, 11, 2), utc(2026, 11, 1))
