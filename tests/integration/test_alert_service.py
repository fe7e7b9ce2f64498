"""The alert service on SQLite and a real PostgreSQL: one alert per problem, never lost,
never doubled, escalated on time, every step recorded and announced."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.model import IllegalTransition
from alerts.notifiers.base import Notification
from alerts.notifiers.fanout import Notifier
from alerts.notifiers.stream import AlertChange, Broadcast, StreamChannel
from alerts.recipients import RecordRecipients
from alerts.service import AlertService
from devices.registry import Home
from processors.detection import Detection, Evidence
from records.accounts import AccountStore, NewAccount
from records.alerts import AlertNotFound, AlertStore
from records.devices import DeviceRegistry
from records.homes import EmergencyContact, HomeStore, Resident
from records.schema import AlertEventRow, AlertRow

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def detection(n: int, *, kind: str = "sos", action: str = "open", home: str = "h1") -> Detection:
    return Detection.model_validate(
        {
            "detection_id": f"det-{kind}-{action}-{n}",
            "home_id": home,
            "kind": kind,
            "action": action,
            "severity": "critical",
            "service": "medical",
            "at": T0 + timedelta(seconds=n),
            "summary": f"{kind} {action} {n}",
            "evidence": [
                Evidence(device_id="btn", type="sos", ts=T0 + timedelta(seconds=n), seq=n)
            ],
        }
    )


class Rig:
    def __init__(self, engine: Engine) -> None:
        DeviceRegistry(engine).add_home(Home(home_id="h1", lat=22.5, lon=113.4))
        accounts = AccountStore(engine)
        for name, role, tier, linked in (
            ("ann", "dispatcher", 1, ()),
            ("bo", "dispatcher", 2, ()),
            ("mei", "family", None, ("h1",)),
        ):
            accounts.create(
                NewAccount.model_validate(
                    {
                        "username": name,
                        "password": "password1",
                        "role": role,
                        "tier": tier,
                        "home_ids": linked,
                    }
                ),
                now=T0,
            )
        homes = HomeStore(engine)
        homes.set_people(
            "h1",
            Resident(name="Wang Fang", birth_year=1938),
            (EmergencyContact(name="Wang Lei", phone="+86 138 0000 0000", relation="son"),),
        )
        self.clock = Clock()
        self.changes: Broadcast[tuple[int, AlertChange]] = Broadcast()
        self.told: Broadcast[Notification] = Broadcast()
        self.store = AlertStore(engine)
        self.service = AlertService(
            self.store,
            notifier=Notifier([StreamChannel(self.told)], clock=self.clock),
            recipients=RecordRecipients(accounts, homes),
            changes=self.changes,
            clock=self.clock,
        )
        self.live = self.changes.subscribe()
        self.inbox = self.told.subscribe()

    async def notifications(self) -> list[tuple[str, str, str]]:
        """(recipient, reason, alert kind) of everything delivered so far."""
        await self.service.notifier.aclose()
        out: list[tuple[str, str, str]] = []
        while (item := self.inbox.get_nowait()) is not None:
            assert isinstance(item, Notification)
            out.append((item.recipient.key, item.reason, item.kind or ""))
        return out

    def stream(self) -> list[tuple[int, str, str]]:
        out: list[tuple[int, str, str]] = []
        while (item := self.live.get_nowait()) is not None:
            assert isinstance(item, tuple)
            out.append((item[0], item[1].status, item[1].event))
        return out


@pytest.fixture
def rig(records_engine: Engine) -> Rig:
    return Rig(records_engine)


async def test_a_detection_opens_one_alert_and_tells_tier_one(rig: Rig) -> None:
    await rig.service.send([detection(1)])
    [alert] = rig.store.recent()
    assert (alert.kind, alert.status, alert.severity) == ("sos", "open", "critical")
    assert [e.device_id for e in alert.evidence] == ["btn"]
    assert await rig.notifications() == [("dispatcher:ann", "opened", "sos")]
    [(event_id, status, event)] = rig.stream()
    assert (status, event) == ("open", "opened")
    assert rig.store.changes_after(0)[0][0] == event_id


async def test_redelivered_detections_change_nothing_and_repeats_merge(rig: Rig) -> None:
    await rig.service.send([detection(1), detection(1), detection(2)])
    await rig.service.send([detection(1)])  # a redelivery after a restart
    [alert] = rig.store.recent()
    assert [t.event for t in alert.history] == ["opened", "evidence_added"]
    assert len(alert.evidence) == 2
    assert await rig.notifications() == [("dispatcher:ann", "opened", "sos")]


async def test_concurrent_services_on_one_database_keep_one_alert(
    rig: Rig, records_engine: Engine
) -> None:
    """Two processes' worth of stores racing on the same home and kind."""
    stores = [AlertStore(records_engine), AlertStore(records_engine)]
    barrier = threading.Barrier(2)

    def apply(store: AlertStore, n: int) -> None:
        barrier.wait()
        for k in range(10):
            store.apply(
                detection(n * 100 + k),
                now=T0,
                new_alert_id=iter([f"a{n}x{k}"] * 3).__next__,
                policy=rig.service.policy,
            )

    await asyncio.gather(
        asyncio.to_thread(apply, stores[0], 1), asyncio.to_thread(apply, stores[1], 2)
    )
    with Session(records_engine) as session:
        rows = session.scalars(select(AlertRow)).all()
        events = session.scalars(select(AlertEventRow.event)).all()
    assert len(rows) == 1
    assert sorted(events) == ["evidence_added"] * 19 + ["opened"]


async def test_an_unacknowledged_alert_climbs_the_ladder_on_time(rig: Rig) -> None:
    await rig.service.send([detection(1)])
    rig.clock.now = T0 + timedelta(seconds=59)
    assert await rig.service.escalate_due() == 0
    rig.clock.now = T0 + timedelta(seconds=61)
    assert await rig.service.escalate_due() == 1
    rig.clock.now = T0 + timedelta(seconds=125)
    assert await rig.service.escalate_due() == 1
    rig.clock.now = T0 + timedelta(seconds=185)
    assert await rig.service.escalate_due() == 1
    told = await rig.notifications()
    escalated = [who for who, why, _ in told if why == "escalated"]
    # each rung climbed tells everyone reached so far: tier 2, then the family, then contacts
    assert escalated == [
        "dispatcher:ann",
        "dispatcher:bo",
        "dispatcher:ann",
        "dispatcher:bo",
        "family:mei",
        "dispatcher:ann",
        "dispatcher:bo",
        "family:mei",
        "emergency_contact:h1-c1",
    ]
    [alert] = rig.store.recent()
    assert [t.event for t in alert.history].count("escalated") == 3

    alert = await rig.service.act(alert.alert_id, "acknowledge", actor="dispatcher:ann")
    rig.clock.now = T0 + timedelta(hours=1)
    assert await rig.service.escalate_due() == 0
    assert alert.status == "acknowledged"


async def test_people_walk_the_lifecycle_and_illegal_steps_are_refused(rig: Rig) -> None:
    await rig.service.send([detection(1)])
    [alert] = rig.store.recent()
    await rig.service.act(alert.alert_id, "acknowledge", actor="dispatcher:ann")
    with pytest.raises(IllegalTransition):
        await rig.service.act(alert.alert_id, "acknowledge", actor="dispatcher:bo")
    await rig.service.act(alert.alert_id, "dispatch", actor="dispatcher:ann")
    done = await rig.service.act(
        alert.alert_id, "resolve", actor="dispatcher:ann", reason="resident fine"
    )
    assert [(t.event, t.actor) for t in done.history] == [
        ("opened", "detector:sos"),
        ("acknowledged", "dispatcher:ann"),
        ("dispatched", "dispatcher:ann"),
        ("resolved", "dispatcher:ann"),
    ]
    with pytest.raises(AlertNotFound):
        await rig.service.act("no-such-alert", "acknowledge", actor="dispatcher:ann")
    # a new detection of the same kind now opens a new alert
    rig.clock.now = T0 + timedelta(minutes=5)
    await rig.service.send([detection(9)])
    assert [a.status for a in rig.store.recent()] == ["open", "resolved"]


async def test_a_cancel_before_anyone_acted_closes_and_is_announced(rig: Rig) -> None:
    await rig.service.send([detection(1, kind="fall")])
    await rig.service.send([detection(2, kind="fall", action="cancel")])
    [alert] = rig.store.recent()
    assert alert.status == "cancelled"
    assert await rig.notifications() == [
        ("dispatcher:ann", "opened", "fall"),
        ("dispatcher:ann", "cancelled", "fall"),
    ]
    assert [status for _, status, _ in rig.stream()] == ["open", "cancelled"]


async def test_a_console_resumes_after_the_last_event_it_saw(rig: Rig) -> None:
    await rig.service.send([detection(1)])
    [(first, _, _)] = rig.stream()
    rig.clock.now = T0 + timedelta(seconds=5)
    await rig.service.send([detection(1, kind="fall")])
    [alert] = rig.store.recent(status="open", limit=1)
    missed = rig.store.changes_after(first)
    assert [(change.kind, change.status) for _, change in missed] == [("fall", "open")]
    assert missed[0][1].alert_id == alert.alert_id
    assert rig.store.changes_after(missed[-1][0]) == []


async def test_a_detection_for_an_unknown_home_is_refused_and_nothing_else_lost(rig: Rig) -> None:
    await rig.service.send([detection(1, home="ghost"), detection(2)])
    assert [a.home_id for a in rig.store.recent()] == ["h1"]
