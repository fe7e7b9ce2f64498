"""The MQTT topic grammar of CONTRACT §1, both ways, with no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

ROOT: Final = "anxin/v1"
TELEMETRY_FILTER: Final = f"{ROOT}/homes/+/devices/+/telemetry"
STATUS_FILTER: Final = f"{ROOT}/homes/+/devices/+/status"
GATEWAY_SHARE_GROUP: Final = "anxin-gateway"
SHARED_TELEMETRY_FILTER: Final = f"$share/{GATEWAY_SHARE_GROUP}/{TELEMETRY_FILTER}"

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Channel = Literal["telemetry", "status"]


def is_valid_id(value: str) -> bool:
    """Whether `value` may be a home, device or worker id."""
    return _ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """Who is speaking on a device topic: the topic is the authority, not the payload."""

    home_id: str
    device_id: str
    channel: Channel


def parse_device_topic(topic: str) -> DeviceTopic | None:
    """`anxin/v1/homes/{home}/devices/{device}/{telemetry|status}`, else None."""
    parts = topic.split("/")
    if (
        len(parts) != 7
        or parts[0] != "anxin"
        or parts[1] != "v1"
        or parts[2] != "homes"
        or parts[4] != "devices"
        or parts[6] not in ("telemetry", "status")
        or _ID.fullmatch(parts[3]) is None
        or _ID.fullmatch(parts[5]) is None
    ):
        return None
    channel: Channel = "telemetry" if parts[6] == "telemetry" else "status"
    return DeviceTopic(home_id=parts[3], device_id=parts[5], channel=channel)


def _checked(*ids: str) -> None:
    for value in ids:
        if not is_valid_id(value):
            raise ValueError(f"not a valid id: {value!r}")


def telemetry_topic(home_id: str, device_id: str) -> str:
    _checked(home_id, device_id)
    return f"{ROOT}/homes/{home_id}/devices/{device_id}/telemetry"


def status_topic(home_id: str, device_id: str) -> str:
    _checked(home_id, device_id)
    return f"{ROOT}/homes/{home_id}/devices/{device_id}/status"


def offers_topic(worker_id: str) -> str:
    _checked(worker_id)
    return f"{ROOT}/workers/{worker_id}/offers"
