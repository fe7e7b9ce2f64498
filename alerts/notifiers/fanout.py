"""The notifier: rate-limit each notification per recipient, then hand it to every channel
that carries it, concurrently, so one failing or slow channel never holds up another.

Critical alerts are never suppressed, nor are offers (a worker who does not hear of an
offer just lets it expire, and the next worker waits longer). The clock is injected;
the rate limiter itself is pure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from alerts.notifiers.base import Channel, Notification
from alerts.notifiers.ratelimit import RateLimiter

log = structlog.get_logger(__name__)


@dataclass
class Report:
    """What one `notify` call did: (notification, channel) deliveries and suppressions."""

    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    unrouted: int = 0
    """Notifications no configured channel carries (a configuration gap worth a log)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        channels: Sequence[Channel],
        limiter: RateLimiter | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.channels = tuple(channels)
        self.limiter = RateLimiter() if limiter is None else limiter
        self.clock = clock
        self._tasks: set[asyncio.Task[Report]] = set()
        self.totals = Report()
        """Every `notify` call's report, added up (for metrics)."""

    async def notify(self, notifications: Iterable[Notification]) -> Report:
        """Deliver every notification the rate limiter admits; never raises."""
        report = Report()
        sends: list[tuple[Channel, Notification]] = []
        for notification in notifications:
            routes = [c for c in self.channels if _accepts(c, notification)]
            if not routes:
                report.unrouted += 1
                log.warning(
                    "notification_unrouted",
                    notification_id=notification.notification_id,
                    recipient_kind=notification.recipient.kind,
                )
                continue
            if not self.limiter.admit(
                notification.recipient.key,
                notification.severity,
                self.clock(),
                exempt=notification.reason == "offer",
            ):
                report.suppressed += 1
                log.info(
                    "notification_suppressed",
                    notification_id=notification.notification_id,
                    alert_id=notification.alert_id,
                    recipient=notification.recipient.key,
                )
                continue
            sends += [(channel, notification) for channel in routes]
        results = await asyncio.gather(*(_send(c, n) for c, n in sends))
        report.delivered = sum(results)
        report.failed = len(results) - report.delivered
        for field in ("delivered", "failed", "suppressed", "unrouted"):
            setattr(self.totals, field, getattr(self.totals, field) + getattr(report, field))
        return report

    def submit(self, notifications: Iterable[Notification]) -> asyncio.Task[Report]:
        """`notify` in the background, so the caller (the alert service) does not wait for
        webhook retries; `aclose` waits for what is still running."""
        task = asyncio.create_task(self.notify(list(notifications)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Wait for submitted deliveries to finish."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _accepts(channel: Channel, notification: Notification) -> bool:
    try:
        return channel.accepts(notification)
    except Exception:
        log.exception("channel_accepts_failed", channel=channel.name)
        return False


async def _send(channel: Channel, notification: Notification) -> bool:
    """One channel's delivery; a channel breaking its never-raise promise is contained here."""
    try:
        delivered = await channel.send(notification)
    except Exception:
        log.exception(
            "notification_failed",
            channel=channel.name,
            notification_id=notification.notification_id,
        )
        return False
    if not delivered:
        log.warning(
            "notification_undelivered",
            channel=channel.name,
            notification_id=notification.notification_id,
        )
    return bool(delivered)
