"""Kafka adapters of the gateway: readings to `anxin.telemetry`, dead letters to `anxin.deadletter`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
from aiokafka import AIOKafkaProducer

from devices.events import GatewayEvent
from gateway.deadletter import DeadLetter


def event_bytes(event: GatewayEvent) -> bytes:
    """The wire form of a gateway event on Kafka: the model's JSON."""
    return event.model_dump_json().encode()


class KafkaProducer:
    """One producer per gateway process, shared by both adapters.

    acks=all and no idempotence: Kafka-compatible brokers such as Tansu fail
    InitProducerId, and duplicates are harmless downstream because a reading is
    identified by `(device_id, seq)`.
    """

    def __init__(self, bootstrap: str, *, max_batch_size: int = 16384, linger_ms: int = 5) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=False,
            max_batch_size=max_batch_size,
            linger_ms=linger_ms,
            compression_type=None,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def send_all(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        """Send (key, value) records and wait until the broker has every one."""
        pending = [await self._producer.send(topic, value=value, key=key) for key, value in records]
        if pending:
            await asyncio.gather(*pending)

    async def stop(self) -> None:
        await self._producer.stop()


class KafkaHandoff:
    """Readings and status changes to the telemetry topic, keyed by `home_id`.

    Keying by home keeps each home's events in one partition, in order, so a
    detector sees a home's readings as the gateway accepted them.
    """

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def send(self, events: Sequence[GatewayEvent]) -> None:
        await self._producer.send_all(
            self._topic, [(event.home_id.encode(), event_bytes(event)) for event in events]
        )

    async def aclose(self) -> None:
        return None


class KafkaDeadLetters:
    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def put(self, letters: Sequence[DeadLetter]) -> None:
        await self._producer.send_all(
            self._topic,
            [
                (letter.reason.encode(), orjson.dumps(letter.model_dump(mode="json")))
                for letter in letters
            ],
        )

    async def aclose(self) -> None:
        return None
