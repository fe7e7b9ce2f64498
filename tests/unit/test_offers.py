"""The offer round, driven by an injected clock: deadlines, the next worker, the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerts.dispatches import Dispatch, accept, cancel, decline, new_dispatch
from alerts.offers import (
    OfferTimeouts,
    OfferTo,
    Queued,
    Settled,
    WaitUntil,
    advance,
    due,
)
from processors.detection import Severity

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)


class Clock:
    """The test's clock: the round only ever sees the `now` it is given."""

    def __init__(self) -> None:
        self.now = T0

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def fresh(severity: Severity = "critical") -> Dispatch:
    return new_dispatch(
        dispatch_id="d1",
        home_id="h1",
        lat=22.52,
        lon=113.39,
        service="medical",
        severity=severity,
        origin="automatic",
        now=T0,
    )


class TestTimeouts:
    @pytest.mark.parametrize(
        ("severity", "seconds"), [("critical", 60), ("high", 300), ("medium", 300), ("low", 300)]
    )
    def test_the_first_offer_waits_by_severity(self, severity: Severity, seconds: int) -> None:
        dispatch, decision = advance(fresh(severity), ["w1", "w2"], now=T0)
        assert decision == OfferTo("w1", T0 + seconds * S)
        assert dispatch.status == "offered"
        assert dispatch.worker_id == "w1"

    def test_timeouts_are_configurable(self) -> None:
        timeouts = OfferTimeouts(critical_s=30, other_s=120)
        _, decision = advance(fresh("high"), ["w1"], now=T0, timeouts=timeouts)
        assert decision == OfferTo("w1", T0 + 120 * S)

    @pytest.mark.parametrize("changes", [{"critical_s": 0}, {"other_s": -1}, {"other_s": 10**9}])
    def test_bad_timeouts_are_refused(self, changes: dict[str, float]) -> None:
        with pytest.raises(ValidationError):
            OfferTimeouts(**changes)


class TestRound:
    def test_before_the_deadline_it_keeps_waiting(self) -> None:
        clock = Clock()
        dispatch, _ = advance(fresh(), ["w1", "w2"], now=clock.now)
        dispatch, decision = advance(dispatch, ["w1", "w2"], now=clock.advance(59.999))
        assert decision == WaitUntil(T0 + 60 * S)
        assert dispatch.worker_id == "w1"
        assert not due(dispatch, clock.now)

    def test_at_the_deadline_it_expires_and_offers_the_next(self) -> None:
        clock = Clock()
        dispatch, _ = advance(fresh(), ["w1", "w2"], now=clock.now)
        assert due(dispatch, clock.advance(60))
        dispatch, decision = advance(dispatch, ["w2"], now=clock.now)
        assert decision == OfferTo("w2", clock.now + 60 * S)
        assert [(o.worker_id, o.outcome) for o in dispatch.offers] == [
            ("w1", "expired"),
            ("w2", "pending"),
        ]
        assert [s.status for s in dispatch.history] == ["pending", "offered", "expired", "offered"]

    def test_a_decline_goes_to_the_next_worker_at_once(self) -> None:
        clock = Clock()
        dispatch, _ = advance(fresh("medium"), ["w1", "w2"], now=clock.now)
        dispatch = decline(dispatch, "w1", "busy", now=clock.advance(20))
        assert due(dispatch, clock.now)
        dispatch, decision = advance(dispatch, ["w1", "w2"], now=clock.now)
        assert decision == OfferTo("w2", clock.now + 300 * S)

    def test_workers_who_declined_or_let_it_expire_are_not_asked_again(self) -> None:
        clock = Clock()
        dispatch, _ = advance(fresh(), ["a", "b", "c"], now=clock.now)
        dispatch = decline(dispatch, "a", "busy", now=clock.advance(5))
        dispatch, _ = advance(dispatch, ["a", "b", "c"], now=clock.now)  # b
        dispatch, decision = advance(dispatch, ["b", "a", "c"], now=clock.advance(60))
        assert decision == OfferTo("c", clock.now + 60 * S)  # b expired, a declined

    def test_with_no_one_left_it_goes_to_the_dispatcher_queue(self) -> None:
        clock = Clock()
        dispatch, _ = advance(fresh(), ["w1"], now=clock.now)
        dispatch, decision = advance(dispatch, ["w1"], now=clock.advance(60))
        assert decision == Queued()
        assert (dispatch.status, dispatch.worker_id) == ("queued", None)
        assert dispatch.first_at("queued") == clock.now

    def test_with_no_eligible_worker_at_all_it_is_queued_at_once(self) -> None:
        dispatch, decision = advance(fresh(), [], now=T0)
        assert decision == Queued()
        assert dispatch.status == "queued"

    def test_a_queued_dispatch_stays_with_the_dispatchers(self) -> None:
        dispatch, _ = advance(fresh(), [], now=T0)
        again, decision = advance(dispatch, ["w7"], now=T0 + S)
        assert decision == Settled()
        assert again == dispatch
        assert not due(dispatch, T0 + S)

    def test_an_accepted_dispatch_is_settled(self) -> None:
        dispatch, _ = advance(fresh(), ["w1"], now=T0)
        dispatch = accept(dispatch, "w1", now=T0 + 10 * S)
        assert advance(dispatch, ["w2"], now=T0 + 600 * S) == (dispatch, Settled())

    def test_a_cancelled_dispatch_is_settled(self) -> None:
        dispatch = cancel(fresh(), "cleared", now=T0)
        assert advance(dispatch, ["w1"], now=T0 + S)[1] == Settled()

    def test_duplicates_in_the_ranking_are_asked_once(self) -> None:
        clock = Clock()
        dispatch, _ = advance(fresh(), ["w1", "w1"], now=clock.now)
        dispatch, decision = advance(dispatch, ["w1", "w1"], now=clock.advance(60))
        assert decision == Queued()

    def test_a_whole_round_walks_the_ranking_then_queues(self) -> None:
        clock = Clock()
        ranking = ["a", "b", "c"]
        dispatch = fresh()
        asked = []
        decision: object = None
        for _ in range(10):
            dispatch, decision = advance(dispatch, ranking, now=clock.now)
            if isinstance(decision, OfferTo):
                asked.append((decision.worker_id, clock.now - T0))
                clock.now = decision.deadline
            else:
                break
        assert asked == [("a", 0 * S), ("b", 60 * S), ("c", 120 * S)]
        assert decision == Queued()
        assert dispatch.first_at("queued") == T0 + 180 * S

    def test_a_late_timer_expires_the_offer_at_the_time_it_fires(self) -> None:
        dispatch, _ = advance(fresh(), ["w1"], now=T0)
        dispatch, _ = advance(dispatch, [], now=T0 + 75 * S)
        assert dispatch.offers[0].answered_at == T0 + 75 * S
