"""What the activity rules share: what counts as activity, and home-local hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from devices.events import Reading
from devices.types.bed import BedTelemetry
from devices.types.door import DoorTelemetry
from devices.types.motion import MotionTelemetry
from devices.types.power import PowerTelemetry
from processors.detection import Evidence
from processors.detector import HomeContext


def is_activity(reading: Reading) -> bool:
    """Someone is up and about: motion seen, any door or bed change."""
    telemetry = reading.telemetry
    if isinstance(telemetry, MotionTelemetry):
        return telemetry.data.motion
    return isinstance(telemetry, DoorTelemetry | BedTelemetry)


def is_stove_on(reading: Reading, home: HomeContext) -> bool | None:
    """True/False for a stove plug's switch state; None for any other reading."""
    telemetry = reading.telemetry
    if not isinstance(telemetry, PowerTelemetry):
        return None
    profile = home.devices.get(reading.device_id)
    names = {telemetry.data.appliance, reading.appliance, profile.appliance if profile else None}
    return telemetry.data.on if "stove" in names else None


def in_local_hours(ts: datetime, start: time, end: time, zone: ZoneInfo) -> bool:
    """Whether `ts` falls in [start, end) home-local; a window with start > end spans midnight."""
    local = ts.astimezone(zone).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


@lru_cache(maxsize=4096)
def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time on a local date."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def evidence_values(data: BaseModel) -> dict[str, float | bool | str | None]:
    """`data.model_dump()` as `Evidence.values` validates it (ints become floats)."""
    return {
        key: float(value) if type(value) is int else value
        for key, value in data.model_dump().items()
    }


ModelT = TypeVar("ModelT", bound=BaseModel)
_set = object.__setattr__


def construct(cls: type[ModelT], fields: dict[str, Any]) -> ModelT:
    """A model from already-valid values for EVERY field, without validation.

    Equal to, and serialising like, the validated model; much cheaper than
    `model_construct` (which also fills defaults).
    """
    obj = cls.__new__(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", set(fields))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def make_evidence(
    device_id: str,
    type_: str,
    ts: datetime,
    seq: int | None,
    values: dict[str, float | bool | str | None],
) -> Evidence:
    """An `Evidence` from already-valid parts, without re-validating them."""
    return construct(
        Evidence, {"device_id": device_id, "type": type_, "ts": ts, "seq": seq, "values": values}
    )


def fast_evidence_of(reading: Reading) -> Evidence:
    """`evidence_of(reading)`, equal to it, built without validation."""
    telemetry = reading.telemetry
    return construct(
        Evidence,
        {
            "device_id": reading.device_id,
            "type": telemetry.type,
            "ts": telemetry.ts,
            "seq": telemetry.seq,
            "values": evidence_values(telemetry.data),
        },
    )


def replace(model: ModelT, update: dict[str, Any]) -> ModelT:
    """`model.model_copy(update=update)`, equal to it, built more cheaply."""
    return construct(type(model), {**model.__dict__, **update})
