"""Per-recipient rate limiting, pure: a token bucket per recipient, time passed in.

A family member's phone or a pager must not get a message a second while a sensor
flaps; but a critical alert always goes through (it still spends a token, so the flood
that follows it is held back). A full bucket is the same as a fresh one, so buckets that
refilled are forgotten without changing any decision: memory follows the recipients
recently told, not every recipient ever.

Defaults: a burst of 5, refilled at 5 per 10 minutes (one every 2 minutes sustained).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from processors.detection import Severity


class RatePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    burst: int = Field(default=5, ge=1, description="messages a recipient may get at once")
    per: timedelta = Field(
        default=timedelta(minutes=10), description="time in which `burst` tokens refill"
    )
    prune_above: int = Field(default=10_000, ge=1, description="buckets held before pruning")

    @property
    def refill_per_second(self) -> float:
        return self.burst / self.per.total_seconds()


class RateLimiter:
    """Decides, per recipient, whether a notification may go now; counts what it held back."""

    def __init__(self, policy: RatePolicy | None = None) -> None:
        self.policy = RatePolicy() if policy is None else policy
        self._buckets: dict[str, tuple[float, datetime]] = {}
        self._prune_at = self.policy.prune_above
        self.suppressed: Counter[str] = Counter()
        """Notifications held back, per recipient key."""

    @property
    def suppressed_total(self) -> int:
        return self.suppressed.total()

    def admit(
        self, recipient: str, severity: Severity, now: datetime, *, exempt: bool = False
    ) -> bool:
        """True if a notification to `recipient` may go at `now`; critical and `exempt`
        ones always may."""
        tokens = self._tokens(recipient, now)
        admitted = tokens >= 1
        self._buckets[recipient] = (tokens - 1 if admitted else tokens, now)
        if len(self._buckets) > self._prune_at:
            self._prune(now)
        if admitted:
            return True
        if severity == "critical" or exempt:
            return True
        self.suppressed[recipient] += 1
        return False

    def _tokens(self, recipient: str, now: datetime) -> float:
        held = self._buckets.get(recipient)
        if held is None:
            return float(self.policy.burst)
        tokens, since = held
        elapsed = max((now - since).total_seconds(), 0.0)  # a clock stepping back adds none
        return min(float(self.policy.burst), tokens + elapsed * self.policy.refill_per_second)

    def _prune(self, now: datetime) -> None:
        """Forget refilled buckets; if most are still busy, wait for twice as many before
        the next pass, so pruning costs O(1) per decision on average."""
        full = [key for key in self._buckets if self._tokens(key, now) >= self.policy.burst]
        for key in full:
            del self._buckets[key]
        self._prune_at = max(self.policy.prune_above, 2 * len(self._buckets))

    def __len__(self) -> int:
        """Buckets held (recipients told recently)."""
        return len(self._buckets)
