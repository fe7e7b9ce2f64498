"""Family bookings turned into dispatches a lead time ahead, each offered at once.

A booking is stored in the home's time zone (`alerts.bookings`); the scheduler makes
a dispatch for every occurrence within `lead` (2 h by default) of now, and the offer
round starts straight away, so the worker hears of a 09:00 cleaning at 07:00 and
the family's visit is in someone's hands well before it is due. Exactly-once per
occurrence is the records' job (`records.bookings.BookingStore.schedule`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import structlog

from alerts import dispatches as core
from alerts.bookings import Booking, Daily, EveryNDays, Once, Weekly
from alerts.dispatches import FINAL, Dispatch, DispatchStatus
from alerts.rounds import OfferRounds
from devices.registry import Home
from processors.detection import Service, Severity
from records.bookings import BookingRecord, BookingStore
from records.dispatches import DispatchStore

log = structlog.get_logger("anxin.dispatch")

BOOKING_SEVERITY: Final[Severity] = "medium"
"""A booked visit is routine work: the 5-minute offer timeout, outside the alarm SLA."""

UNDER_WAY: Final[frozenset[DispatchStatus]] = FINAL | {"en_route", "on_site"}
"""Left alone when a booking is cancelled: done, or a worker is already on the way."""


class BookingScheduler:
    def __init__(
        self,
        bookings: BookingStore,
        dispatches: DispatchStore,
        rounds: OfferRounds,
        *,
        lead: timedelta,
        new_id: Callable[[], str],
    ) -> None:
        self.bookings = bookings
        self.dispatches = dispatches
        self.rounds = rounds
        self.lead = lead
        self.new_id = new_id

    async def book(
        self,
        home_id: str,
        service: Service,
        schedule: Once | Daily | Weekly | EveryNDays,
        *,
        created_by: str,
        booking_id: str | None = None,
    ) -> BookingRecord:
        """Store a booking in the home's zone; what is due within the lead is made now."""
        home = await self.rounds.home(home_id)
        booking = Booking(
            booking_id=booking_id or self.new_id(),
            home_id=home_id,
            service=service,
            schedule=schedule,
            timezone=home.timezone,
        )
        now = self.rounds.clock()
        record = await asyncio.to_thread(self.bookings.add, booking, created_by=created_by, now=now)
        await self.schedule(booking.booking_id, now)
        return record

    async def cancel(self, booking_id: str, *, actor: str) -> BookingRecord:
        """No more visits; those made and not yet under way are called off."""
        record = await asyncio.to_thread(self.bookings.deactivate, booking_id)
        for dispatch in await asyncio.to_thread(self.dispatches.recent, booking_id=booking_id):
            if dispatch.status not in UNDER_WAY:
                with contextlib.suppress(core.IllegalDispatchTransition):
                    await self.rounds.apply(
                        dispatch.dispatch_id,
                        lambda d, at: core.cancel(d, "booking cancelled", now=at),
                        actor=actor,
                    )
        return record

    async def schedule_all(self) -> list[Dispatch]:
        """Every active booking's occurrences within the lead time, made and offered."""
        now = self.rounds.clock()
        made: list[Dispatch] = []
        for booking_id in await asyncio.to_thread(self.bookings.active_ids):
            try:
                made += await self.schedule(booking_id, now)
            except Exception:
                log.exception("booking_schedule_failed", booking_id=booking_id)
        return made

    async def schedule(self, booking_id: str, now: datetime) -> list[Dispatch]:
        """One booking's occurrences within the lead time, made and offered."""

        def make(booking: Booking, at: datetime, home: Home) -> Dispatch:
            return core.new_dispatch(
                dispatch_id=self.new_id(),
                home_id=booking.home_id,
                lat=home.lat,
                lon=home.lon,
                address=home.address,
                service=booking.service,
                severity=BOOKING_SEVERITY,
                origin="booking",
                now=now,
                booking_id=booking.booking_id,
                scheduled_for=at,
            )

        stored = await asyncio.to_thread(
            self.bookings.schedule, booking_id, now=now, until=now + self.lead, make=make
        )
        made = []
        for new in stored:
            log.info(
                "dispatch_created", dispatch_id=new.dispatch.dispatch_id, booking_id=booking_id
            )
            offered = await self.rounds.round(new.dispatch.dispatch_id, actor="system:booking")
            made.append(offered.dispatch)
        return made
