"""The dispatch lifecycle: each transition, each illegal one, and the arrival check-in."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.dispatches import (
    CheckInRejected,
    Dispatch,
    DispatchStatus,
    IllegalDispatchTransition,
    WrongWorker,
    accept,
    appended,
    arrive,
    cancel,
    complete,
    decline,
    expire,
    new_dispatch,
    offer,
    queue,
    rate,
    start,
)
from alerts.workers import EARTH_RADIUS_M, Worker

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)
HOME = (22.52, 113.39)


def north(metres: float) -> tuple[float, float]:
    return HOME[0] + math.degrees(metres / EARTH_RADIUS_M), HOME[1]


def nurse(worker_id: str = "w1", code: str = "AX-0001") -> Worker:
    return Worker(
        worker_id=worker_id,
        name="Nurse",
        skills=frozenset({"medical"}),
        credential_code=code,
        credential_expires=date(2027, 1, 1),
        lat=HOME[0],
        lon=HOME[1],
        on_shift=True,
    )


def fresh(**changes: Any) -> Dispatch:
    fields: dict[str, Any] = {
        "dispatch_id": "d1",
        "home_id": "h1",
        "lat": HOME[0],
        "lon": HOME[1],
        "service": "medical",
        "severity": "critical",
        "origin": "automatic",
        "now": T0,
        "alert_id": "a1",
    }
    fields.update(changes)
    return new_dispatch(**fields)


def offered(worker_id: str = "w1") -> Dispatch:
    return offer(fresh(), worker_id, now=T0 + S, deadline=T0 + 61 * S)


def accepted() -> Dispatch:
    return accept(offered(), "w1", now=T0 + 10 * S)


def en_route() -> Dispatch:
    return start(accepted(), "w1", now=T0 + 20 * S)


def on_site() -> Dispatch:
    return arrive(en_route(), nurse(), lat=HOME[0], lon=HOME[1], code="AX-0001", now=T0 + 600 * S)


def completed() -> Dispatch:
    return complete(on_site(), "w1", "Checked vitals; resident comfortable.", now=T0 + 1800 * S)


def declined() -> Dispatch:
    return decline(offered(), "w1", "busy", now=T0 + 5 * S)


def expired() -> Dispatch:
    return expire(offered(), now=T0 + 61 * S)


def queued() -> Dispatch:
    return queue(fresh(), now=T0 + S)


def cancelled() -> Dispatch:
    return cancel(fresh(), "alert cleared", now=T0 + S)


STATES: dict[DispatchStatus, Callable[[], Dispatch]] = {
    "pending": fresh,
    "offered": offered,
    "accepted": accepted,
    "en_route": en_route,
    "on_site": on_site,
    "completed": completed,
    "declined": declined,
    "expired": expired,
    "queued": queued,
    "cancelled": cancelled,
}

LATER = T0 + timedelta(hours=2)

ACTIONS: dict[str, Callable[[Dispatch], Dispatch]] = {
    "offer": lambda d: offer(d, "w2", now=LATER, deadline=LATER + 60 * S),
    "accept": lambda d: accept(d, d.worker_id or "w1", now=LATER),
    "decline": lambda d: decline(d, d.worker_id or "w1", "busy", now=LATER),
    "expire": lambda d: expire(d, now=LATER),
    "queue": lambda d: queue(d, now=LATER),
    "start": lambda d: start(d, d.worker_id or "w1", now=LATER),
    "arrive": lambda d: arrive(d, nurse(), lat=HOME[0], lon=HOME[1], code="AX-0001", now=LATER),
    "complete": lambda d: complete(d, d.worker_id or "w1", "done", now=LATER),
    "cancel": lambda d: cancel(d, "no longer needed", now=LATER),
    "rate": lambda d: rate(d, 5, now=LATER),
}

ALLOWED: dict[str, set[DispatchStatus]] = {
    "offer": {"pending", "declined", "expired", "queued"},
    "accept": {"offered"},
    "decline": {"offered"},
    "expire": {"offered"},
    "queue": {"pending", "declined", "expired"},
    "start": {"accepted"},
    "arrive": {"accepted", "en_route"},
    "complete": {"on_site"},
    "cancel": {
        "pending",
        "offered",
        "accepted",
        "en_route",
        "on_site",
        "declined",
        "expired",
        "queued",
    },
    "rate": {"completed"},
}

TABLE = [(status, action) for status in STATES for action in ACTIONS]


class TestTransitionTable:
    @pytest.mark.parametrize(("status", "action"), TABLE)
    def test_each_action_from_each_status(self, status: DispatchStatus, action: str) -> None:
        before = STATES[status]()
        assert before.status == status
        if status in ALLOWED[action]:
            after = ACTIONS[action](before)
            assert after.updated_at == LATER
        else:
            with pytest.raises(IllegalDispatchTransition) as caught:
                ACTIONS[action](before)
            assert caught.value.status == status
            assert f"cannot {action}" in str(caught.value)


class TestHappyPath:
    def test_a_new_dispatch_is_pending_and_names_nobody(self) -> None:
        d = fresh()
        assert (d.status, d.worker_id, d.offers) == ("pending", None, ())
        assert d.history[0].status == "pending"
        assert d.first_at("pending") == T0

    def test_every_step_is_timestamped_in_order(self) -> None:
        d = completed()
        assert [step.status for step in d.history] == [
            "pending",
            "offered",
            "accepted",
            "en_route",
            "on_site",
            "completed",
        ]
        times = [step.at for step in d.history]
        assert times == sorted(times)
        assert d.first_at("accepted") == T0 + 10 * S
        assert d.first_at("on_site") == T0 + 600 * S
        assert d.first_at("cancelled") is None

    def test_an_offer_names_its_worker_and_deadline(self) -> None:
        d = offered()
        assert (d.status, d.worker_id) == ("offered", "w1")
        assert d.current_offer is not None
        assert d.current_offer.deadline == T0 + 61 * S
        assert d.tried == {"w1"}

    def test_accepting_closes_the_offer(self) -> None:
        d = accepted()
        assert d.offers[-1].outcome == "accepted"
        assert d.offers[-1].answered_at == T0 + 10 * S
        assert d.current_offer is None
        assert d.worker_id == "w1"

    def test_a_decline_keeps_its_reason_and_frees_the_dispatch(self) -> None:
        d = decline(offered(), "w1", "other", now=T0 + 5 * S, note="car broke down")
        assert (d.status, d.worker_id) == ("declined", None)
        assert (d.offers[-1].outcome, d.offers[-1].reason) == ("declined", "other")
        assert d.offers[-1].note == "car broke down"
        assert (d.history[-1].worker_id, d.history[-1].note) == ("w1", "other")

    def test_declining_as_other_needs_a_note(self) -> None:
        with pytest.raises(ValueError, match="note"):
            decline(offered(), "w1", "other", now=T0 + 5 * S)

    def test_an_unknown_decline_reason_is_refused(self) -> None:
        with pytest.raises(ValueError, match="decline reason"):
            decline(offered(), "w1", "lazy", now=T0 + 5 * S)  # type: ignore[arg-type]

    def test_an_offer_expires_only_at_its_deadline(self) -> None:
        with pytest.raises(IllegalDispatchTransition, match="deadline"):
            expire(offered(), now=T0 + 60 * S)
        d = expire(offered(), now=T0 + 61 * S)
        assert (d.status, d.worker_id, d.offers[-1].outcome) == ("expired", None, "expired")
        assert d.history[-1].worker_id == "w1"  # the step names who let it lapse

    def test_an_answer_after_the_deadline_still_counts_until_the_round_expires_it(self) -> None:
        assert accept(offered(), "w1", now=T0 + 90 * S).status == "accepted"

    def test_a_deadline_must_be_after_the_offer(self) -> None:
        with pytest.raises(ValueError, match="deadline"):
            offer(fresh(), "w1", now=T0 + S, deadline=T0 + S)

    def test_completion_needs_notes(self) -> None:
        with pytest.raises(ValueError, match="notes"):
            complete(on_site(), "w1", "   ", now=T0 + 900 * S)
        assert completed().notes == "Checked vitals; resident comfortable."

    def test_too_long_notes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="2000"):
            complete(on_site(), "w1", "x" * 2001, now=T0 + 900 * S)

    def test_cancelling_withdraws_an_open_offer(self) -> None:
        d = cancel(offered(), "family called it off", now=T0 + 5 * S)
        assert d.status == "cancelled"
        assert d.offers[-1].outcome == "withdrawn"
        assert d.cancel_reason == "family called it off"

    def test_cancelling_needs_a_reason(self) -> None:
        with pytest.raises(ValueError, match="reason"):
            cancel(fresh(), "", now=T0 + S)

    def test_a_family_rates_once(self) -> None:
        d = rate(completed(), 4, now=T0 + 3600 * S)
        assert (d.rating, d.rated_at) == (4, T0 + 3600 * S)
        with pytest.raises(IllegalDispatchTransition, match="already rated"):
            rate(d, 5, now=T0 + 3700 * S)

    @pytest.mark.parametrize("stars", [0, 6, True])
    def test_stars_are_one_to_five(self, stars: int) -> None:
        with pytest.raises(ValueError, match="1 to 5"):
            rate(completed(), stars, now=T0 + 3600 * S)

    def test_a_clock_stepping_back_never_puts_a_step_before_the_last(self) -> None:
        d = accept(offered(), "w1", now=T0 - timedelta(hours=1))
        assert d.history[-1].at == d.history[-2].at == T0 + S

    def test_a_naive_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            queue(fresh(), now=datetime(2026, 11, 23, 8, 0))

    def test_appended_names_the_new_steps(self) -> None:
        before = offered()
        after = accept(before, "w1", now=T0 + 10 * S)
        assert [s.status for s in appended(before, after)] == ["accepted"]
        assert [s.status for s in appended(None, before)] == ["pending", "offered"]

    def test_a_dispatch_with_a_malformed_id_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            fresh(dispatch_id="no spaces please")


class TestWrongWorker:
    @pytest.mark.parametrize(
        "act",
        [
            lambda d: accept(d, "w9", now=LATER),
            lambda d: decline(d, "w9", "busy", now=LATER),
        ],
    )
    def test_only_the_offered_worker_may_answer(self, act: Callable[[Dispatch], Dispatch]) -> None:
        with pytest.raises(WrongWorker, match="w9"):
            act(offered())

    def test_only_the_holder_may_start_or_complete(self) -> None:
        with pytest.raises(WrongWorker):
            start(accepted(), "w9", now=LATER)
        with pytest.raises(WrongWorker):
            complete(on_site(), "w9", "done", now=LATER)


class TestArrival:
    def test_arriving_from_accepted_also_counts(self) -> None:
        d = arrive(accepted(), nurse(), lat=HOME[0], lon=HOME[1], code="AX-0001", now=LATER)
        assert d.status == "on_site"

    def test_the_check_in_is_kept_with_its_distance(self) -> None:
        lat, lon = north(150)
        d = arrive(en_route(), nurse(), lat=lat, lon=lon, code="AX-0001", now=LATER)
        assert d.check_in is not None
        assert d.check_in.distance_m == pytest.approx(150, abs=0.01)

    @pytest.mark.parametrize("metres", [201.0, 950.0])
    def test_too_far_from_the_home_is_refused(self, metres: float) -> None:
        lat, lon = north(metres)
        with pytest.raises(CheckInRejected, match="check in within 200 m") as caught:
            arrive(en_route(), nurse(), lat=lat, lon=lon, code="AX-0001", now=LATER)
        assert caught.value.reason == "too_far"

    def test_just_inside_200_m_is_accepted(self) -> None:
        lat, lon = north(199.5)
        assert arrive(en_route(), nurse(), lat=lat, lon=lon, code="AX-0001", now=LATER).status == (
            "on_site"
        )

    @pytest.mark.parametrize("code", ["AX-0002", "", "ax-0001", "AX-00011"])
    def test_a_code_that_is_not_the_workers_own_is_refused(self, code: str) -> None:
        with pytest.raises(CheckInRejected, match="credential code") as caught:
            arrive(en_route(), nurse(), lat=HOME[0], lon=HOME[1], code=code, now=LATER)
        assert caught.value.reason == "wrong_code"

    def test_another_workers_own_code_does_not_check_in_the_holder(self) -> None:
        other = nurse("w2", code="AX-0002")
        with pytest.raises(WrongWorker):
            arrive(en_route(), other, lat=HOME[0], lon=HOME[1], code="AX-0002", now=LATER)

    @pytest.mark.parametrize(("lat", "lon"), [(91.0, 0.0), (math.nan, 113.0)])
    def test_a_check_in_off_the_globe_is_refused(self, lat: float, lon: float) -> None:
        with pytest.raises(ValidationError):
            arrive(en_route(), nurse(), lat=lat, lon=lon, code="AX-0001", now=LATER)
