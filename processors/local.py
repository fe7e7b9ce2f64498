"""The embedded runner for `anxin up`: the engine over the in-process hand-off.

It takes events from an `InProcessHandoff` subscription, runs every detector
on each, ticks every home once a second with the wall clock (a slice of homes
at a time, so readings are not held up behind them), and hands the
detections to a `DetectionSink`. State lives in memory: `anxin up` is one
process, and a restart starts every detector afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final, Protocol

import structlog

from devices.events import GatewayEvent
from processors.detection import Detection
from processors.engine import Engine
from processors.homes import HomeDirectory

log = structlog.get_logger("anxin.processors")

TICK_SLICE: Final = 250
"""Homes ticked between two looks at the event loop (~2 ms of detector time)."""


class DetectionSink(Protocol):
    async def send(self, detections: Sequence[Detection]) -> None:
        """Return once the detections are handed on."""
        ...


class MemorySink:
    """Keeps the latest detections and logs each one (ids and kind only: no health values)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.detections: deque[Detection] = deque(maxlen=keep)

    async def send(self, detections: Sequence[Detection]) -> None:
        for detection in detections:
            self.detections.append(detection)
            log.info(
                "detection_raised",
                home_id=detection.home_id,
                kind=detection.kind,
                action=detection.action,
                severity=detection.severity,
                detection_id=detection.detection_id,
            )


class LocalProcessor:
    """Runs the engine over a hand-off queue until stopped."""

    def __init__(
        self,
        engine: Engine,
        queue: asyncio.Queue[GatewayEvent],
        sink: DetectionSink,
        *,
        directory: HomeDirectory | None = None,
        tick_s: float = 1.0,
        tick_slice: int = TICK_SLICE,
        refresh_s: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self._queue = queue
        self._sink = sink
        self._directory = directory
        self._tick_s = tick_s
        self._tick_slice = tick_slice
        self._refresh_s = refresh_s
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0
        self.running = asyncio.Event()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._consume(), name="processors"),
            asyncio.create_task(self._ticks(), name="processor-ticks"),
        ]
        if self._directory is not None:
            self._tasks.append(asyncio.create_task(self._refresh(), name="processor-homes"))
        self.running.set()

    async def stop(self) -> None:
        """Stop, after judging whatever the queue already holds."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drain()

    async def _drain(self) -> None:
        events: list[GatewayEvent] = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        if events:
            await self._judge(events)

    async def _judge(self, events: list[GatewayEvent]) -> None:
        detections: list[Detection] = []
        for event in events:
            try:
                detections.extend(self.engine.step(event))
            except Exception:  # a detector bug must not stop every other home's detection
                log.exception("processing_failed", home_id=event.home_id)
        self.processed += len(events)
        if detections:
            await self._sink.send(detections)

    async def _consume(self) -> None:
        while True:
            events = [await self._queue.get()]
            while not self._queue.empty() and len(events) < 5_000:
                events.append(self._queue.get_nowait())
            await self._judge(events)

    async def _ticks(self) -> None:
        """Each second, every home's tick, a slice at a time: ticking 5,000 homes at once
        held the event loop for 35-45 ms, and an SOS arriving meanwhile waited."""
        while True:
            await asyncio.sleep(self._tick_s)
            now = self._clock()
            homes = self.engine.home_ids()
            for start in range(0, len(homes), self._tick_slice):
                try:
                    detections = self.engine.tick(now, homes[start : start + self._tick_slice])
                except Exception:
                    log.exception("tick_failed")
                    detections = []
                if detections:
                    await self._sink.send(detections)
                await asyncio.sleep(0)  # let readings in between slices

    async def _refresh(self) -> None:
        assert self._directory is not None
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await asyncio.to_thread(self._directory.refresh)
            except Exception as error:  # the registry may be briefly unavailable
                log.warning("homes_refresh_failed", error=str(error)[:300])
