"""Service levels: durations from step times, shares against the telecare targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.dispatches import accept, arrive, new_dispatch, offer, start
from alerts.sla import (
    AlertTimes,
    DispatchTimes,
    SlaReport,
    TargetResult,
    judged,
    percentile,
    sla_report,
)
from alerts.workers import Worker

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
SINCE, UNTIL = T0, T0 + timedelta(days=1)


def alarm(n: int, ack_s: float | None, severity: str = "critical", **times: Any) -> AlertTimes:
    opened = T0 + n * MIN
    return AlertTimes(
        alert_id=f"a{n}",
        severity=severity,
        opened_at=opened,
        acknowledged_at=None if ack_s is None else opened + ack_s * S,
        **times,
    )


def response(n: int, on_site_min: float | None, **changes: Any) -> DispatchTimes:
    opened = T0 + n * MIN
    fields: dict[str, Any] = {
        "dispatch_id": f"d{n}",
        "alert_id": f"a{n}",
        "origin": "automatic",
        "severity": "critical",
        "created_at": opened + 5 * S,
        "alert_opened_at": opened,
        "accepted_at": opened + 40 * S,
        "on_site_at": None if on_site_min is None else opened + on_site_min * MIN,
    }
    fields.update(changes)
    return DispatchTimes(**fields)


def target(report: SlaReport, key: str) -> TargetResult:
    return next(t for t in report.targets if t.key == key)


class TestPercentile:
    @pytest.mark.parametrize(
        ("values", "q", "expected"),
        [
            ([5.0], 0.5, 5.0),
            ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
            ([1.0, 2.0, 3.0, 4.0], 0.9, 4.0),
            ([4.0, 1.0, 3.0, 2.0], 1.0, 4.0),
            (list(map(float, range(1, 101))), 0.9, 90.0),
            ([], 0.5, None),
        ],
    )
    def test_nearest_rank(self, values: list[float], q: float, expected: float | None) -> None:
        assert percentile(values, q) == expected

    @pytest.mark.parametrize("q", [0.0, 1.5, -0.1])
    def test_a_quantile_outside_0_1_is_refused(self, q: float) -> None:
        with pytest.raises(ValueError, match="q must"):
            percentile([1.0], q)


class TestJudged:
    LIMIT = timedelta(seconds=60)

    @pytest.mark.parametrize(
        ("done", "cancelled", "as_of", "verdict"),
        [
            (60, None, 1000, True),
            (61, None, 1000, False),
            (None, None, 1000, False),  # never answered, long past the limit
            (None, None, 30, None),  # not answered yet, still within the limit
            (None, 20, 1000, None),  # resident cancelled before anyone needed to answer
            (None, 90, 1000, False),  # cancelled after a minute of nobody answering
            (None, None, 60, False),  # exactly at the limit, unanswered: missed
        ],
    )
    def test_verdicts(
        self, done: int | None, cancelled: int | None, as_of: int, verdict: bool | None
    ) -> None:
        at = {k: None if v is None else T0 + v * S for k, v in (("d", done), ("c", cancelled))}
        assert judged(T0, at["d"], at["c"], self.LIMIT, T0 + as_of * S) is verdict


class TestAnswering:
    def test_shares_within_60_and_180_s_against_their_targets(self) -> None:
        alerts = [alarm(i, 30) for i in range(36)] + [
            alarm(40, 90),
            alarm(41, 200),
            alarm(42, None),
        ]
        report = sla_report(alerts, [], since=SINCE, until=UNTIL)
        sixty, three_min = target(report, "answered_60s"), target(report, "answered_180s")
        assert (sixty.counted, sixty.within, sixty.target_share) == (39, 36, 0.975)
        assert sixty.share == pytest.approx(36 / 39)
        assert sixty.met is False
        assert (three_min.within, three_min.target_share, three_min.met) == (37, 0.99, False)

    def test_all_answered_within_a_minute_meets_both(self) -> None:
        report = sla_report([alarm(i, 10 + i) for i in range(40)], [], since=SINCE, until=UNTIL)
        assert target(report, "answered_60s").met is True
        assert target(report, "answered_180s").met is True

    def test_medium_and_low_alerts_are_not_alarms(self) -> None:
        alerts = [alarm(1, 10, "high"), alarm(2, 4000, "medium"), alarm(3, None, "low")]
        report = sla_report(alerts, [], since=SINCE, until=UNTIL)
        assert report.alarms == 1
        assert target(report, "answered_60s").counted == 1
        assert report.time_to_acknowledge.max_s == 10

    def test_only_alarms_opened_in_the_window_count(self) -> None:
        alerts = [alarm(-5, 500), alarm(1, 10), alarm(24 * 60, 500)]
        report = sla_report(alerts, [], since=SINCE, until=UNTIL)
        assert report.alarms == 1

    def test_an_alarm_still_young_at_as_of_is_not_yet_counted(self) -> None:
        report = sla_report([alarm(0, None)], [], since=SINCE, until=UNTIL, as_of=T0 + 100 * S)
        assert target(report, "answered_60s").counted == 1  # 100 s old: missed 60 s
        assert target(report, "answered_180s").counted == 0  # not yet 180 s
        assert target(report, "answered_180s").met is None

    def test_durations_of_acknowledge_and_resolve(self) -> None:
        alerts = [
            alarm(i, ack, resolved_at=T0 + i * MIN + timedelta(minutes=30))
            for i, ack in enumerate([10, 20, 30, 40, 200])
        ]
        report = sla_report(alerts, [], since=SINCE, until=UNTIL)
        ack = report.time_to_acknowledge
        assert (ack.count, ack.p50_s, ack.p90_s, ack.max_s) == (5, 30, 200, 200)
        assert report.time_to_resolve.p50_s == 1800

    def test_an_empty_window_has_no_verdicts(self) -> None:
        report = sla_report([], [], since=SINCE, until=UNTIL)
        assert all(t.met is None and t.share is None for t in report.targets)
        assert report.time_to_arrive.p50_s is None

    def test_a_backwards_window_is_refused(self) -> None:
        with pytest.raises(ValueError, match="after"):
            sla_report([], [], since=UNTIL, until=SINCE)


class TestAttendance:
    def test_shares_within_45_and_60_min(self) -> None:
        dispatches = [response(i, 20) for i in range(9)] + [response(20, 50)]
        report = sla_report([], dispatches, since=SINCE, until=UNTIL)
        forty_five, sixty = target(report, "attended_45min"), target(report, "attended_60min")
        assert (forty_five.within, forty_five.counted, forty_five.met) == (9, 10, True)
        assert (sixty.within, sixty.target_share, sixty.met) == (10, 1.0, True)

    def test_one_attendance_over_an_hour_fails_all_within_60(self) -> None:
        dispatches = [response(i, 20) for i in range(50)] + [response(60, 61)]
        report = sla_report([], dispatches, since=SINCE, until=UNTIL)
        assert target(report, "attended_60min").met is False
        assert target(report, "attended_45min").met is True

    def test_attendance_is_timed_from_the_call_to_the_first_worker_on_site(self) -> None:
        first = response(1, None, dispatch_id="d1", cancelled_at=T0 + 10 * MIN)
        second = response(1, 30, dispatch_id="d2", created_at=T0 + 11 * MIN)
        report = sla_report([], [first, second], since=SINCE, until=UNTIL)
        assert report.time_to_arrive.count == 1
        assert report.time_to_arrive.p50_s == 30 * 60
        assert target(report, "attended_45min").counted == 1

    def test_time_to_accept_is_from_the_dispatch_being_created(self) -> None:
        report = sla_report([], [response(1, 20)], since=SINCE, until=UNTIL)
        assert report.time_to_accept.p50_s == 35

    def test_bookings_are_not_responses(self) -> None:
        booked = response(1, 500, origin="booking", alert_id=None, alert_opened_at=None)
        report = sla_report([], [booked], since=SINCE, until=UNTIL)
        assert target(report, "attended_60min").counted == 0

    def test_an_unattended_alarm_past_an_hour_is_a_miss(self) -> None:
        report = sla_report([], [response(1, None)], since=SINCE, until=UNTIL)
        assert target(report, "attended_60min").within == 0
        assert target(report, "attended_60min").counted == 1

    def test_a_dispatch_without_an_alert_is_timed_from_its_creation(self) -> None:
        made = response(1, 40, alert_id=None, alert_opened_at=None)
        report = sla_report([], [made], since=SINCE, until=UNTIL)
        assert report.time_to_arrive.p50_s == 40 * 60 - 5


class TestFromADispatch:
    def test_times_come_from_the_dispatch_history(self) -> None:
        worker = Worker(
            worker_id="w1",
            name="N",
            skills=frozenset({"medical"}),
            credential_code="AX-0001",
            credential_expires=T0.date(),
            lat=22.52,
            lon=113.39,
            on_shift=True,
        )
        d = new_dispatch(
            dispatch_id="d1",
            home_id="h1",
            lat=22.52,
            lon=113.39,
            service="medical",
            severity="critical",
            origin="automatic",
            now=T0,
            alert_id="a1",
        )
        d = offer(d, "w1", now=T0 + S, deadline=T0 + 61 * S)
        d = accept(d, "w1", now=T0 + 30 * S)
        d = start(d, "w1", now=T0 + 40 * S)
        d = arrive(d, worker, lat=22.52, lon=113.39, code="AX-0001", now=T0 + 20 * MIN)
        times = DispatchTimes.of(d, alert_opened_at=T0 - 10 * S)
        assert (times.accepted_at, times.on_site_at, times.completed_at) == (
            T0 + 30 * S,
            T0 + 20 * MIN,
            None,
        )
        report = sla_report([], [times], since=SINCE - MIN, until=UNTIL)
        assert report.time_to_arrive.p50_s == 20 * 60 + 10
