"""What the dispatch service tells people: offers to workers, the queue to dispatchers,
and a cancelled job to the worker who had it.

Pure builders: the service passes the dispatch, who to tell and when. Ids are stable
per (dispatch, event, recipient), so a re-sent offer is one offer to the worker app.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from alerts.dispatches import Dispatch, Offer
from alerts.notifiers.base import Notification, NotificationReason, Recipient, notification_key
from processors.detection import AlertKind


@dataclass(frozen=True, slots=True)
class About:
    """The alert behind a dispatch, as far as a notification names it."""

    kind: AlertKind | None = None
    summary: str = ""


def offer_notice(dispatch: Dispatch, made: Offer, about: About, *, at: datetime) -> Notification:
    """The offer to one worker, on their app (MQTT `anxin/v1/workers/{id}/offers`)."""
    index = next(n for n, o in enumerate(dispatch.offers) if o == made)
    what = about.kind or dispatch.service
    message = (
        f"{dispatch.severity} {dispatch.service} job ({what}): accept by"
        f" {made.deadline.isoformat(timespec='seconds')}"
    )
    key = notification_key(dispatch.dispatch_id, "offer", index, made.worker_id)
    recipient = Recipient(kind="worker", id=made.worker_id)
    return _notice(dispatch, recipient, "offer", message, about, at, key, made.deadline)


def queued_notices(
    dispatch: Dispatch, dispatchers: Iterable[str], about: About, *, event_id: int, at: datetime
) -> list[Notification]:
    """Tell the (tier-1) dispatchers that nobody eligible could take the job."""
    tried = len(dispatch.offers)
    message = (
        f"no eligible worker took the {dispatch.severity} {dispatch.service} job at"
        f" {dispatch.home_id} ({tried} asked): choose one"
    )
    notices = []
    for name in dispatchers:
        recipient = Recipient(kind="dispatcher", id=name)
        key = notification_key(dispatch.dispatch_id, event_id, recipient.key)
        notices.append(_notice(dispatch, recipient, "queued", message, about, at, key))
    return notices


def cancelled_notice(
    dispatch: Dispatch, worker_id: str, about: About, *, event_id: int, at: datetime
) -> Notification:
    """Tell the worker the job they were offered or held is called off."""
    message = f"the {dispatch.service} job at {dispatch.home_id} is cancelled"
    recipient = Recipient(kind="worker", id=worker_id)
    key = notification_key(dispatch.dispatch_id, event_id, recipient.key)
    return _notice(dispatch, recipient, "cancelled", message, about, at, key)


def _notice(
    dispatch: Dispatch,
    recipient: Recipient,
    reason: NotificationReason,
    message: str,
    about: About,
    at: datetime,
    notification_id: str,
    expires_at: datetime | None = None,
) -> Notification:
    return Notification(
        notification_id=notification_id,
        recipient=recipient,
        reason=reason,
        message=message[:500],
        at=at,
        home_id=dispatch.home_id,
        severity=dispatch.severity,
        service=dispatch.service,
        summary=about.summary[:500],
        alert_id=dispatch.alert_id,
        kind=about.kind,
        dispatch_id=dispatch.dispatch_id,
        expires_at=expires_at,
    )
