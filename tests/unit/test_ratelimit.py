"""The per-recipient rate limiter: bursts, refill, critical never suppressed, bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.notifiers.ratelimit import RateLimiter, RatePolicy

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = RatePolicy(burst=3, per=timedelta(minutes=3))  # a token a minute


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class TestRateLimiter:
    def test_a_burst_goes_then_the_rest_is_suppressed_and_counted(self) -> None:
        limiter = RateLimiter(POLICY)
        admitted = [limiter.admit("family:f1", "high", T0) for _ in range(5)]
        assert admitted == [True, True, True, False, False]
        assert limiter.suppressed["family:f1"] == 2
        assert limiter.suppressed_total == 2

    def test_recipients_have_their_own_buckets(self) -> None:
        limiter = RateLimiter(POLICY)
        for _ in range(3):
            limiter.admit("family:f1", "high", T0)
        assert limiter.admit("family:f2", "high", T0)
        assert not limiter.admit("family:f1", "high", T0)

    def test_tokens_refill_with_time(self) -> None:
        limiter = RateLimiter(POLICY)
        for _ in range(3):
            limiter.admit("family:f1", "medium", T0)
        assert not limiter.admit("family:f1", "medium", at(59))
        assert limiter.admit("family:f1", "medium", at(60))
        assert not limiter.admit("family:f1", "medium", at(61))

    def test_critical_always_goes_through_and_spends_a_token(self) -> None:
        limiter = RateLimiter(POLICY)
        assert all(limiter.admit("dispatcher:d1", "critical", T0) for _ in range(10))
        assert limiter.suppressed_total == 0
        assert not limiter.admit("dispatcher:d1", "low", T0)  # the burst was spent

    def test_exempt_notifications_always_go_through(self) -> None:
        limiter = RateLimiter(POLICY)
        assert all(limiter.admit("worker:w1", "low", T0, exempt=True) for _ in range(10))

    def test_a_clock_stepping_back_refills_nothing(self) -> None:
        limiter = RateLimiter(POLICY)
        for _ in range(3):
            limiter.admit("family:f1", "high", at(600))
        assert not limiter.admit("family:f1", "high", at(0))

    def test_refilled_buckets_are_forgotten_without_changing_decisions(self) -> None:
        limiter = RateLimiter(RatePolicy(burst=2, per=timedelta(minutes=2), prune_above=10))
        for n in range(10):
            limiter.admit(f"family:f{n}", "high", T0)
        limiter.admit("family:busy", "high", at(200))
        limiter.admit("family:busy", "high", at(200))
        assert len(limiter) == 1  # the ten early ones had refilled
        assert not limiter.admit("family:busy", "high", at(200))
        assert limiter.admit("family:f0", "high", at(200))
