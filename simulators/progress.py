"""A rich progress bar for a running simulation: connections, messages, rate, simulated time."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from simulators.publisher import Publisher


class Progress:
    """Refreshes twice a second from the publisher's counters; does nothing when disabled."""

    def __init__(
        self, publisher: Publisher, *, start: datetime, end: datetime | None, enabled: bool
    ) -> None:
        self._publisher = publisher
        self._start = start
        self._end = end
        self.enabled = enabled
        self.reached = start
        self._bar: RichProgress | None = None
        self._task_id = TaskID(0)
        self._refresher: asyncio.Task[None] | None = None
        self._last = (time.monotonic(), 0)
        self._rate = 0.0

    def start(self, phase: str) -> None:
        if not self.enabled:
            return
        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        total = (self._end - self._start).total_seconds() if self._end else None
        self._task_id = self._bar.add_task(phase, total=total, detail="")
        self._bar.start()
        self._refresher = asyncio.create_task(self._refresh_forever())

    def phase(self, phase: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task_id, description=phase)
            self._refresh()

    def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        if self._bar is not None:
            self._refresh()
            self._bar.stop()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self._refresh()

    def _refresh(self) -> None:
        if self._bar is None:
            return
        stats = self._publisher.stats
        now = time.monotonic()
        then, acked_then = self._last
        if now - then >= 0.25:
            self._rate = (stats.acked - acked_then) / (now - then)
            self._last = (now, stats.acked)
        detail = (
            f"{self._publisher.connected}/{len(self._publisher)} up · "
            f"{stats.acked:,} msgs · {self._rate:,.0f}/s · sim {self.reached:%m-%d %H:%M}Z"
        )
        self._bar.update(
            self._task_id,
            completed=(self.reached - self._start).total_seconds(),
            detail=detail,
        )
