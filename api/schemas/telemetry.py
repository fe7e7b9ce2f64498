"""What a telemetry query may ask for: a bounded span, and a bounded number of windows.

A query's cost is its span over its window; unbounded, one request could make
the time-series store scan or return years of raw readings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

EVERY_PATTERN: Final = r"^[1-9][0-9]{0,5}[smhd]$"
"""`30s`, `5m`, `1h`, `1d`: a positive count of one unit."""

DEFAULT_SPAN: Final = timedelta(hours=24)
MAX_SPAN: Final = timedelta(days=400)
MAX_RAW_SPAN: Final = timedelta(days=7)
"""Without `every`, every reading is returned: at most a week of them."""
MAX_WINDOW: Final = timedelta(days=31)
MAX_WINDOWS: Final = 10_000

EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)
"""Times outside these are mistakes, and outside what the stores count in nanoseconds."""

_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class TelemetryWindow:
    since: datetime
    until: datetime
    every: timedelta | None


def parse_every(text: str) -> timedelta:
    """`5m` -> 5 minutes; ValueError for anything else."""
    if not re.fullmatch(EVERY_PATTERN, text):
        raise ValueError("every must be a positive count and a unit: 30s, 5m, 1h or 1d")
    return timedelta(**{_UNITS[text[-1]]: int(text[:-1])})


def telemetry_window(
    since: datetime | None, until: datetime | None, every: str | None, *, now: datetime
) -> TelemetryWindow:
    """The span and window asked for, with defaults (the last 24 h); ValueError, naming
    the problem, when it is empty, too long or cut into too many windows."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and not EARLIEST <= moment <= LATEST:
            raise ValueError(f"{name} must fall between 1970 and 2200")
    end = until if until is not None else now
    start = since if since is not None else end - DEFAULT_SPAN
    if start >= end:
        raise ValueError("since must be before until")
    span = end - start
    if span > MAX_SPAN:
        raise ValueError(f"the span may be at most {MAX_SPAN.days} days")
    if every is None:
        if span > MAX_RAW_SPAN:
            raise ValueError(
                f"without every, the span may be at most {MAX_RAW_SPAN.days} days;"
                " aggregate longer spans (every=1h)"
            )
        return TelemetryWindow(start, end, None)
    window = parse_every(every)
    if window > MAX_WINDOW:
        raise ValueError(f"every may be at most {MAX_WINDOW.days} days")
    if span / window > MAX_WINDOWS:
        raise ValueError(
            f"{span} cut into {every} windows is over {MAX_WINDOWS:,} windows; widen every"
        )
    return TelemetryWindow(start, end, window)
