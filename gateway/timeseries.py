"""The time-series store as the gateway and API see it, whatever serves it.

Writes are InfluxDB line protocol (nanosecond precision) so that the same
bytes go to InfluxDB 1.x/2.x/3.x, to the on-disk spool, and to the embedded
store; reads are a small typed query surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class TimeSeriesUnavailable(Exception):
    """The store did not take a write (down, timing out, refusing); retrying may help."""


class TimeSeriesRejected(Exception):
    """The store refused the data itself (HTTP 400): retrying the same lines cannot help."""


class SeriesPoint(BaseModel):
    """One stored point (or one aggregation window) of one measurement."""

    model_config = ConfigDict(frozen=True)

    time: datetime
    tags: dict[str, str]
    fields: dict[str, float | int | bool | str | None]


class LineWriter(Protocol):
    async def write(self, lines: Sequence[str]) -> None:
        """Store the lines or raise TimeSeriesUnavailable / TimeSeriesRejected."""
        ...

    async def aclose(self) -> None: ...


class TimeSeriesReader(Protocol):
    async def latest(self, home_id: str) -> dict[str, SeriesPoint]:
        """The newest point of each measurement (telemetry type) for a home."""
        ...

    async def series(
        self,
        home_id: str,
        measurement: str,
        *,
        since: datetime,
        until: datetime,
        every: timedelta | None = None,
    ) -> list[SeriesPoint]:
        """Points in [since, until), or per-window means (numeric fields) when `every` is set."""
        ...

    async def count(self, measurement: str) -> int:
        """How many points a measurement holds (all homes): for checks and benchmarks."""
        ...
