"""Raw device bytes to a typed `Telemetry`, or a reason it was refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Final, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from devices.types.bed import BedTelemetry
from devices.types.door import DoorTelemetry
from devices.types.environment import EnvironmentTelemetry
from devices.types.fall import FallTelemetry
from devices.types.heartbeat import HeartbeatTelemetry
from devices.types.leak import LeakTelemetry
from devices.types.motion import MotionTelemetry
from devices.types.power import PowerTelemetry
from devices.types.smoke import SmokeTelemetry
from devices.types.sos import SosTelemetry
from devices.types.vitals import VitalsTelemetry

Telemetry = Annotated[
    VitalsTelemetry
    | FallTelemetry
    | SosTelemetry
    | MotionTelemetry
    | DoorTelemetry
    | BedTelemetry
    | PowerTelemetry
    | LeakTelemetry
    | SmokeTelemetry
    | EnvironmentTelemetry
    | HeartbeatTelemetry,
    Field(discriminator="type"),
]

TelemetryType = Literal[
    "vitals",
    "fall",
    "sos",
    "motion",
    "door",
    "bed",
    "power",
    "leak",
    "smoke",
    "environment",
    "heartbeat",
]
TELEMETRY_TYPES: Final[tuple[str, ...]] = get_args(TelemetryType)

MAX_PAYLOAD_BYTES: Final = 16 * 1024
MAX_CLOCK_AHEAD: Final = timedelta(minutes=5)

RejectReason = Literal[
    "invalid_json",
    "schema",
    "too_large",
    "future_timestamp",
    "bad_topic",
    "unknown_device",
    "topic_mismatch",
    "duplicate",
]
"""Machine-readable reasons a message is refused (CONTRACT §4)."""

TELEMETRY_ADAPTER: Final[TypeAdapter[Telemetry]] = TypeAdapter(Telemetry)


class Invalid(BaseModel):
    """Why a payload was refused: a value, not an exception, so loops go on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: RejectReason
    detail: str


_CLAIM_KEYS: Final = ("home_id", "device_id")


def decode_telemetry(
    payload: bytes, *, now: datetime, home_id: str, device_id: str
) -> Telemetry | Invalid:
    """Validate one telemetry payload published on `home_id`/`device_id`'s topic."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Invalid(reason="too_large", detail=f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        telemetry = TELEMETRY_ADAPTER.validate_json(payload)
    except ValidationError as error:
        return _explain(error, payload, home_id=home_id, device_id=device_id)
    except RecursionError:
        return Invalid(reason="invalid_json", detail="nested too deeply")
    if telemetry.ts - now > MAX_CLOCK_AHEAD:
        return Invalid(
            reason="future_timestamp",
            detail=f"ts {telemetry.ts.isoformat()} is more than 5 minutes ahead",
        )
    return telemetry


def _explain(error: ValidationError, payload: bytes, *, home_id: str, device_id: str) -> Invalid:
    first = error.errors(include_url=False, include_input=False)[0]
    if first["type"] in ("json_invalid", "json_type"):
        return Invalid(reason="invalid_json", detail=str(first["msg"])[:200])
    if (
        first["type"] == "extra_forbidden"
        and len(first["loc"]) == 2
        and first["loc"][1] in _CLAIM_KEYS
    ):
        claimed = _claimed_ids(payload)
        if claimed.get("home_id", home_id) != home_id or claimed.get("device_id", device_id) != (
            device_id
        ):
            return Invalid(reason="topic_mismatch", detail="payload claims another home or device")
    # The first element of a location is the discriminator tag: not a field name.
    location = ".".join(str(part) for part in first["loc"][1:]) or "payload"
    return Invalid(reason="schema", detail=f"{location}: {first['msg']}"[:300])


def _claimed_ids(payload: bytes) -> dict[str, object]:
    try:
        document = orjson.loads(payload)
    except (orjson.JSONDecodeError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {key: document[key] for key in _CLAIM_KEYS if key in document}
