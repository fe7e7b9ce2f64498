"""Who could take a job, for a dispatcher choosing by hand (the console's "pick a worker").

The same matching as the offer round (`alerts.matching.match` over the in-memory
roster, with the home's continuity), so the list a dispatcher sees is in the order
the round would offer; nothing is excluded for having declined before, since a
worker free now may take what they could not an hour ago.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.matching import Candidate, Job, match
from alerts.rounds import OfferRounds
from processors.detection import Service, Severity
from records.alerts import AlertNotFound, AlertStore


def home_day(when: datetime, timezone: str) -> date:
    """The home-local date of `when` (UTC's for a zone the database does not know)."""
    try:
        return when.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return when.astimezone(UTC).date()


class Candidates:
    def __init__(self, rounds: OfferRounds, *, alerts: AlertStore | None) -> None:
        self.rounds = rounds
        self.alerts = alerts

    async def for_service(
        self,
        home_id: str,
        service: Service,
        *,
        severity: Severity = "medium",
        when: datetime | None = None,
        limit: int = 20,
    ) -> list[Candidate]:
        """The eligible workers for `service` at the home on `when`'s day, best first
        (`HomeNotFound` for no such home)."""
        home = await self.rounds.home(home_id)
        job = Job(
            home_id=home_id,
            lat=home.lat,
            lon=home.lon,
            service=service,
            service_date=home_day(when or self.rounds.clock(), home.timezone),
            severity=severity,
        )
        history = await asyncio.to_thread(self.rounds.dispatches.served_home, home_id)
        roster = self.rounds.roster
        return match(
            job, roster.index, roster.workers, self.rounds.rules, history=history, limit=limit
        )

    async def for_alert(self, alert_id: str, *, limit: int = 20) -> list[Candidate]:
        """Who could take the alert's service now (`AlertNotFound` for no such alert)."""
        alert = None if self.alerts is None else await asyncio.to_thread(self.alerts.get, alert_id)
        if alert is None:
            raise AlertNotFound(alert_id)
        return await self.for_service(
            alert.home_id, alert.service, severity=alert.severity, limit=limit
        )

    async def for_dispatch(self, dispatch_id: str, *, limit: int = 20) -> list[Candidate]:
        """Who could take the dispatch on its service day (`DispatchNotFound`)."""
        dispatch = await self.rounds.get(dispatch_id)
        return await self.for_service(
            dispatch.home_id,
            dispatch.service,
            severity=dispatch.severity,
            when=dispatch.scheduled_for,
            limit=limit,
        )
