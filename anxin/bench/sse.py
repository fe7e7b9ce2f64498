"""A console's view of the alert stream, timed: SSE events with the moment each arrived.

The listener reads `GET /api/v1/alerts/stream` on its own thread, as a browser tab
would hold it open, and stamps every event with `time.perf_counter()` as soon as its
blank line ends it, so the bench's clock stops when a console could first draw the
alert, not when the bench's main thread gets round to looking.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One `event: alert` of the stream, with its arrival time (perf_counter seconds)."""

    arrived: float
    event_id: str
    data: dict[str, Any]

    @property
    def home_id(self) -> str:
        return str(self.data.get("home_id", ""))

    @property
    def alert_id(self) -> str:
        return str(self.data.get("alert_id", ""))

    @property
    def transition(self) -> str:
        """What happened to the alert (`opened`, `resolved`, ...)."""
        return str(self.data.get("event", ""))


def parse_events(
    lines: Iterable[str], clock: Callable[[], float] = time.perf_counter
) -> Iterator[StreamEvent]:
    """SSE lines -> alert events (comments, `retry:` and other event types are skipped)."""
    event_id, kind = "", "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data and kind == "alert":
                yield StreamEvent(clock(), event_id, json.loads("\n".join(data)))
            kind, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            kind = value
        elif field == "data":
            data.append(value)


class StreamListener:
    """Holds the alert stream open on a thread; `next_event` hands events over in order."""

    def __init__(
        self, base_url: str, token: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._url = f"{base_url}/api/v1/alerts/stream"
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        self._events: queue.Queue[StreamEvent] = queue.Queue()
        self._open = threading.Event()
        self._closing = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None), transport=transport)
        self._thread = threading.Thread(target=self._run, name="sse-listener", daemon=True)
        self._answered = False
        self.error: BaseException | None = None
        self.received = 0

    def start(self, timeout_s: float = 10.0) -> None:
        """Open the stream; returns once the server has answered (the subscription is live)."""
        self._thread.start()
        if not self._open.wait(timeout_s) and self.error is None:
            raise TimeoutError(f"the alert stream did not answer within {timeout_s:g} s")
        if not self._answered and self.error is not None:
            raise RuntimeError(f"the alert stream failed: {self.error}") from self.error

    def next_event(self, deadline: float) -> StreamEvent | None:
        """The next event, waiting until `deadline` (perf_counter); None if none came."""
        remaining = deadline - time.perf_counter()
        try:
            return self._events.get(timeout=max(0.0, remaining))
        except queue.Empty:
            return None

    def close(self) -> None:
        self._closing.set()
        self._client.close()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self._url, headers=self._headers) as response:
                response.raise_for_status()
                for event in parse_events(self._lines(response)):
                    self.received += 1
                    self._events.put(event)
            if not self._closing.is_set():
                self.error = ConnectionError("the server ended the stream")
        except Exception as error:  # closing the client ends the read with an error too
            if not self._closing.is_set():
                self.error = error
        finally:
            self._open.set()

    def _lines(self, response: httpx.Response) -> Iterator[str]:
        """The response's lines; the first one (`retry:`) is sent after the server has
        subscribed, so from then on no alert change can be missed."""
        for line in response.iter_lines():
            self._answered = True
            self._open.set()
            yield line
