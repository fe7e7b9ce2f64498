"""The dispatch service: jobs created, offered one worker at a time, taken, done, rated.

The shell around the pure core (`alerts.dispatches`, `alerts.offers`,
`alerts.matching`), and the one object the API and `anxin` wire. Every change is one
locked transaction, then announced (`alerts.rounds`). Jobs come from alerts
(`alerts.alert_jobs`, which also moves the alert along with its job), dispatchers
(`create`, `offer_to`, `cancel`) and family bookings (`alerts.scheduling`).

Matching reads the in-memory roster (snapshot + H3 index, loaded by `start`, kept
current by every change made here); the timer (`run_timer`) expires unanswered offers
and asks the next worker, schedules bookings, and reloads the roster now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

import structlog

from alerts import dispatches as core
from alerts.alert_jobs import AlertJobs
from alerts.bookings import Daily, EveryNDays, Once, Weekly
from alerts.candidates import Candidates
from alerts.dispatches import (
    DeclineReason,
    Dispatch,
    DispatchError,
    DispatchStatus,
    WrongWorker,
)
from alerts.matching import DEFAULT_RULES, IneligibleReason, MatchRules, eligible
from alerts.notifiers.fanout import Notifier
from alerts.offers import DEFAULT_TIMEOUTS, OfferTimeouts
from alerts.roster import Roster
from alerts.rounds import Change, OfferRounds
from alerts.scheduling import BookingScheduler
from alerts.service import AlertService
from alerts.workers import Worker
from processors.detection import Service, Severity
from records.accounts import AccountStore
from records.alerts import AlertNotFound, StoredChange
from records.bookings import BookingRecord, BookingStore
from records.dispatches import DispatchStore
from records.homes import HomeStore
from records.workers import NewWorker, WorkerNotFound, WorkerPublic, WorkerStore

log = structlog.get_logger("anxin.dispatch")

SAFETY_FILTERS: Final[frozenset[IneligibleReason]] = frozenset(
    {"skill", "credential_expired", "off_shift"}
)
"""What even a dispatcher's choice must pass; distance and load are theirs to overrule."""

ROUND: Final = "system:dispatch"


class NotEligible(DispatchError):
    """A dispatcher chose a worker who may not take this job (the API answers 409)."""

    def __init__(self, dispatch_id: str, worker_id: str, reasons: list[IneligibleReason]) -> None:
        super().__init__(
            f"worker {worker_id} may not take dispatch {dispatch_id}: {', '.join(reasons)}"
        )
        self.dispatch_id = dispatch_id
        self.worker_id = worker_id
        self.reasons = reasons


def _utc_now() -> datetime:
    return datetime.now(UTC)


def new_dispatch_id() -> str:
    return uuid.uuid4().hex


class DispatchService:
    def __init__(
        self,
        dispatches: DispatchStore,
        bookings: BookingStore,
        workers: WorkerStore,
        homes: HomeStore,
        accounts: AccountStore,
        *,
        notifier: Notifier,
        alerts: AlertService | None = None,
        rules: MatchRules = DEFAULT_RULES,
        timeouts: OfferTimeouts = DEFAULT_TIMEOUTS,
        booking_lead: timedelta = timedelta(hours=2),
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = new_dispatch_id,
    ) -> None:
        self.dispatches = dispatches
        self.bookings = bookings
        self.workers = workers
        self.alerts = alerts
        self.rules = rules
        self.timeouts = timeouts
        self.clock = clock
        self.new_id = new_id
        self.rounds = OfferRounds(
            dispatches,
            workers,
            homes,
            accounts,
            notifier=notifier,
            alerts=None if alerts is None else alerts.store,
            rules=rules,
            timeouts=timeouts,
            clock=clock,
        )
        self.scheduler = BookingScheduler(
            bookings, dispatches, self.rounds, lead=booking_lead, new_id=new_id
        )
        self.alert_jobs = AlertJobs(dispatches, self.rounds, alerts, clock=clock, new_id=new_id)
        self.candidates = Candidates(self.rounds, alerts=None if alerts is None else alerts.store)
        """Who could take a job, for a dispatcher choosing by hand."""

    @property
    def roster(self) -> Roster:
        return self.rounds.roster

    # --- start and the workforce ----------------------------------------------------------

    async def start(self) -> None:
        """Load the roster, listen to the alert service, and give every open alert left
        without a dispatch (the process stopped in between) the one it should have."""
        await self.reload()
        if self.alerts is not None and self.on_alert_change not in self.alerts.listeners:
            self.alerts.listeners.append(self.on_alert_change)
        swept = await self.alert_jobs.sweep()
        if swept:
            log.warning("dispatches_created_for_orphaned_alerts", alerts=swept)

    async def reload(self) -> int:
        """Rebuild the roster from the records (also catches other processes' changes)."""
        workers = await asyncio.to_thread(self.workers.all)
        self.roster.replace(workers)
        return len(workers)

    async def add_worker(self, new: NewWorker) -> Worker:
        """Add a care worker (and their login); `WorkerError` if an id, code or name is taken."""
        worker = await asyncio.to_thread(self.workers.add, new, now=self.clock())
        self.roster.remember(worker)
        return worker

    async def move_worker(self, worker_id: str, lat: float, lon: float) -> Worker:
        worker = await asyncio.to_thread(self.workers.move, worker_id, lat, lon)
        self.roster.remember(worker)
        return worker

    async def set_shift(self, worker_id: str, on_shift: bool) -> Worker:
        worker = await asyncio.to_thread(self.workers.set_shift, worker_id, on_shift)
        self.roster.remember(worker)
        return worker

    async def verify(self, code: str) -> WorkerPublic | None:
        """The worker behind a credential code, valid or not today (UTC date)."""
        return await asyncio.to_thread(self.workers.verify, code, today=self.clock().date())

    # --- alerts -----------------------------------------------------------------------------

    async def on_alert_change(self, stored: StoredChange) -> None:
        """`AlertService` listener: open a job for a new alert, call off a closed one's."""
        await self.alert_jobs.on_alert_change(stored)

    # --- dispatchers ------------------------------------------------------------------------

    async def create(
        self,
        home_id: str,
        service: Service,
        *,
        actor: str,
        alert_id: str | None = None,
        severity: Severity | None = None,
        origin: Literal["dispatcher", "automatic"] = "dispatcher",
        scheduled_for: datetime | None = None,
        worker_id: str | None = None,
    ) -> Dispatch:
        """A dispatch a dispatcher asks for, offered at once: to `worker_id` if given (as
        `offer_to` judges them, before anything is stored), else to the round's best.
        Severity defaults to the alert's (or `medium`). `HomeNotFound`, `AlertNotFound`,
        `WorkerNotFound`, `NotEligible`, `ValueError` pass through."""
        if scheduled_for is not None and scheduled_for.utcoffset() is None:
            raise ValueError("scheduled_for must be timezone-aware")
        home = await self.rounds.home(home_id)
        if alert_id is not None:
            alert = None
            if self.alerts is not None:
                alert = await asyncio.to_thread(self.alerts.store.get, alert_id)
            if alert is None:
                raise AlertNotFound(alert_id)
            if alert.home_id != home_id:
                raise ValueError(f"alert {alert_id} is not about home {home_id}")
            severity = severity or alert.severity
        dispatch = core.new_dispatch(
            dispatch_id=self.new_id(),
            home_id=home_id,
            lat=home.lat,
            lon=home.lon,
            address=home.address,
            service=service,
            severity=severity or "medium",
            origin=origin,
            now=self.clock(),
            alert_id=alert_id,
            scheduled_for=scheduled_for,
        )
        if worker_id is not None:
            # Stored already offered: a pending dispatch would be the timer's round's to take.
            now = dispatch.created_at
            await self._check_choice(dispatch, worker_id, now)
            deadline = now + self.timeouts.for_severity(dispatch.severity)
            dispatch = core.offer(dispatch, worker_id, now=now, deadline=deadline)
        stored = await asyncio.to_thread(self.dispatches.create, dispatch, actor=actor)
        log.info("dispatch_created", dispatch_id=dispatch.dispatch_id, alert_id=alert_id)
        if worker_id is not None and stored is not None:
            await self.rounds.announce(stored, dispatch.created_at)
            return stored.dispatch
        return (await self.rounds.round(dispatch.dispatch_id, actor=ROUND)).dispatch

    async def offer_to(self, dispatch_id: str, worker_id: str, *, actor: str) -> Dispatch:
        """A dispatcher offers the job to a worker they chose (from the queue, say).

        Skill, credential and shift still hold (`NotEligible`); distance and load are
        the dispatcher's call. The usual timeout applies, then the round goes on.
        """
        now = self.clock()
        current = await self.rounds.get(dispatch_id)
        await self._check_choice(current, worker_id, now)
        deadline = now + self.timeouts.for_severity(current.severity)
        return await self._apply(
            dispatch_id,
            lambda d, at: core.offer(d, worker_id, now=at, deadline=deadline),
            actor=actor,
        )

    async def _check_choice(self, dispatch: Dispatch, worker_id: str, now: datetime) -> None:
        """A dispatcher's choice must exist and pass the safety filters."""
        worker = await asyncio.to_thread(self.workers.get, worker_id)
        if worker is None:
            raise WorkerNotFound(worker_id)
        job = await self.rounds.job(dispatch, now)
        failed = [r for r in eligible(worker, job, self.rules) if r in SAFETY_FILTERS]
        if failed:
            raise NotEligible(dispatch.dispatch_id, worker_id, failed)

    async def cancel(self, dispatch_id: str, reason: str, *, actor: str) -> Dispatch:
        """Call a dispatch off; the worker who had it is told."""
        return await self._apply(
            dispatch_id, lambda d, at: core.cancel(d, reason, now=at), actor=actor
        )

    async def send_help(
        self, alert_id: str, *, actor: str, worker_id: str | None = None
    ) -> Dispatch:
        """A dispatcher's "dispatch" on an alert: make sure a dispatch is under way.

        Without a worker: the alert's open dispatch (every alert gets one when it opens),
        or a new one offered by the round. With a worker: offered to them, replacing a
        pending offer to someone else (that dispatch is called off, the worker told);
        a dispatch a worker already holds is not taken away (409).
        """
        if self.alerts is None:
            raise AlertNotFound(alert_id)
        alert = await asyncio.to_thread(self.alerts.store.get, alert_id)
        if alert is None:
            raise AlertNotFound(alert_id)
        current = await asyncio.to_thread(
            self.dispatches.recent,
            alert_id=alert_id,
            statuses=core.OFFERABLE | core.HELD | {"offered"},
            limit=1,
        )
        if current and current[0].status in core.HELD:
            if worker_id is None or worker_id == current[0].worker_id:
                return current[0]
            raise core.IllegalDispatchTransition(
                current[0].dispatch_id, current[0].status, "offer to another worker"
            )
        if worker_id is None:
            if current:
                return current[0]
            return await self.create(alert.home_id, alert.service, actor=actor, alert_id=alert_id)
        if current and current[0].status in core.OFFERABLE:
            return await self.offer_to(current[0].dispatch_id, worker_id, actor=actor)
        chosen = await self.create(
            alert.home_id, alert.service, actor=actor, alert_id=alert_id, worker_id=worker_id
        )
        if current:  # offered to someone else: the dispatcher's choice replaces it
            await self.cancel(
                current[0].dispatch_id, f"replaced by {chosen.dispatch_id}", actor=actor
            )
        return chosen

    # --- bookings ---------------------------------------------------------------------------

    async def book(
        self,
        home_id: str,
        service: Service,
        schedule: Once | Daily | Weekly | EveryNDays,
        *,
        created_by: str,
        booking_id: str | None = None,
    ) -> BookingRecord:
        """A family's booking, in the home's time zone; what is due within the lead time
        is dispatched at once. `HomeNotFound`, `BookingError` pass through."""
        return await self.scheduler.book(
            home_id, service, schedule, created_by=created_by, booking_id=booking_id
        )

    async def cancel_booking(self, booking_id: str, *, actor: str) -> BookingRecord:
        """No more visits; those made and not yet under way are called off."""
        return await self.scheduler.cancel(booking_id, actor=actor)

    async def schedule_bookings(self) -> list[Dispatch]:
        """Dispatch every active booking's occurrences within the lead time (the timer's)."""
        return await self.scheduler.schedule_all()

    # --- workers' actions -------------------------------------------------------------------

    async def accept(
        self, dispatch_id: str, worker_id: str, *, recorded_by: str | None = None
    ) -> Dispatch:
        """The offered worker takes the job; its alert becomes `dispatched`.

        `recorded_by` on a worker's step: the dispatcher who entered it for them.
        """
        dispatch = await self._worker_step(
            dispatch_id, lambda d, at: core.accept(d, worker_id, now=at), recorded_by
        )
        if dispatch.alert_id is not None:
            actor = dispatch.history[-1].worker_actor
            await self.alert_jobs.taken(dispatch.alert_id, dispatch_id, actor)
        return dispatch

    async def decline(
        self,
        dispatch_id: str,
        worker_id: str,
        reason: DeclineReason,
        note: str = "",
        *,
        recorded_by: str | None = None,
    ) -> Dispatch:
        """The offered worker says no, and why; the next worker is asked at once."""
        stored = await self.rounds.round(
            dispatch_id,
            first=lambda d, at: core.recorded_for_worker(
                core.decline(d, worker_id, reason, now=at, note=note), recorded_by
            ),
            actor=ROUND,  # the decline itself is recorded as the worker's
        )
        return stored.dispatch

    async def start_trip(
        self, dispatch_id: str, worker_id: str, *, recorded_by: str | None = None
    ) -> Dispatch:
        """The worker sets off (`en_route`)."""
        return await self._worker_step(
            dispatch_id, lambda d, at: core.start(d, worker_id, now=at), recorded_by
        )

    async def arrive(
        self,
        dispatch_id: str,
        worker_id: str,
        *,
        lat: float,
        lon: float,
        code: str,
        recorded_by: str | None = None,
    ) -> Dispatch:
        """Check-in at the home with the worker's own code (`CheckInRejected` otherwise),
        whoever records it."""
        worker = await asyncio.to_thread(self.workers.get, worker_id)
        if worker is None:
            raise WrongWorker(dispatch_id, worker_id)
        return await self._worker_step(
            dispatch_id,
            lambda d, at: core.arrive(d, worker, lat=lat, lon=lon, code=code, now=at),
            recorded_by,
        )

    async def complete(
        self, dispatch_id: str, worker_id: str, notes: str, *, recorded_by: str | None = None
    ) -> Dispatch:
        """The work is done; the alert is resolved unless another job for it is under way."""
        dispatch = await self._worker_step(
            dispatch_id, lambda d, at: core.complete(d, worker_id, notes, now=at), recorded_by
        )
        if dispatch.alert_id is not None:
            actor = dispatch.history[-1].worker_actor
            await self.alert_jobs.done(dispatch.alert_id, dispatch_id, actor)
        return dispatch

    async def _worker_step(
        self, dispatch_id: str, change: Change, recorded_by: str | None
    ) -> Dispatch:
        return await self._apply(
            dispatch_id,
            lambda d, at: core.recorded_for_worker(change(d, at), recorded_by),
            actor=ROUND,
        )

    async def rate(self, dispatch_id: str, stars: int, *, actor: str) -> Dispatch:
        """The family's stars for a completed job, once; the worker's rating follows."""
        dispatch, worker = await asyncio.to_thread(
            self.dispatches.rate, dispatch_id, stars, now=self.clock(), actor=actor
        )
        self.roster.remember(worker)
        return dispatch

    # --- reading ----------------------------------------------------------------------------

    async def get(self, dispatch_id: str) -> Dispatch:
        """A dispatch (`DispatchNotFound` if there is none)."""
        return await self.rounds.get(dispatch_id)

    async def get_for_worker(self, dispatch_id: str, worker_id: str) -> Dispatch:
        """A dispatch as a worker may see it: only one offered to or held by them
        (`WrongWorker` otherwise, which the API answers as 404 like a missing one)."""
        dispatch = await self.get(dispatch_id)
        if dispatch.worker_id != worker_id:
            raise WrongWorker(dispatch_id, worker_id)
        return dispatch

    async def for_worker(
        self, worker_id: str, *, status: DispatchStatus | None = None, limit: int = 100
    ) -> list[Dispatch]:
        """The dispatches offered to or held by a worker, newest first."""
        return await asyncio.to_thread(
            self.dispatches.recent,
            worker_id=worker_id,
            statuses=None if status is None else (status,),
            limit=limit,
        )

    async def recent(
        self,
        *,
        status: DispatchStatus | None = None,
        home_ids: list[str] | None = None,
        limit: int = 100,
    ) -> list[Dispatch]:
        """Dispatches newest first (a dispatcher's view; `home_ids` for a family's)."""
        return await asyncio.to_thread(
            self.dispatches.recent,
            statuses=None if status is None else (status,),
            home_ids=home_ids,
            limit=limit,
        )

    # --- the timer --------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Move every round that is due (offers past their deadline); returns how many moved."""
        moved = 0
        for dispatch_id in await asyncio.to_thread(self.dispatches.due_rounds, self.clock()):
            try:
                stored = await self.rounds.round(dispatch_id, actor="system:timer")
            except Exception:
                log.exception("dispatch_round_failed", dispatch_id=dispatch_id)
                continue
            moved += bool(stored.steps)
        return moved

    async def run_timer(
        self,
        stop: asyncio.Event,
        every: float = 1.0,
        *,
        schedule_every: float = 60.0,
        reload_every: float = 300.0,
    ) -> None:
        """Expire offers on time, schedule bookings, refresh the roster, until `stop`."""
        loop = asyncio.get_running_loop()
        scheduled: float | None = None
        reloaded = loop.time()
        while not stop.is_set():
            try:
                await self.run_due()
                if scheduled is None or loop.time() - scheduled >= schedule_every:
                    scheduled = loop.time()
                    await self.schedule_bookings()
                if loop.time() - reloaded >= reload_every:
                    reloaded = loop.time()
                    await self.reload()
            except Exception:
                log.exception("dispatch_timer_round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def _apply(self, dispatch_id: str, change: Change, *, actor: str) -> Dispatch:
        return (await self.rounds.apply(dispatch_id, change, actor=actor)).dispatch
