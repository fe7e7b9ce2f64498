"""Fields every telemetry message carries, and the rules for its timestamp."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Home, device, worker and name ids (CONTRACT §1); also safe as InfluxDB tag values."""

Name = Annotated[str, Field(pattern=ID_PATTERN)]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(value: str) -> str:
    # Membership, not ZoneInfo(value): nothing a client sends reaches a file path.
    if value not in _zones():
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)")
    return value


IanaZone = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]
"""An IANA zone name the tz database knows (`Asia/Shanghai`, `UTC`): homes' local hours."""

# Epoch milliseconds outside year 2000..2200 are far more likely a unit mistake
# (seconds or microseconds) than a real reading.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 7_258_118_400_000


def _parse_timestamp(value: Any) -> datetime:
    """Accept RFC 3339 with an explicit offset, or integer epoch milliseconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("ts needs a UTC offset")
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueError("ts must be RFC 3339 text or integer epoch milliseconds")
    if isinstance(value, int):
        if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
            raise ValueError("ts epoch milliseconds out of range (years 2000-2200)")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("ts is too long for RFC 3339")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("ts is not RFC 3339") from None
        if parsed.tzinfo is None:
            raise ValueError("ts needs a UTC offset (Z or +hh:mm)")
        if not 2000 <= parsed.year <= 2200:
            raise ValueError("ts year out of range (2000-2200)")
        return parsed.astimezone(UTC)
    raise ValueError("ts must be RFC 3339 text or integer epoch milliseconds")


Timestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]


class Envelope(BaseModel):
    """The part of a telemetry message that is the same for every type."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    ts: Timestamp = Field(description="when the device took the reading (UTC once parsed)")
    seq: int = Field(ge=0, le=2**63 - 1, description="per-device counter, increasing while it runs")
    battery: float | None = Field(default=None, ge=0, le=100, description="battery, percent")


class Data(BaseModel):
    """Base of every type's `data` object."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
