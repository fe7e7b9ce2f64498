"""The hand-off seam: readings reach processing in order per home."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from anxin.testbed.tansu import Tansu
from devices.events import GatewayEvent, Reading, StatusChange
from devices.types.motion import MotionData, MotionTelemetry
from gateway.handoff import InProcessHandoff
from gateway.kafka import KafkaHandoff, KafkaProducer

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def readings(homes: int, per_home: int) -> list[GatewayEvent]:
    """Interleaved across homes, as a gateway accepts them."""
    events: list[GatewayEvent] = []
    for seq in range(per_home):
        for home in range(homes):
            events.append(
                Reading(
                    home_id=f"home-{home}",
                    device_id=f"pir-{home}",
                    received_at=START,
                    telemetry=MotionTelemetry(
                        type="motion",
                        ts=START + timedelta(seconds=seq),
                        seq=seq,
                        data=MotionData(room="kitchen", motion=seq % 2 == 0),
                    ),
                )
            )
    events.append(StatusChange(home_id="home-0", device_id="pir-0", status="offline", at=START))
    return events


def sequences_by_home(events: list[GatewayEvent]) -> dict[str, list[int]]:
    order: dict[str, list[int]] = {}
    for event in events:
        if isinstance(event, Reading):
            order.setdefault(event.home_id, []).append(event.telemetry.seq)
    return order


async def test_in_process_subscribers_get_every_event_in_order() -> None:
    handoff = InProcessHandoff(queue_size=10)
    queue = handoff.subscribe()
    sent = readings(homes=3, per_home=20)
    received: list[GatewayEvent] = []

    async def drain() -> None:
        while len(received) < len(sent):
            received.append(await queue.get())

    drainer = asyncio.create_task(drain())
    for start in range(0, len(sent), 7):
        await handoff.send(sent[start : start + 7])
    await asyncio.wait_for(drainer, 10)
    assert received == sent


@pytest.mark.integration
async def test_kafka_topic_keeps_each_homes_readings_in_order(tansu: Tansu) -> None:
    topic = "anxin.telemetry"
    producer = KafkaProducer(tansu.bootstrap)
    await producer.start()
    sent = readings(homes=8, per_home=50)
    try:
        handoff = KafkaHandoff(producer, topic)
        for start in range(0, len(sent), 37):
            await handoff.send(sent[start : start + 37])
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=tansu.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[GatewayEvent] = []
    keys: set[tuple[bytes | None, str]] = set()
    try:
        async with asyncio.timeout(30):
            while len(received) < len(sent):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        assert record.value is not None
                        event: GatewayEvent
                        if b'"kind":"status"' in record.value:
                            event = StatusChange.model_validate_json(record.value)
                        else:
                            event = Reading.model_validate_json(record.value)
                        received.append(event)
                        keys.add((record.key, event.home_id))
    finally:
        await consumer.stop()
    assert len(received) == len(sent)
    assert all(key == home.encode() for key, home in keys)
    assert sequences_by_home(received) == sequences_by_home(sent)
    assert StatusChange(home_id="home-0", device_id="pir-0", status="offline", at=START) in received
