"""A `Reading` as one InfluxDB line-protocol line: the only place the schema is written.

| measurement   | tags from data | fields (f: float, b: bool, s: string)                  |
|---------------|----------------|--------------------------------------------------------|
| `vitals`      |                | `heart_rate` `resp_rate` `spo2` `systolic_bp`          |
|               |                | `diastolic_bp` `temperature` (f), `on_oxygen` (b),     |
|               |                | `consciousness` (s: `A` `C` `V` `P` `U`)               |
| `fall`        |                | `confidence` (f)                                       |
| `sos`         |                | `action` (s: `press` `cancel`)                         |
| `motion`      | `room`         | `motion` (b)                                           |
| `door`        | `door`         | `open` (b)                                             |
| `bed`         |                | `occupied` (b)                                         |
| `power`       | `appliance`    | `watts` (f), `on` (b)                                  |
| `leak`        |                | `wet` (b)                                              |
| `smoke`       |                | `alarm` (b), `co_ppm` (f)                              |
| `environment` | `room`         | `temperature` `humidity` (f)                           |
| `heartbeat`   |                | `rssi` (f), `firmware` (s)                             |
| every one     |                | `seq` (integer, `seq=1042i`), `battery` (f) when sent  |

Tags: every point has `home_id` and `device_id`, and `room` and `appliance`
from the device's registration (`Reading.room`, `Reading.appliance`) when
set; a tag taken from the data (column two) replaces the registered one.

A data field that is null is left out. Numbers in data are always written as
floats, so a field's type never changes between points (InfluxDB refuses a
point whose field type conflicts). The timestamp is the device's `ts` in
integer nanoseconds (precision `ns`).

Tags and fields are written sorted by key, as InfluxDB stores them and as
influxdb-client's `Point` writes them; `tests/unit/test_points.py` holds this
module to `Point.to_line_protocol()` for every contract sample. Because tags
identify a series, a redelivered reading (same device, same `ts`) lands on the
same point and overwrites it instead of adding one.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from devices.events import Reading
from devices.telemetry import TELEMETRY_TYPES, Telemetry
from gateway.timeseries import SeriesPoint

FieldKind = Literal["float", "int", "bool", "str"]

TAG_KEYS: Final = ("appliance", "device_id", "door", "home_id", "room")
"""Every tag key the schema uses, sorted."""

_DATA_TAGS: Final = frozenset({"room", "door", "appliance"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_FLOAT, _BOOL, _STR, _INT = 0, 1, 2, 3
_KIND_NAMES: Final[tuple[FieldKind, ...]] = ("float", "bool", "str", "int")


def _kind_of(annotation: object) -> int:
    """Line-protocol kind of one pydantic field annotation (`float | None` -> float)."""
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = [arg for arg in get_args(annotation) if arg is not type(None)]
    if annotation is bool:
        return _BOOL
    if annotation in (float, int):
        return _FLOAT
    if annotation is str or get_origin(annotation) is Literal:
        return _STR
    raise TypeError(f"no line-protocol kind for {annotation!r}")


class _Plan:
    """What `to_line` needs to know about one telemetry type, worked out once."""

    __slots__ = ("data_tags", "fields", "measurement")

    def __init__(self, measurement: str, data_model: type[BaseModel]) -> None:
        self.measurement = measurement
        self.data_tags = frozenset(_DATA_TAGS & data_model.model_fields.keys())
        fields: list[tuple[str, bool, int]] = [
            (name, True, _kind_of(info.annotation))
            for name, info in data_model.model_fields.items()
            if name not in _DATA_TAGS
        ]
        fields += [("battery", False, _FLOAT), ("seq", False, _INT)]
        # (key, taken from data rather than the envelope, kind), in key order.
        self.fields: tuple[tuple[str, bool, int], ...] = tuple(sorted(fields))


def _plans() -> dict[str, _Plan]:
    plans: dict[str, _Plan] = {}
    (union,) = get_args(Telemetry)[:1]
    for model in get_args(union):
        (measurement,) = get_args(model.model_fields["type"].annotation)
        plans[measurement] = _Plan(measurement, model.model_fields["data"].annotation)
    if sorted(plans) != sorted(TELEMETRY_TYPES):
        raise RuntimeError("the Telemetry union and TELEMETRY_TYPES disagree")
    return plans


_PLANS: Final = _plans()

FIELD_KINDS: Final[Mapping[str, Mapping[str, FieldKind]]] = {
    measurement: {key: _KIND_NAMES[kind] for key, _, kind in plan.fields}
    for measurement, plan in _PLANS.items()
}
"""measurement -> field key -> its line-protocol type: how readers restore types."""

MEASUREMENTS: Final[tuple[str, ...]] = tuple(TELEMETRY_TYPES)


def time_ns(moment: datetime) -> int:
    """An aware datetime as integer nanoseconds since the epoch (exact, no float)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def to_line(reading: Reading) -> str:
    """The line-protocol line storing `reading` (see the module docstring for the schema)."""
    telemetry = reading.telemetry
    data = telemetry.data
    plan = _PLANS[telemetry.type]
    data_tags = plan.data_tags
    # Tag values are ids (`^[A-Za-z0-9_-]{1,64}$`): nothing in them needs escaping.
    appliance = data.appliance if "appliance" in data_tags else reading.appliance  # type: ignore[union-attr]
    door = data.door if "door" in data_tags else None  # type: ignore[union-attr]
    room = data.room if "room" in data_tags else reading.room  # type: ignore[union-attr]
    parts = [plan.measurement]
    if appliance is not None:
        parts.append(",appliance=")
        parts.append(appliance)
    parts.append(",device_id=")
    parts.append(reading.device_id)
    if door is not None:
        parts.append(",door=")
        parts.append(door)
    parts.append(",home_id=")
    parts.append(reading.home_id)
    if room is not None:
        parts.append(",room=")
        parts.append(room)
    separator = " "
    for key, from_data, kind in plan.fields:
        value = getattr(data if from_data else telemetry, key)
        if value is None:
            continue
        if kind == _FLOAT:
            if not math.isfinite(value):
                continue  # as Point does; the schemas' bounds already refuse these
            text = repr(float(value))
            if text.endswith(".0"):
                text = text[:-2]
        elif kind == _BOOL:
            text = "true" if value else "false"
        elif kind == _INT:
            text = f"{value}i"
        else:
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(separator)
        parts.append(key)
        parts.append("=")
        parts.append(text)
        separator = ","
    parts.append(" ")
    parts.append(str(time_ns(telemetry.ts)))
    return "".join(parts)


# -- checks shared by both readers, so that a query means the same on each -------------

_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_id(value: str) -> None:
    """Refuse anything but an id (`^[A-Za-z0-9_-]{1,64}$`): nothing else enters a query."""
    if not _ID.fullmatch(value):
        raise ValueError(f"not an id: {value[:70]!r}")


def check_measurement(measurement: str) -> None:
    """Refuse a measurement that is not a telemetry type."""
    if measurement not in MEASUREMENTS:
        raise ValueError(f"unknown measurement {measurement[:40]!r}")


def check_aware(moment: datetime) -> datetime:
    """`moment` itself, refused when it has no UTC offset (its instant is unknown)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("query times must be timezone-aware")
    return moment


def window_ns(every: timedelta) -> int:
    """An aggregation window in whole microseconds, as nanoseconds; positive."""
    window = every // timedelta(microseconds=1) * 1_000
    if window <= 0:
        raise ValueError("every must be at least one microsecond")
    return window


def series_order(point: SeriesPoint) -> tuple[datetime, list[tuple[str, str]]]:
    """Sort key of query results: by time, then by tags."""
    return point.time, sorted(point.tags.items())
