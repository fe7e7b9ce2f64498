"""The in-process stream (bounded, never blocking) and the notifier's fan-out rules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.escalation import EscalationPolicy
from alerts.lifecycle import on_detection
from alerts.notifiers.base import Notification, Recipient, about_alert, notification_key
from alerts.notifiers.fanout import Notifier
from alerts.notifiers.ratelimit import RateLimiter, RatePolicy
from alerts.notifiers.stream import AlertChange, Broadcast, Gap, StreamChannel
from processors.detection import Detection, Severity

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def notification(
    recipient: str = "fam-1", severity: Severity = "high", reason: str = "opened", n: int = 1
) -> Notification:
    return Notification.model_validate(
        {
            "notification_id": f"n{n}",
            "recipient": {"kind": "family", "id": recipient},
            "reason": reason,
            "message": "m",
            "at": T0,
            "home_id": "home-1",
            "severity": severity,
            "service": "medical",
        }
    )


class TestBroadcast:
    async def test_every_subscriber_gets_every_item_in_order(self) -> None:
        broadcast: Broadcast[int] = Broadcast()
        first, second = broadcast.subscribe(), broadcast.subscribe()
        for item in (1, 2, 3):
            broadcast.publish(item)
        assert [await first.get() for _ in range(3)] == [1, 2, 3]
        assert [await second.get() for _ in range(3)] == [1, 2, 3]

    async def test_a_filter_keeps_other_homes_out(self) -> None:
        broadcast: Broadcast[str] = Broadcast()
        mine = broadcast.subscribe(lambda home: home == "home-1")
        broadcast.publish("home-2")
        broadcast.publish("home-1")
        assert await mine.get() == "home-1"
        assert mine.get_nowait() is None

    async def test_a_slow_subscriber_loses_its_oldest_and_is_told(self) -> None:
        broadcast: Broadcast[int] = Broadcast(maxsize=3)
        slow, fast = broadcast.subscribe(), broadcast.subscribe(maxsize=10)
        for item in range(5):
            broadcast.publish(item)  # returns at once although nobody reads
        assert [await slow.get() for _ in range(4)] == [Gap(2), 2, 3, 4]
        assert slow.lost_total == 2
        assert [await fast.get() for _ in range(5)] == [0, 1, 2, 3, 4]

    async def test_a_waiting_subscriber_wakes_on_publish(self) -> None:
        broadcast: Broadcast[int] = Broadcast()
        subscription = broadcast.subscribe()
        waiting = asyncio.create_task(subscription.get())
        await asyncio.sleep(0)
        broadcast.publish(7)
        assert await asyncio.wait_for(waiting, 1) == 7

    async def test_closing_ends_iteration_after_what_was_queued(self) -> None:
        broadcast: Broadcast[int] = Broadcast()
        subscription = broadcast.subscribe()
        broadcast.publish(1)
        broadcast.close()
        assert [item async for item in subscription] == [1]
        assert broadcast.subscribers == 0

    async def test_a_broken_filter_hurts_only_its_subscriber(self) -> None:
        broadcast: Broadcast[int] = Broadcast()

        def broken(item: int) -> bool:
            raise RuntimeError("bug")

        broadcast.subscribe(broken)
        healthy = broadcast.subscribe()
        broadcast.publish(1)
        assert await healthy.get() == 1

    async def test_an_unsubscribed_reader_receives_nothing_more(self) -> None:
        broadcast: Broadcast[int] = Broadcast()
        with broadcast.subscribe() as subscription:
            pass
        broadcast.publish(1)
        assert subscription.get_nowait() is None


class Recording:
    """A channel that records what it was given, or fails as told."""

    def __init__(self, name: str, *, fails: bool = False, raises: bool = False) -> None:
        self.name = name
        self.fails = fails
        self.raises = raises
        self.got: list[Notification] = []

    def accepts(self, notification: Notification) -> bool:
        return True

    async def send(self, notification: Notification) -> bool:
        if self.raises:
            raise RuntimeError("broken channel")
        self.got.append(notification)
        return not self.fails


class TestNotifier:
    async def test_one_failing_channel_does_not_affect_the_others(self) -> None:
        good, failing, raising = (
            Recording("a"),
            Recording("b", fails=True),
            Recording("c", raises=True),
        )
        notifier = Notifier([raising, failing, good], clock=lambda: T0)
        report = await notifier.notify([notification()])
        assert good.got == [notification()]
        assert (report.delivered, report.failed) == (1, 2)

    async def test_rate_limited_per_recipient_but_critical_always_goes(self) -> None:
        channel = Recording("a")
        limiter = RateLimiter(RatePolicy(burst=1))
        notifier = Notifier([channel], limiter, clock=lambda: T0)
        report = await notifier.notify(
            [
                notification(n=1),
                notification(n=2),
                notification(severity="critical", n=3),
                notification("fam-2", n=4),
            ]
        )
        assert [n.notification_id for n in channel.got] == ["n1", "n3", "n4"]
        assert report.suppressed == 1
        assert notifier.totals.suppressed == 1
        assert limiter.suppressed["family:fam-1"] == 1

    async def test_offers_are_never_suppressed(self) -> None:
        channel = Recording("a")
        notifier = Notifier([channel], RateLimiter(RatePolicy(burst=1)), clock=lambda: T0)
        await notifier.notify([notification(reason="offer", n=n) for n in range(3)])
        assert len(channel.got) == 3

    async def test_a_notification_no_channel_carries_is_counted(self) -> None:
        broadcast: Broadcast[Notification] = Broadcast()
        notifier = Notifier([StreamChannel(broadcast)], clock=lambda: T0)
        worker = notification().model_copy(update={"recipient": Recipient(kind="worker", id="w")})
        report = await notifier.notify([worker])
        assert (report.unrouted, report.delivered) == (1, 0)

    async def test_submitted_deliveries_finish_on_close(self) -> None:
        channel = Recording("a")
        notifier = Notifier([channel], clock=lambda: T0)
        notifier.submit([notification()])
        await notifier.aclose()
        assert len(channel.got) == 1


class TestAboutAlert:
    def test_carries_the_alerts_summary_fields(self) -> None:
        detection = Detection(
            detection_id="d1",
            home_id="home-1",
            kind="leak",
            severity="critical",
            service="technical",
            at=T0,
            summary="leak sensor wet",
        )
        alert = on_detection(
            None, detection, now=T0, new_alert_id="a1", policy=EscalationPolicy()
        ).alert
        assert alert is not None
        made = about_alert(
            alert,
            Recipient(kind="dispatcher", id="alice"),
            reason="opened",
            message="new alert",
            notification_id="a1-opened-alice",
            at=T0,
        )
        fields: dict[str, Any] = made.model_dump(
            include={"alert_id", "home_id", "kind", "severity", "service", "status", "summary"}
        )
        assert fields == {
            "alert_id": "a1",
            "home_id": "home-1",
            "kind": "leak",
            "severity": "critical",
            "service": "technical",
            "status": "open",
            "summary": "leak sensor wet",
        }

    @pytest.mark.parametrize("bad", ["a b", "", "x" * 65, "../etc"])
    def test_recipient_ids_are_validated(self, bad: str) -> None:
        with pytest.raises(ValidationError, match="pattern"):
            Recipient(kind="family", id=bad)


class TestAlertChange:
    def test_carries_the_sse_fields_and_the_last_event(self) -> None:
        detection = Detection(
            detection_id="d1",
            home_id="home-1",
            kind="sos",
            severity="critical",
            service="medical",
            at=T0,
            summary="sos pressed",
        )
        alert = on_detection(
            None, detection, now=T0, new_alert_id="a1", policy=EscalationPolicy()
        ).alert
        assert alert is not None
        change = AlertChange.of(alert)
        assert (change.alert_id, change.home_id, change.kind, change.severity, change.status) == (
            "a1",
            "home-1",
            "sos",
            "critical",
            "open",
        )
        assert change.event == "opened"
        assert "history" not in change.model_dump()


class TestNotificationKey:
    def test_is_stable_and_a_valid_id(self) -> None:
        key = notification_key("a1", 3, "family:fam-1")
        assert key == notification_key("a1", 3, "family:fam-1")
        assert key != notification_key("a1", 4, "family:fam-1")
        assert Recipient(kind="family", id=key).id == key
