"""The seam between the gateway and stream processing.

The gateway hands every accepted reading and status change to a
`ProcessingSink` before acknowledging it. `anxin/` chooses the sink: Kafka
(`anxin.telemetry`, keyed by home) in production, or `InProcessHandoff` when
everything runs in one process. The gateway never imports the processors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from devices.events import GatewayEvent


class ProcessingSink(Protocol):
    async def send(self, events: Sequence[GatewayEvent]) -> None:
        """Return once the events are safely handed on, in order per home."""
        ...

    async def aclose(self) -> None: ...


class InProcessHandoff:
    """Fans events out to in-process subscribers, each with a bounded queue.

    A full queue makes `send` wait (backpressure reaches MQTT, where the broker
    holds the backlog) rather than dropping anything.
    """

    def __init__(self, queue_size: int = 50_000) -> None:
        self._queue_size = queue_size
        self._subscribers: list[asyncio.Queue[GatewayEvent]] = []

    def subscribe(self) -> asyncio.Queue[GatewayEvent]:
        queue: asyncio.Queue[GatewayEvent] = asyncio.Queue(self._queue_size)
        self._subscribers.append(queue)
        return queue

    async def send(self, events: Sequence[GatewayEvent]) -> None:
        for queue in self._subscribers:
            for event in events:
                if queue.full():
                    await queue.put(event)
                else:
                    queue.put_nowait(event)

    async def aclose(self) -> None:
        return None
