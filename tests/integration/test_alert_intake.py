"""Detections from Kafka reach the alert service; garbage on the topic is skipped, not fatal."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from alerts.intake import KafkaDetections
from anxin.testbed.tansu import Tansu
from processors.detection import Detection

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def detection(n: int) -> Detection:
    return Detection(
        detection_id=f"det-{n}",
        home_id=f"home-{n % 3}",
        kind="sos",
        severity="critical",
        service="medical",
        at=AT,
        summary=f"sos press {n}",
    )


class RecordingSink:
    def __init__(self, expect: int) -> None:
        self.received: list[Detection] = []
        self.expect = expect
        self.complete = asyncio.Event()

    async def send(self, detections: Sequence[Detection]) -> None:
        self.received.extend(detections)
        if len(self.received) >= self.expect:
            self.complete.set()


async def consume_until_complete(intake: KafkaDetections, sink: RecordingSink) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(intake.run(sink, stop))
    try:
        await asyncio.wait_for(sink.complete.wait(), 60)
        await asyncio.sleep(0.5)  # let the commit of the last batch land
    finally:
        stop.set()
        await runner


async def test_detections_arrive_garbage_is_counted_and_commits_hold(tansu: Tansu) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, linger_ms=0)
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(
                "anxin.detections", detection(n).model_dump_json().encode(), key=b"k"
            )
        for garbage in (b"not json", b'{"kind": "fall"}', b"\xff\xfe"):
            await producer.send_and_wait("anxin.detections", garbage, key=b"k")
        await producer.send_and_wait(
            "anxin.detections", detection(3).model_dump_json().encode(), key=b"k"
        )

        first = KafkaDetections(tansu.bootstrap)
        sink = RecordingSink(expect=4)
        await consume_until_complete(first, sink)
        assert [d.detection_id for d in sink.received] == ["det-0", "det-1", "det-2", "det-3"]
        assert first.counts.rejected == 3

        await producer.send_and_wait(
            "anxin.detections", detection(4).model_dump_json().encode(), key=b"k"
        )
        again = RecordingSink(expect=1)
        await consume_until_complete(KafkaDetections(tansu.bootstrap), again)
        assert [d.detection_id for d in again.received] == ["det-4"]  # committed ones stay applied
    finally:
        await producer.stop()
