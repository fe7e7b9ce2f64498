"""The dead-letter stream: every refused message, with its topic, raw payload and reason."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

import orjson
from pydantic import BaseModel, ConfigDict

from devices.telemetry import RejectReason
from gateway.decode import Rejected

# A hostile client can send megabytes on an embedded broker; keep enough to
# diagnose, not enough to fill a disk.
KEPT_PAYLOAD_BYTES: Final = 64 * 1024


class DeadLetter(BaseModel):
    """One refused message as it is kept for operators (JSON on file or Kafka)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    received_at: datetime
    topic: str
    reason: RejectReason
    detail: str
    size: int
    payload_b64: str
    truncated: bool

    @classmethod
    def of(cls, rejected: Rejected, *, received_at: datetime) -> DeadLetter:
        kept = rejected.payload[:KEPT_PAYLOAD_BYTES]
        return cls(
            received_at=received_at,
            topic=rejected.topic,
            reason=rejected.reason,
            detail=rejected.detail,
            size=len(rejected.payload),
            payload_b64=base64.b64encode(kept).decode(),
            truncated=len(kept) < len(rejected.payload),
        )

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)


class DeadLetterSink(Protocol):
    async def put(self, letters: Sequence[DeadLetter]) -> None:
        """Keep the letters durably before the messages are acknowledged."""
        ...

    async def aclose(self) -> None: ...


class FileDeadLetters:
    """JSON lines in one file per UTC day, oldest files removed past `max_bytes`."""

    def __init__(self, directory: Path, *, max_bytes: int = 1 << 30) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)

    async def put(self, letters: Sequence[DeadLetter]) -> None:
        if letters:
            await asyncio.to_thread(self._append, list(letters))

    def _append(self, letters: list[DeadLetter]) -> None:
        by_day: dict[str, list[bytes]] = {}
        for letter in letters:
            day = letter.received_at.strftime("%Y-%m-%d")
            by_day.setdefault(day, []).append(orjson.dumps(letter.model_dump(mode="json")))
        for day, lines in by_day.items():
            path = self._directory / f"deadletter-{day}.jsonl"
            with path.open("ab") as sink:
                sink.write(b"\n".join(lines) + b"\n")
                sink.flush()
                os.fsync(sink.fileno())
        self._trim()

    def _trim(self) -> None:
        files = sorted(self._directory.glob("deadletter-*.jsonl"))
        total = sum(path.stat().st_size for path in files)
        while total > self._max_bytes and len(files) > 1:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink()

    def read(self) -> list[DeadLetter]:
        """Every kept letter, oldest first (for operators and tests)."""
        letters: list[DeadLetter] = []
        for path in sorted(self._directory.glob("deadletter-*.jsonl")):
            for line in path.read_bytes().splitlines():
                if line:
                    letters.append(DeadLetter.model_validate_json(line))
        return letters

    async def aclose(self) -> None:
        return None
