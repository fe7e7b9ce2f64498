"""One MQTT message in, one decision out: a reading, a status change, or a rejection.

Pure apart from the dedup window and directory cache it is handed: no clock,
no I/O of its own, so every hostile input can be tried against it directly.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from devices.events import Reading, StatusChange
from devices.telemetry import Invalid, RejectReason, decode_telemetry
from devices.topics import parse_device_topic
from gateway.dedup import SeenReadings
from gateway.directory import CachedDirectory


class Rejected(BaseModel):
    """A message the gateway refused, with what the dead-letter stream keeps of it."""

    model_config = ConfigDict(frozen=True)

    topic: str
    payload: bytes
    reason: RejectReason
    detail: str


class Decoder:
    """Applies the contract's rules in order: topic, device, home, payload, duplicate."""

    def __init__(self, directory: CachedDirectory, seen: SeenReadings) -> None:
        self._directory = directory
        self._seen = seen

    def forget_seen(self) -> None:
        """Forget the readings seen so far: the broker is about to deliver again what was
        not acknowledged, and those must not be refused as duplicates of themselves."""
        self._seen.clear()

    def decode(
        self, topic: str, payload: bytes, *, now: datetime, monotonic_now: float
    ) -> Reading | StatusChange | Rejected:
        where = parse_device_topic(topic)
        if where is None:
            return Rejected(
                topic=topic,
                payload=payload,
                reason="bad_topic",
                detail="not a device telemetry or status topic",
            )
        device = self._directory.lookup(where.device_id, monotonic_now=monotonic_now)
        if device is None:
            return Rejected(
                topic=topic,
                payload=payload,
                reason="unknown_device",
                detail=f"device {where.device_id} is not registered",
            )
        if device.home_id != where.home_id:
            return Rejected(
                topic=topic,
                payload=payload,
                reason="topic_mismatch",
                detail=f"device {where.device_id} is not in home {where.home_id}",
            )
        if where.channel == "status":
            return _status(topic, payload, where.home_id, where.device_id, now)
        telemetry = decode_telemetry(
            payload, now=now, home_id=where.home_id, device_id=where.device_id
        )
        if isinstance(telemetry, Invalid):
            return Rejected(
                topic=topic, payload=payload, reason=telemetry.reason, detail=telemetry.detail
            )
        if self._seen.is_duplicate(where.device_id, telemetry.seq, telemetry.ts):
            return Rejected(
                topic=topic,
                payload=payload,
                reason="duplicate",
                detail=f"seq {telemetry.seq} already received",
            )
        # Every part was validated above; constructing without re-validation
        # keeps the per-reading cost down on the hot path.
        return Reading.model_construct(
            home_id=where.home_id,
            device_id=where.device_id,
            room=device.room,
            appliance=device.appliance,
            received_at=now,
            telemetry=telemetry,
        )


def _status(
    topic: str, payload: bytes, home_id: str, device_id: str, now: datetime
) -> StatusChange | Rejected:
    text = payload.strip().strip(b'"').lower()
    if text == b"online":
        return StatusChange(home_id=home_id, device_id=device_id, status="online", at=now)
    if text == b"offline":
        return StatusChange(home_id=home_id, device_id=device_id, status="offline", at=now)
    return Rejected(
        topic=topic,
        payload=payload,
        reason="schema",
        detail="status payload must be online or offline",
    )
