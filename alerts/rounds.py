"""How the dispatch service moves a dispatch: one stored transition, then the news told.

`OfferRounds.apply` runs one pure transition in a locked transaction (off the event
loop) and announces the steps it added: an offer to the worker's app, the queue to
tier-1 dispatchers, a cancellation to the worker who had the job. `round` adds the
offer round: match over the in-memory roster (excluding workers already asked), then
`alerts.offers.advance` on the locked dispatch. Loads in the roster follow every job
taken or let go, from the records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from alerts.dispatches import Dispatch
from alerts.matching import Job, MatchRules
from alerts.notices import About, cancelled_notice, offer_notice, queued_notices
from alerts.notifiers.base import Notification
from alerts.notifiers.fanout import Notifier
from alerts.offers import OfferTimeouts, advance, due
from alerts.roster import Roster
from devices.registry import Home
from records.accounts import AccountStore
from records.alerts import AlertStore
from records.dispatches import DispatchNotFound, DispatchStore, StoredDispatch
from records.homes import HomeStore
from records.workers import WorkerStore

log = structlog.get_logger("anxin.dispatch")

Change = Callable[[Dispatch, datetime], Dispatch]
"""A pure transition, given the time it happens at."""


class HomeNotFound(LookupError):
    """No home with that id (the API answers 404)."""


class OfferRounds:
    def __init__(
        self,
        dispatches: DispatchStore,
        workers: WorkerStore,
        homes: HomeStore,
        accounts: AccountStore,
        *,
        notifier: Notifier,
        alerts: AlertStore | None,
        rules: MatchRules,
        timeouts: OfferTimeouts,
        clock: Callable[[], datetime],
    ) -> None:
        self.dispatches = dispatches
        self.workers = workers
        self.homes = homes
        self.accounts = accounts
        self.notifier = notifier
        self.alerts = alerts
        self.rules = rules
        self.timeouts = timeouts
        self.clock = clock
        self.roster = Roster()

    async def get(self, dispatch_id: str) -> Dispatch:
        dispatch = await asyncio.to_thread(self.dispatches.get, dispatch_id)
        if dispatch is None:
            raise DispatchNotFound(dispatch_id)
        return dispatch

    async def apply(
        self, dispatch_id: str, change: Change, *, actor: str, now: datetime | None = None
    ) -> StoredDispatch:
        """One transition, stored and announced; the core's errors pass through."""
        at = now or self.clock()
        stored = await asyncio.to_thread(
            self.dispatches.transition, dispatch_id, lambda d: change(d, at), actor=actor
        )
        await self.announce(stored, at)
        return stored

    async def round(
        self, dispatch_id: str, *, actor: str, first: Change | None = None
    ) -> StoredDispatch:
        """Apply `first` (a decline, say), then the offer round, in one transaction.

        The ranking is computed before the lock from the dispatch as it stood; a worker
        offered meanwhile is skipped by `advance` itself.
        """
        now = self.clock()
        current = await self.get(dispatch_id)
        ranked: list[str] = []
        if first is not None or due(current, now):
            job = await self.job(current, now)
            history = await asyncio.to_thread(self.dispatches.served_home, current.home_id)
            ranked = self.roster.ranked(job, self.rules, exclude=current.tried, history=history)

        def change(dispatch: Dispatch, at: datetime) -> Dispatch:
            if first is not None:
                dispatch = first(dispatch, at)
            return advance(dispatch, ranked, now=at, timeouts=self.timeouts)[0]

        return await self.apply(dispatch_id, change, actor=actor, now=now)

    async def job(self, dispatch: Dispatch, now: datetime) -> Job:
        """What matching judges: the service date is the home-local day of the work."""
        home = await self.home(dispatch.home_id)
        when = dispatch.scheduled_for or now
        return Job(
            home_id=dispatch.home_id,
            lat=dispatch.lat,
            lon=dispatch.lon,
            service=dispatch.service,
            service_date=when.astimezone(_zone(home.timezone)).date(),
            severity=dispatch.severity,
        )

    async def home(self, home_id: str) -> Home:
        profile = await asyncio.to_thread(self.homes.profile, home_id)
        if profile is None:
            raise HomeNotFound(home_id)
        return profile.home

    async def refresh(self, worker_id: str) -> None:
        """The roster's copy of one worker, from the records (their load changed)."""
        worker = await asyncio.to_thread(self.workers.get, worker_id)
        if worker is None:
            self.roster.forget(worker_id)
        else:
            self.roster.remember(worker)

    async def announce(self, stored: StoredDispatch, at: datetime) -> None:
        """Tell whom the new steps concern; keep the roster's loads true."""
        if not stored.steps:
            return
        dispatch = stored.dispatch
        about = await self._about(dispatch)
        notices: list[Notification] = []
        touched: set[str] = set()
        for step, event_id in zip(stored.steps, stored.event_ids, strict=True):
            bound = log.bind(dispatch_id=dispatch.dispatch_id, worker_id=step.worker_id)
            if step.status == "offered" and step.worker_id is not None:
                made = next(o for o in reversed(dispatch.offers) if o.worker_id == step.worker_id)
                notices.append(offer_notice(dispatch, made, about, at=at))
                bound.info("dispatch_offered", deadline=made.deadline.isoformat())
            elif step.status == "queued":
                tier1 = await asyncio.to_thread(self.accounts.dispatchers, 1)
                names = [account.username for account in tier1]
                notices += queued_notices(dispatch, names, about, event_id=event_id, at=at)
                bound.warning("dispatch_queued", offers=len(dispatch.offers))
            elif step.status == "cancelled" and step.worker_id is not None:
                notices.append(
                    cancelled_notice(dispatch, step.worker_id, about, event_id=event_id, at=at)
                )
                bound.info("dispatch_cancelled")
            else:
                bound.info(f"dispatch_{step.status}")
            if step.status in ("accepted", "completed", "cancelled") and step.worker_id:
                touched.add(step.worker_id)
        if notices:
            self.notifier.submit(notices)
        for worker_id in touched:
            await self.refresh(worker_id)

    async def _about(self, dispatch: Dispatch) -> About:
        if dispatch.alert_id is None or self.alerts is None:
            return About(summary=f"booked {dispatch.service}" if dispatch.booking_id else "")
        alert = await asyncio.to_thread(self.alerts.get, dispatch.alert_id)
        return About() if alert is None else About(kind=alert.kind, summary=alert.summary)


def _zone(name: str) -> tzinfo:
    """The home's zone; UTC for a name the zone database does not know (never a crash)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
