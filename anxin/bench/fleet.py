"""The benchmark's simulated homes: who the devices are and what each one publishes.

Every home has the same four devices (a PIR sensor, a front-door contact, a vitals
wearable and a room climate sensor), so any `--devices` count mixes the payload shapes
the gateway sees most. Payloads are rendered from byte templates: a publisher must spend
its CPU on MQTT, not on JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, TypeVar

from devices.telemetry import TelemetryType
from devices.topics import telemetry_topic

T = TypeVar("T")

KINDS: Final[tuple[TelemetryType, ...]] = ("motion", "door", "vitals", "environment")
"""The devices of every home, in order: device `i` of the fleet is a `KINDS[i % 4]`."""

ROOMS: Final[dict[TelemetryType, str | None]] = {
    "motion": "living",
    "door": "entrance",
    "vitals": None,
    "environment": "bedroom",
}

# `%d` slots: ts (epoch ms), seq, then one varying value per type.
_TEMPLATES: Final[dict[str, bytes]] = {
    "motion": b'{"type":"motion","ts":%d,"seq":%d,"battery":%d,'
    b'"data":{"room":"living","motion":true}}',
    "door": b'{"type":"door","ts":%d,"seq":%d,"battery":%d,"data":{"door":"front","open":false}}',
    "vitals": b'{"type":"vitals","ts":%d,"seq":%d,"battery":%d,"data":{"heart_rate":72,'
    b'"resp_rate":16,"spo2":97,"systolic_bp":128,"diastolic_bp":82,"temperature":36.8}}',
    "environment": b'{"type":"environment","ts":%d,"seq":%d,"battery":%d,'
    b'"data":{"room":"bedroom","temperature":21.5,"humidity":48}}',
}


def render(kind: str, ts_ms: int, seq: int) -> bytes:
    """One telemetry payload of `kind` taken at `ts_ms` (epoch ms), per CONTRACT §1."""
    return _TEMPLATES[kind] % (ts_ms, seq, 50 + seq % 50)


@dataclass(frozen=True, slots=True)
class BenchDevice:
    """A provisioned device with the plaintext password it logs in with."""

    device_id: str
    home_id: str
    kind: TelemetryType
    password: str

    @property
    def topic(self) -> str:
        return telemetry_topic(self.home_id, self.device_id)


def fleet_ids(count: int) -> list[tuple[str, str, TelemetryType]]:
    """`(device_id, home_id, kind)` of `count` devices, four to a home."""
    return [
        (f"bench-d{index:05d}", f"bench-h{index // len(KINDS):05d}", KINDS[index % len(KINDS)])
        for index in range(count)
    ]


def split(items: list[T], parts: int) -> list[list[T]]:
    """`items` dealt round-robin into `parts` non-empty lists (fewer if too few items)."""
    parts = max(1, min(parts, len(items)))
    return [items[start::parts] for start in range(parts)]


def quotas(total: int, devices: int) -> list[int]:
    """How many of `total` readings each of `devices` publishes: as even as possible."""
    if devices < 1:
        raise ValueError("at least one device")
    base, extra = divmod(total, devices)
    return [base + (1 if index < extra else 0) for index in range(devices)]


@dataclass(slots=True)
class Clock:
    """A device's reading identity: `seq` counts up, `ts` is wall time made unique.

    Two readings of one device in the same millisecond would be one InfluxDB point (same
    tags, same time), so `ts` moves on by a millisecond when the clock has not.
    """

    seq: int = 0
    last_ms: int = field(default=0)

    def next(self, now_ms: int) -> tuple[int, int]:
        """`(ts_ms, seq)` of the next reading taken at wall time `now_ms`."""
        ts = now_ms if now_ms > self.last_ms else self.last_ms + 1
        self.last_ms = ts
        self.seq += 1
        return ts, self.seq
