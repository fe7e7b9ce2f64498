"""Where detections enter the alert service from Kafka (`anxin.detections`).

At-least-once: a partition's offsets are committed only after its detections
were applied, so a crash redelivers some, and the alert service keeps one of
each by `detection_id`. A record that is not a detection (bad JSON, another
schema) is logged with its reason, counted and skipped: it cannot stop the
detections behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from processors.detection import Detection
from processors.local import DetectionSink

log = structlog.get_logger("anxin.alerts.intake")


def decode_detection(value: bytes | None) -> Detection | str:
    """The detection in a record's value, or why it is not one."""
    if value is None:
        return "empty record"
    try:
        return Detection.model_validate_json(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        return f"{where}: {first['msg']}"


@dataclass(slots=True)
class IntakeCounts:
    applied: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class KafkaDetections:
    """Consumes the detections topic in a consumer group and hands batches to a sink."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = "anxin.detections",
        *,
        group_id: str = "anxin-alerts",
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.topic = topic
        self.counts = IntakeCounts()
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(session_timeout_ms // 5, 100),
        )

    async def run(self, sink: DetectionSink, stop: asyncio.Event) -> None:
        """Apply every detection until `stop` is set; commits after each partition's batch."""
        await self._consumer.start()
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
                for partition, records in batches.items():
                    await self._apply(partition, records, sink)
        finally:
            await self._consumer.stop()

    async def _apply(
        self,
        partition: TopicPartition,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        sink: DetectionSink,
    ) -> None:
        detections: list[Detection] = []
        for record in records:
            decoded = decode_detection(record.value)
            if isinstance(decoded, Detection):
                detections.append(decoded)
                continue
            self.counts.rejected += 1
            self.counts.reasons[decoded] = self.counts.reasons.get(decoded, 0) + 1
            log.warning(
                "detection_rejected",
                topic=self.topic,
                partition=partition.partition,
                offset=record.offset,
                reason=decoded,
            )
        if detections:
            await sink.send(detections)
            self.counts.applied += len(detections)
        await self._consumer.commit({partition: records[-1].offset + 1})
