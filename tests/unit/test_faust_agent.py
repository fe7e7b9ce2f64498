from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.faust_app import Processor, partition_of
from tests.unit.faust_app_rig import delivered, faust_processor

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def event_bytes(payload: dict[str, Any], *, home_id: str = "h1", device_id: str = "d1") -> bytes:
    reading = Reading(
        home_id=home_id,
        device_id=device_id,
        received_at=T0,
        telemetry=TELEMETRY_ADAPTER.validate_python(payload),
    )
    return reading.model_dump_json().encode()


def fall(ts: datetime) -> bytes:
    payload = {"type": "fall", "ts": ts.isoformat(), "seq": 1, "data": {"confidence": 0.9}}
    return event_bytes(payload, device_id="fall-1")


def sos(action: str, ts: datetime, *, home_id: str = "h1") -> bytes:
    payload = {"type": "sos", "ts": ts.isoformat(), "seq": 2, "data": {"action": action}}
    return event_bytes(payload, home_id=home_id)


@pytest.fixture
async def processor() -> AsyncIterator[Processor]:
    async with faust_processor(store="memory://") as made:
        yield made


async def judge(processor: Processor, value: bytes) -> list[Detection]:
    async with processor.agent.test_context() as agent:
        event = await agent.put(value, key=b"h1")
        results: list[Detection] = agent.results[event.message.offset]
        return results


class TestAgent:
    async def test_an_sos_press_raises_a_detection_and_publishes_it(
        self, processor: Processor
    ) -> None:
        with patch.object(
            processor.detections, "send", new=AsyncMock(side_effect=delivered)
        ) as send:
            detections = await judge(processor, sos("press", T0))
        assert [(d.kind, d.action) for d in detections] == [("sos", "open")]
        send.assert_awaited_once()
        assert send.await_args is not None
        assert send.await_args.kwargs["key"] == b"h1"
        published = Detection.model_validate_json(send.await_args.kwargs["value"])
        assert published == detections[0]

    async def test_the_home_state_is_kept_in_the_table_between_events(
        self, processor: Processor
    ) -> None:
        with patch.object(processor.detections, "send", new=AsyncMock(side_effect=delivered)):
            opened = await judge(processor, fall(T0))
            cancelled = await judge(processor, sos("cancel", T0 + timedelta(seconds=10)))
        assert [(d.kind, d.action) for d in opened] == [("fall", "open")]
        assert ("fall", "cancel") in [(d.kind, d.action) for d in cancelled]
        assert processor.state("h1").watermark == T0 + timedelta(seconds=10)

    async def test_a_value_that_is_no_gateway_event_is_skipped(self, processor: Processor) -> None:
        with patch.object(
            processor.detections, "send", new=AsyncMock(side_effect=delivered)
        ) as send:
            detections = await judge(processor, b'{"kind": "nonsense"}')
            after = await judge(processor, sos("press", T0))
        assert detections == []
        assert len(after) == 1
        assert send.await_count == 1


class TestPartitioning:
    @pytest.mark.parametrize(("key", "partitions"), [(b"h1", 8), (b"sim-0003", 4), (b"x", 1)])
    def test_partition_matches_the_kafka_default_partitioner(
        self, key: bytes, partitions: int
    ) -> None:
        from aiokafka.partitioner import DefaultPartitioner

        expected = DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))
        assert partition_of(key, partitions) == expected
