"""What a channel is given to deliver, and what a channel is."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.model import Alert, AlertStatus
from devices.envelope import Name
from processors.detection import AlertKind, Service, Severity

RecipientKind = Literal["dispatcher", "family", "emergency_contact", "worker"]

NotificationReason = Literal[
    "opened", "escalated", "reminder", "cancelled", "cancel_noted", "resolved", "offer", "queued"
]
"""`offer`: a dispatch offered to a worker; `queued`: a dispatch nobody could take, now in
the dispatchers' queue; `cancelled` to a worker: a dispatch they were offered or held was
called off."""


class Recipient(BaseModel):
    """One person (or group) to tell, by the kind of account and its id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RecipientKind
    id: Name

    @property
    def key(self) -> str:
        """A stable key per recipient, for rate limiting."""
        return f"{self.kind}:{self.id}"


class Notification(BaseModel):
    """One message to one recipient about one alert or offer.

    `notification_id` is stable per (event, recipient), so a gateway receiving a retried
    webhook, or a worker app a re-sent offer, can drop the repeat.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: Name
    recipient: Recipient
    reason: NotificationReason
    message: str = Field(max_length=500, description="one line for people: why they hear of it")
    at: AwareDatetime
    home_id: Name
    severity: Severity
    service: Service
    summary: str = Field(default="", max_length=500)
    alert_id: Name | None = None
    kind: AlertKind | None = None
    status: AlertStatus | None = None
    address: str | None = Field(
        default=None,
        max_length=200,
        description="where a channel must send it, when the recipient has no account"
        " (an emergency contact's phone number, for an SMS gateway)",
    )
    dispatch_id: Name | None = Field(default=None, description="for offers")
    expires_at: AwareDatetime | None = Field(default=None, description="an offer's deadline")


def notification_key(*parts: object) -> str:
    """A stable notification id from what it is about, e.g. (alert_id, history index,
    recipient.key): the same event to the same recipient always gets the same id."""
    text = "|".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def about_alert(
    alert: Alert,
    recipient: Recipient,
    *,
    reason: NotificationReason,
    message: str,
    notification_id: str,
    at: datetime,
    address: str | None = None,
) -> Notification:
    """A notification carrying an alert's summary fields."""
    return Notification(
        notification_id=notification_id,
        recipient=recipient,
        address=address,
        reason=reason,
        message=message,
        at=at,
        home_id=alert.home_id,
        severity=alert.severity,
        service=alert.service,
        summary=alert.summary,
        alert_id=alert.alert_id,
        kind=alert.kind,
        status=alert.status,
    )


class Channel(Protocol):
    """A way to reach people. `send` never raises: it answers whether it delivered."""

    name: str

    def accepts(self, notification: Notification) -> bool:
        """Whether this channel carries notifications for this recipient."""
        ...

    async def send(self, notification: Notification) -> bool:
        """Deliver (with whatever retrying the channel does); True once delivered."""
        ...
