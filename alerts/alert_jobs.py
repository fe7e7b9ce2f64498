"""Alerts and their jobs kept in step, both ways.

From the alert side (an `AlertService` listener, told after each commit): an alert
that opens gets an automatic dispatch for its service and severity, offered at once
(one per alert, however often the change is told); an alert cancelled (the
resident's "I am fine", a dispatcher's false alarm) calls off its dispatches not yet
completed; one resolved (dealt with by phone, say) calls off those nobody holds yet,
while a worker already on the way finishes or is called off by a dispatcher.

From the job side: a worker accepting makes the alert `dispatched`, the work done
makes it `resolved`, both recorded as that worker's acts. An alert a dispatcher
already moved on is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Final, Literal

import structlog

from alerts import dispatches as core
from alerts.dispatches import FINAL, HELD, DispatchStatus
from alerts.model import Alert, IllegalTransition
from alerts.rounds import OfferRounds
from alerts.service import AlertService
from records.alerts import AlertNotFound, StoredChange
from records.dispatches import DispatchStore

log = structlog.get_logger("anxin.dispatch")

ACTOR: Final = "system:dispatch"


class AlertJobs:
    def __init__(
        self,
        dispatches: DispatchStore,
        rounds: OfferRounds,
        alerts: AlertService | None,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.dispatches = dispatches
        self.rounds = rounds
        self.alerts = alerts
        self.clock = clock
        self.new_id = new_id

    async def on_alert_change(self, stored: StoredChange) -> None:
        """The listener: open a job for a new alert, call off a closed one's."""
        alert = stored.alert
        events = {t.event for t in alert.history[len(alert.history) - len(stored.event_ids) :]}
        if "opened" in events and alert.status == "open":
            await self.open_job(alert)
        elif "cancelled" in events:
            await self._call_off(alert.alert_id, FINAL, f"alert {alert.alert_id} cancelled")
        elif "resolved" in events:
            await self._call_off(alert.alert_id, FINAL | HELD, f"alert {alert.alert_id} resolved")

    async def open_job(self, alert: Alert) -> None:
        """The alert's automatic dispatch, offered at once; nothing if it has one already."""
        home = await self.rounds.home(alert.home_id)
        dispatch = core.new_dispatch(
            dispatch_id=self.new_id(),
            home_id=alert.home_id,
            lat=home.lat,
            lon=home.lon,
            address=home.address,
            service=alert.service,
            severity=alert.severity,
            origin="automatic",
            now=self.clock(),
            alert_id=alert.alert_id,
        )
        made = await asyncio.to_thread(
            self.dispatches.create, dispatch, actor=ACTOR, once_per_alert=True
        )
        if made is not None:
            log.info("dispatch_created", dispatch_id=dispatch.dispatch_id, alert_id=alert.alert_id)
            await self.rounds.round(dispatch.dispatch_id, actor=ACTOR)

    async def sweep(self) -> int:
        """Open the jobs of alerts that opened while no dispatch service was listening
        (a crash between the alert's commit and its dispatch); returns how many."""
        if self.alerts is None:
            return 0
        active = await asyncio.to_thread(self.alerts.store.recent, status="open", limit=1000)
        served = await asyncio.to_thread(
            self.dispatches.dispatched_alerts, [alert.alert_id for alert in active]
        )
        orphans = [alert for alert in active if alert.alert_id not in served]
        for alert in orphans:
            await self.open_job(alert)
        return len(orphans)

    async def taken(self, alert_id: str, dispatch_id: str, actor: str) -> None:
        """A worker accepted a job for the alert: it is `dispatched` (`actor`: the step's)."""
        await self._act(alert_id, "dispatch", actor, f"dispatch {dispatch_id} accepted")

    async def done(self, alert_id: str, dispatch_id: str, actor: str) -> None:
        """A job for the alert was completed: `resolved`, unless another is still under way."""
        others = await asyncio.to_thread(self.dispatches.recent, alert_id=alert_id, statuses=HELD)
        if not others:
            await self._act(alert_id, "resolve", actor, f"dispatch {dispatch_id} completed")

    async def _call_off(self, alert_id: str, keep: frozenset[DispatchStatus], reason: str) -> None:
        for dispatch in await asyncio.to_thread(self.dispatches.recent, alert_id=alert_id):
            if dispatch.status not in keep:
                with contextlib.suppress(core.IllegalDispatchTransition):
                    await self.rounds.apply(
                        dispatch.dispatch_id,
                        lambda d, at: core.cancel(d, reason, now=at),
                        actor="system:alert",
                    )

    async def _act(
        self, alert_id: str, action: Literal["dispatch", "resolve"], actor: str, reason: str
    ) -> None:
        if self.alerts is None:
            return
        try:
            await self.alerts.act(alert_id, action, actor=actor, reason=reason)
        except (IllegalTransition, AlertNotFound) as error:
            log.info("dispatch_alert_unchanged", alert_id=alert_id, action=action, why=str(error))
