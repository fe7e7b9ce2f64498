"""In-process fan-out of alert changes to live subscribers (the console's SSE streams).

Publishing never waits: each subscriber has a bounded queue, and a subscriber that falls
behind loses its oldest items, then is told how many with a `Gap` before the items that
follow, so a console can reload instead of showing a silently incomplete picture. The
alert service must never stall because a browser tab is on a slow link.

Call `publish` from the event loop's thread (the service and the SSE routes share it).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Self, TypeVar

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict

from alerts.model import Alert, AlertStatus, TransitionEvent
from alerts.notifiers.base import Notification
from devices.envelope import Name
from processors.detection import AlertKind, Service, Severity

T = TypeVar("T")

log = structlog.get_logger(__name__)


class AlertChange(BaseModel):
    """What a live console needs of an alert that changed (CONTRACT §5's SSE event):
    small, without evidence or history, which the console fetches when it opens one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: Name
    home_id: Name
    kind: AlertKind
    severity: Severity
    service: Service
    status: AlertStatus
    summary: str
    opened_at: AwareDatetime
    updated_at: AwareDatetime
    event: TransitionEvent
    escalation_level: int

    @classmethod
    def of(cls, alert: Alert) -> AlertChange:
        return cls(
            alert_id=alert.alert_id,
            home_id=alert.home_id,
            kind=alert.kind,
            severity=alert.severity,
            service=alert.service,
            status=alert.status,
            summary=alert.summary,
            opened_at=alert.opened_at,
            updated_at=alert.updated_at,
            event=alert.history[-1].event,
            escalation_level=alert.escalation_level,
        )


@dataclass(frozen=True, slots=True)
class Gap:
    """`lost` items were dropped here because this subscriber fell behind."""

    lost: int


class StreamClosed(Exception):
    """The subscription was closed and everything queued has been read."""


class Subscription(Generic[T]):
    """One subscriber's bounded queue; iterate it (or `get`) for items and gaps."""

    def __init__(
        self, broadcast: Broadcast[T], maxsize: int, accept: Callable[[T], bool] | None
    ) -> None:
        self._broadcast = broadcast
        self._queue: deque[T] = deque(maxlen=maxsize)
        self._accept = accept
        self._pending_loss = 0
        self._wakeup = asyncio.Event()
        self.closed = False
        self.lost_total = 0
        """Items this subscriber lost over its life."""

    def _offer(self, item: T) -> None:
        if self.closed:
            return
        if self._accept is not None:
            try:
                if not self._accept(item):
                    return
            except Exception:  # a broken filter loses its own items, nobody else's
                log.exception("stream_filter_failed")
                return
        if len(self._queue) == self._queue.maxlen:
            self._pending_loss += 1
            self.lost_total += 1
        self._queue.append(item)  # a full deque drops its oldest
        self._wakeup.set()

    def get_nowait(self) -> T | Gap | None:
        """The next item (or gap), or None if nothing is waiting."""
        if self._pending_loss:
            lost, self._pending_loss = self._pending_loss, 0
            return Gap(lost)
        if self._queue:
            return self._queue.popleft()
        return None

    async def get(self) -> T | Gap:
        """The next item, or a gap; raises StreamClosed once closed and drained."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self.closed:
                raise StreamClosed
            self._wakeup.clear()
            await self._wakeup.wait()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T | Gap:
        try:
            return await self.get()
        except StreamClosed:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stop receiving; what is queued can still be read."""
        if not self.closed:
            self.closed = True
            self._broadcast._remove(self)
            self._wakeup.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Broadcast(Generic[T]):
    """Fan-out of items to every current subscriber, each with its own bounded queue."""

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._subscribers: list[Subscription[T]] = []

    def subscribe(
        self, accept: Callable[[T], bool] | None = None, *, maxsize: int | None = None
    ) -> Subscription[T]:
        """A new subscriber receiving the items `accept` lets through (all by default),
        from now on."""
        subscription = Subscription(self, maxsize or self.maxsize, accept)
        self._subscribers.append(subscription)
        return subscription

    def publish(self, item: T) -> None:
        """Queue `item` for every subscriber; never blocks."""
        for subscription in tuple(self._subscribers):
            subscription._offer(item)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        """End every subscription (at shutdown)."""
        for subscription in tuple(self._subscribers):
            subscription.close()

    def _remove(self, subscription: Subscription[T]) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)


class StreamChannel:
    """A `Channel` onto a `Broadcast` of notifications: what the console shows its users
    (each console session subscribes with a filter on its own recipient)."""

    name = "stream"

    def __init__(self, broadcast: Broadcast[Notification]) -> None:
        self.broadcast = broadcast

    def accepts(self, notification: Notification) -> bool:
        return notification.recipient.kind != "worker"  # workers have the app (MQTT)

    async def send(self, notification: Notification) -> bool:
        self.broadcast.publish(notification)
        return True
