"""The dispatch service on SQLite and a real PostgreSQL, offers over a real Mosquitto: an
alert becomes a job, offered to the best worker, then the next, then the dispatchers;
taken, attended, done, rated; and called off when the alert is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.dispatches import CheckInRejected, IllegalDispatchTransition, WrongWorker
from alerts.dispatching import NotEligible
from anxin.testbed.mosquitto import Mosquitto
from records.dispatches import DispatchNotFound
from records.schema import DispatchEventRow
from tests.integration.dispatch_rig import HOME, Rig, detection, offset

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    server = Mosquitto(Path(tmp_path_factory.mktemp("mosquitto")), "allow_anonymous true\n")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def rig(records_engine: Engine, broker: Mosquitto) -> AsyncIterator[Rig]:
    made = Rig(records_engine, mqtt_port=broker.port)
    await made.service.start()
    yield made
    await made.close()


async def open_alert(rig: Rig, n: int = 1) -> str:
    await rig.alerts.send([detection(n)])
    [alert] = rig.alert_store.recent(limit=1)
    return alert.alert_id


async def the_dispatch(rig: Rig, alert_id: str) -> str:
    [dispatch] = rig.dispatches.recent(alert_id=alert_id)
    return dispatch.dispatch_id


class TestOfferRound:
    async def test_the_nearest_eligible_worker_is_offered_then_the_next_then_the_queue(
        self, rig: Rig
    ) -> None:
        await rig.add_worker("near", 300)
        await rig.add_worker("mid", 1200)
        await rig.add_worker("far", -2500)
        await rig.add_worker("cleaner", 100, skills=("housekeeping",))
        await rig.add_worker("resting", 150, on_shift=False)
        await rig.add_worker("expired", 200, expires=date(2026, 11, 23))
        await rig.add_worker("outside", 0, 4000)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        assert await rig.worker_app() == [("near", "offer", dispatch_id)]

        rig.clock.advance(59)
        assert await rig.service.run_due() == 0
        assert await rig.worker_app() == []
        rig.clock.advance(2)  # a critical offer stands 60 s
        assert await rig.service.run_due() == 1
        assert await rig.worker_app() == [("mid", "offer", dispatch_id)]

        dispatch = await rig.service.decline(dispatch_id, "mid", "busy")
        assert dispatch.worker_id == "far"
        assert await rig.worker_app() == [("far", "offer", dispatch_id)]
        assert await rig.console() == [("dispatcher:ann", "opened")]

        dispatch = await rig.service.decline(dispatch_id, "far", "other", note="car broke down")
        assert (dispatch.status, dispatch.worker_id) == ("queued", None)
        assert [(o.worker_id, o.outcome, o.reason) for o in dispatch.offers] == [
            ("near", "expired", None),
            ("mid", "declined", "busy"),
            ("far", "declined", "other"),
        ]
        assert await rig.console() == [("dispatcher:ann", "queued")]
        assert await rig.worker_app() == []

    async def test_a_late_accept_racing_the_timer_ends_one_way_only(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300)
        await rig.add_worker("w2", 900)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        rig.clock.advance(61)
        accepted, _ = await asyncio.gather(
            rig.service.accept(dispatch_id, "w1"), rig.service.run_due(), return_exceptions=True
        )
        dispatch = await rig.service.get(dispatch_id)
        outcomes = [(o.worker_id, o.outcome) for o in dispatch.offers]
        if isinstance(accepted, BaseException):  # the timer won: w1's offer expired first
            assert isinstance(accepted, WrongWorker | IllegalDispatchTransition)
            assert outcomes == [("w1", "expired"), ("w2", "pending")]
        else:
            assert (dispatch.status, dispatch.worker_id) == ("accepted", "w1")
            assert outcomes == [("w1", "accepted")]

    async def test_every_step_is_a_history_row_with_its_actor(
        self, rig: Rig, records_engine: Engine
    ) -> None:
        await rig.add_worker("near", 300)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        await rig.service.decline(dispatch_id, "near", "busy")
        with Session(records_engine) as session:
            rows = session.execute(
                select(DispatchEventRow.event, DispatchEventRow.actor, DispatchEventRow.reason)
                .where(DispatchEventRow.dispatch_id == dispatch_id)
                .order_by(DispatchEventRow.event_id)
            ).all()
        assert [tuple(row) for row in rows] == [
            ("pending", "system:dispatch", ""),
            ("offered", "system:dispatch", ""),
            ("declined", "worker:near", "busy"),
            ("queued", "system:dispatch", ""),
        ]

    async def test_nobody_in_reach_queues_at_once_and_a_dispatcher_may_choose(
        self, rig: Rig
    ) -> None:
        await rig.add_worker("outside", 0, 4000)
        await rig.add_worker("resting", 100, on_shift=False)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        assert (await rig.service.get(dispatch_id)).status == "queued"
        assert ("dispatcher:ann", "queued") in await rig.console()
        with pytest.raises(NotEligible) as refused:
            await rig.service.offer_to(dispatch_id, "resting", actor="dispatcher:ann")
        assert refused.value.reasons == ["off_shift"]
        dispatch = await rig.service.offer_to(dispatch_id, "outside", actor="dispatcher:ann")
        assert (dispatch.status, dispatch.worker_id) == ("offered", "outside")
        assert await rig.worker_app() == [("outside", "offer", dispatch_id)]


class TestTheJob:
    async def test_accepted_attended_completed_and_rated(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        rig.clock.advance(20)
        dispatch = await rig.service.accept(dispatch_id, "w1")
        assert dispatch.status == "accepted"
        alert = rig.alert_store.get(alert_id)
        assert alert is not None
        assert alert.status == "dispatched"
        assert alert.history[-1].actor == "worker:w1"
        assert rig.service.roster.workers["w1"].active_jobs == 1

        await rig.service.start_trip(dispatch_id, "w1")
        far = offset(1000, 0)
        with pytest.raises(CheckInRejected) as too_far:
            await rig.service.arrive(dispatch_id, "w1", lat=far[0], lon=far[1], code="AX-w1")
        assert too_far.value.reason == "too_far"
        near = offset(50, 30)
        with pytest.raises(CheckInRejected) as wrong:
            await rig.service.arrive(dispatch_id, "w1", lat=near[0], lon=near[1], code="AX-w2")
        assert wrong.value.reason == "wrong_code"
        rig.clock.advance(600)
        dispatch = await rig.service.arrive(
            dispatch_id, "w1", lat=near[0], lon=near[1], code="AX-w1"
        )
        assert dispatch.status == "on_site"
        assert dispatch.check_in is not None
        assert dispatch.check_in.distance_m < 200

        rig.clock.advance(1200)
        dispatch = await rig.service.complete(dispatch_id, "w1", "helped up, no injury")
        assert dispatch.status == "completed"
        alert = rig.alert_store.get(alert_id)
        assert alert is not None
        assert alert.status == "resolved"
        assert rig.service.roster.workers["w1"].active_jobs == 0

        await rig.service.rate(dispatch_id, 4, actor="family:mei")
        worker = rig.workers.get("w1")
        assert worker is not None
        assert (worker.rating, worker.rating_count) == (4.0, 1)
        assert rig.service.roster.workers["w1"].rating == 4.0
        with pytest.raises(IllegalDispatchTransition, match="already rated"):
            await rig.service.rate(dispatch_id, 1, actor="family:mei")

    async def test_wrong_worker_and_wrong_order_are_typed_errors(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300)
        await rig.add_worker("w2", 400)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        with pytest.raises(WrongWorker):
            await rig.service.accept(dispatch_id, "w2")
        with pytest.raises(WrongWorker):
            await rig.service.get_for_worker(dispatch_id, "w2")
        assert [d.dispatch_id for d in await rig.service.for_worker("w1")] == [dispatch_id]
        assert await rig.service.for_worker("w2") == []
        with pytest.raises(IllegalDispatchTransition):
            await rig.service.complete(dispatch_id, "w1", "done")
        with pytest.raises(IllegalDispatchTransition):
            await rig.service.rate(dispatch_id, 5, actor="family:mei")
        with pytest.raises(DispatchNotFound):
            await rig.service.accept("nope", "w1")
        await rig.service.accept(dispatch_id, "w1")
        with pytest.raises(IllegalDispatchTransition):
            await rig.service.accept(dispatch_id, "w1")

    async def test_an_alert_cancelled_before_acceptance_calls_off_the_offer(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        await rig.alerts.send([detection(2, action="cancel")])  # "I am fine"
        dispatch = await rig.service.get(dispatch_id)
        assert dispatch.status == "cancelled"
        assert dispatch.offers[-1].outcome == "withdrawn"
        assert await rig.worker_app() == [
            ("w1", "offer", dispatch_id),
            ("w1", "cancelled", dispatch_id),
        ]
        rig.clock.advance(120)
        assert await rig.service.run_due() == 0

    async def test_a_false_alarm_cancelled_by_a_dispatcher_frees_the_worker(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300)
        alert_id = await open_alert(rig)
        dispatch_id = await the_dispatch(rig, alert_id)
        await rig.service.accept(dispatch_id, "w1")
        await rig.alerts.act(alert_id, "cancel", actor="dispatcher:ann", reason="false alarm")
        assert (await rig.service.get(dispatch_id)).status == "cancelled"
        assert rig.service.roster.workers["w1"].active_jobs == 0

    async def test_a_dispatcher_creates_a_job_for_a_home(self, rig: Rig) -> None:
        await rig.add_worker("fixer", 500, skills=("technical",))
        dispatch = await rig.service.create("h1", "technical", actor="dispatcher:ann")
        assert (dispatch.origin, dispatch.severity, dispatch.worker_id) == (
            "dispatcher",
            "medium",
            "fixer",
        )
        rig.clock.advance(299)  # not critical: five minutes to answer
        assert await rig.service.run_due() == 0
        cancelled = await rig.service.cancel(
            dispatch.dispatch_id, "family fixed it", actor="dispatcher:ann"
        )
        assert cancelled.status == "cancelled"


class TestWorkforce:
    async def test_shift_and_location_changes_reach_matching(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300, on_shift=False)
        first = await rig.service.create("h1", "medical", actor="dispatcher:ann")
        assert first.status == "queued"
        await rig.service.set_shift("w1", True)
        second = await rig.service.create("h1", "medical", actor="dispatcher:ann")
        assert second.worker_id == "w1"
        far = offset(0, 0, origin=(HOME[0] + 0.2, HOME[1]))
        await rig.service.move_worker("w1", *far)
        third = await rig.service.create("h1", "medical", actor="dispatcher:ann")
        assert third.status == "queued"

    async def test_a_family_verifies_a_code_and_learns_nothing_else(self, rig: Rig) -> None:
        await rig.add_worker("w1", 300, skills=("medical", "meal"))
        await rig.add_worker("old", 300, expires=date(2026, 11, 1))
        seen = await rig.service.verify("AX-w1")
        assert seen is not None
        assert seen.model_dump() == {
            "name": "Worker w1",
            "skills": ("meal", "medical"),
            "credential_valid": True,
            "rating": 0.0,
            "rating_count": 0,
        }
        lapsed = await rig.service.verify("AX-old")
        assert lapsed is not None
        assert not lapsed.credential_valid
        assert await rig.service.verify("AX-nobody") is None


async def test_an_alert_opened_while_no_dispatch_service_listened_gets_its_job_at_start(
    records_engine: Engine, broker: Mosquitto
) -> None:
    """The process stopped between the alert's commit and its dispatch: the next start
    gives the alert the dispatch it should have had, once."""
    rig = Rig(records_engine, mqtt_port=broker.port)
    try:
        await rig.add_worker("near", 300)
        alert_id = await open_alert(rig)  # the dispatch service is not listening yet
        assert rig.dispatches.recent(alert_id=alert_id) == []
        await rig.service.start()
        [dispatch] = rig.dispatches.recent(alert_id=alert_id)
        assert (dispatch.origin, dispatch.status, dispatch.worker_id) == (
            "automatic",
            "offered",
            "near",
        )
        again = rig.dispatch_service()
        await again.start()  # a second start (or instance) adds nothing
        assert len(rig.dispatches.recent(alert_id=alert_id)) == 1
    finally:
        await rig.close()
