"""The alert service: detections in, alerts stored, people told, live consoles updated.

It is the shell around the pure lifecycle: each detection or person's action is
one transaction in `records.alerts.AlertStore`; after it commits, the change is
published to the live stream (the console's Server-Sent Events) and the people
the escalation ladder names are notified. A timer records the escalations that
fall due. Detections come from `anxin.detections` (`alerts.intake`) or straight
from the in-process runner in `anxin up`; either way this class is their sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol

import structlog

from alerts import lifecycle
from alerts.escalation import EscalationPolicy, Tier
from alerts.model import Alert
from alerts.notifiers.base import (
    Notification,
    NotificationReason,
    Recipient,
    about_alert,
    notification_key,
)
from alerts.notifiers.fanout import Notifier
from alerts.notifiers.stream import AlertChange, Broadcast
from processors.detection import Detection
from records.alerts import AlertStore, StoredChange

log = structlog.get_logger("anxin.alerts")

Action = Literal["acknowledge", "dispatch", "resolve", "cancel"]

Listener = Callable[[StoredChange], Awaitable[None]]
"""Told of every stored change after commit (the dispatch service opens jobs from it)."""


class Recipients(Protocol):
    def reach(self, home_id: str, tiers: Sequence[Tier]) -> list[tuple[Recipient, str | None]]:
        """Everyone on these rungs of the ladder for this home, with an address if needed."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def new_alert_id() -> str:
    return uuid.uuid4().hex


class AlertService:
    def __init__(
        self,
        store: AlertStore,
        *,
        notifier: Notifier,
        recipients: Recipients,
        changes: Broadcast[tuple[int, AlertChange]],
        policy: EscalationPolicy | None = None,
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = new_alert_id,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.recipients = recipients
        self.changes = changes
        self.policy = EscalationPolicy() if policy is None else policy
        self.clock = clock
        self.new_id = new_id
        self.listeners: list[Listener] = []

    async def send(self, detections: Sequence[Detection]) -> None:
        """Apply detections in order (the `DetectionSink` of both processing runners)."""
        for detection in detections:
            applied = await asyncio.to_thread(
                self.store.apply,
                detection,
                now=self.clock(),
                new_alert_id=self.new_id,
                policy=self.policy,
            )
            decision = applied.decision
            if decision.outcome == "rejected":
                log.warning(
                    "detection_rejected",
                    detection_id=detection.detection_id,
                    home_id=detection.home_id,
                    reason=decision.reason,
                )
            if applied.stored is not None:
                await self._changed(applied.stored)

    async def act(self, alert_id: str, action: Action, *, actor: str, reason: str = "") -> Alert:
        """A person's action; `IllegalTransition` and `AlertNotFound` pass through."""
        now = self.clock()

        def apply(alert: Alert) -> Alert:
            if action == "acknowledge":
                return lifecycle.acknowledge(alert, actor=actor, now=now, reason=reason)
            if action == "dispatch":
                return lifecycle.mark_dispatched(alert, actor=actor, now=now, reason=reason)
            if action == "resolve":
                return lifecycle.resolve(alert, actor=actor, now=now, reason=reason)
            return lifecycle.cancel_by_dispatcher(alert, actor=actor, now=now, reason=reason)

        stored = await asyncio.to_thread(self.store.act, alert_id, apply)
        await self._changed(stored)
        return stored.alert

    async def escalate_due(self) -> int:
        """Record and announce every escalation step due now; returns how many alerts."""
        now = self.clock()
        done = await asyncio.to_thread(self.store.escalate_due, now, self.policy)
        for stored, steps in done:
            self._publish(stored)
            notifications: list[Notification] = []
            for step, event_id in zip(steps, stored.event_ids, strict=False):
                reason: NotificationReason = "escalated" if step.step == "escalate" else "reminder"
                notifications += self._notifications(
                    stored.alert, step.notify, reason=reason, event_id=event_id
                )
            self.notifier.submit(notifications)
        return len(done)

    async def run_timer(self, stop: asyncio.Event, every: float = 1.0) -> None:
        """Escalate on time until `stop`; a failing round is logged and the next one runs."""
        while not stop.is_set():
            try:
                await self.escalate_due()
            except Exception:
                log.exception("escalation_round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def _changed(self, stored: StoredChange) -> None:
        self._publish(stored)
        alert = stored.alert
        ladder = self.policy.ladder
        reached = ladder[: alert.escalation_level + 1]
        notifications: list[Notification] = []
        records = alert.history[len(alert.history) - len(stored.event_ids) :]
        for transition, event_id in zip(records, stored.event_ids, strict=True):
            if transition.event == "opened":
                notifications += self._notifications(
                    alert, ladder[:1], reason="opened", event_id=event_id
                )
            elif transition.event in ("cancelled", "resolved"):
                notifications += self._notifications(
                    alert, reached, reason=transition.event, event_id=event_id
                )
            elif transition.event == "cancel_noted":
                dispatchers = tuple(tier for tier in reached if tier.kind == "dispatcher")
                notifications += self._notifications(
                    alert, dispatchers, reason="cancel_noted", event_id=event_id
                )
        if notifications:
            self.notifier.submit(notifications)
        for listener in self.listeners:
            try:
                await listener(stored)
            except Exception:
                log.exception("alert_listener_failed", alert_id=alert.alert_id)

    def _publish(self, stored: StoredChange) -> None:
        self.changes.publish((stored.last_event_id, stored.change))

    def _notifications(
        self,
        alert: Alert,
        tiers: Sequence[Tier],
        *,
        reason: NotificationReason,
        event_id: int,
    ) -> list[Notification]:
        message = _MESSAGES[reason].format(kind=alert.kind, summary=alert.summary)
        return [
            about_alert(
                alert,
                recipient,
                reason=reason,
                message=message[:500],
                notification_id=notification_key(alert.alert_id, event_id, recipient.key),
                at=self.clock(),
                address=address,
            )
            for recipient, address in self.recipients.reach(alert.home_id, tiers)
        ]


_MESSAGES: dict[NotificationReason, str] = {
    "opened": "new {kind} alert: {summary}",
    "escalated": "unacknowledged {kind} alert escalated to you: {summary}",
    "reminder": "still unacknowledged {kind} alert: {summary}",
    "cancelled": "{kind} alert cancelled: {summary}",
    "cancel_noted": "the resident or sensor cancelled a {kind} alert already taken: {summary}",
    "resolved": "{kind} alert resolved",
    "offer": "{kind}: {summary}",
}
