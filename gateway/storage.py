"""Readings into the time-series store without losing one: batching, retrying, spooling.

`DurableWriter.submit(lines)` answers a future that resolves only once every
line is either written to the store ("stored") or fsynced into the on-disk
spool ("spooled"): the gateway acknowledges an MQTT message only then, so a
crash at any moment loses nothing the broker still holds.

How the lines travel:

- submissions are concatenated into batches of up to `batch_size` lines, sent
  when full or `linger_s` after the oldest waiting line arrived; one batch is in
  flight at a time, so the store sees lines in submission order;
- a batch the store cannot take (`TimeSeriesUnavailable`) is retried with
  exponential backoff and jitter; after `spool_after_s` it goes to the spool,
  and from then on every new batch goes to the spool behind it, so order holds
  while a background task replays the spool, oldest first, as soon as the store
  answers again (backoff up to `retry_max_s`); once the spool is empty, batches
  go straight to the store again;
- when the spool is full, futures stay pending (backpressure: the broker keeps
  the unacknowledged messages) until replaying frees space; nothing is dropped;
- a batch the store refuses (`TimeSeriesRejected`, e.g. InfluxDB's 400 "partial
  write") is bisected: halves that go through are stored, and each single line
  still refused is handed to `on_rejected(lines, error)`; a batch costs at most
  2n-1 writes, never a loop. Its submissions still resolve "stored": their
  other lines are, and the refused ones were reported.

Writing a line twice is harmless (the same measurement, tags and time overwrite
one point), which is what lets every step retry without bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import structlog

from gateway.spool import Spool, SpoolError, SpoolFull
from gateway.timeseries import LineWriter, TimeSeriesRejected, TimeSeriesUnavailable

log = structlog.get_logger("anxin.storage")

Outcome = Literal["stored", "spooled"]
RejectedCallback = Callable[[Sequence[str], Exception], None]

_SPACE_POLL_S: Final = 1.0
"""How often a batch waiting for spool space looks again, besides being woken."""


class WriterStopped(Exception):
    """The writer stopped before these lines were stored or spooled: do not acknowledge them."""


@dataclass(eq=False, slots=True)
class _Submission:
    future: asyncio.Future[Outcome]
    untaken: int
    """Lines not yet put in a batch."""
    open_parts: int = 0
    """Batches holding some of its lines that have not settled."""
    spooled: bool = False


@dataclass(slots=True)
class _Queued:
    lines: Sequence[str]
    offset: int
    submission: _Submission
    arrived: float


@dataclass(slots=True)
class _Batch:
    lines: list[str] = field(default_factory=list)
    owners: list[_Submission] = field(default_factory=list)


class DurableWriter:
    """Batches lines to a `LineWriter`, falling back to a `Spool` while it is down."""

    def __init__(
        self,
        writer: LineWriter,
        spool: Spool,
        *,
        batch_size: int,
        linger_s: float,
        retry_max_s: float,
        retry_first_s: float = 0.05,
        spool_after_s: float = 1.5,
        on_rejected: RejectedCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1 or linger_s < 0 or retry_max_s <= 0 or retry_first_s <= 0:
            raise ValueError("batch_size >= 1, linger_s >= 0, retry times > 0")
        self._writer = writer
        self._spool = spool
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._retry_first_s = retry_first_s
        self._retry_max_s = retry_max_s
        self._spool_after_s = spool_after_s
        self._on_rejected = on_rejected
        self._rng = rng or random.Random()
        self._queue: deque[_Queued] = deque()
        self._queued_lines = 0
        self._arrived = asyncio.Event()
        self._space = asyncio.Event()
        self._replay_wanted = asyncio.Event()
        self._spool_lock = asyncio.Lock()
        self._spooling = False
        """True while the spool holds lines: new batches must queue up behind them."""
        self._stopping = False
        self._batcher: asyncio.Task[None] | None = None
        self._in_flight: _Batch | None = None
        self._replayer: asyncio.Task[None] | None = None
        self.stored = 0
        """Lines written straight to the store."""
        self.spooled = 0
        """Lines fsynced into the spool."""
        self.replayed = 0
        """Lines written to the store from the spool."""
        self.rejected = 0
        """Lines the store refused, handed to `on_rejected`."""

    @property
    def spool_bytes(self) -> int:
        """Bytes the spool takes on disk."""
        return self._spool.bytes_used

    @property
    def spooling(self) -> bool:
        """New lines go to the spool (the store is down, or the spool is still replaying)."""
        return self._spooling

    @property
    def pending_lines(self) -> int:
        """Lines submitted and not yet put in a batch."""
        return self._queued_lines

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start batching; replay whatever an earlier run left in the spool."""
        if not await asyncio.to_thread(lambda: self._spool.empty):
            self._spooling = True
            self._replay_wanted.set()
        self._batcher = asyncio.create_task(self._run_batches(), name="storage-batches")
        self._replayer = asyncio.create_task(self._run_replay(), name="storage-replay")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Write or spool everything submitted; fail what is still waiting after `timeout_s`.

        The store and the spool stay open: their owner closes them.
        """
        self._stopping = True
        self._arrived.set()
        if self._batcher is not None:
            try:
                async with asyncio.timeout(timeout_s):
                    await asyncio.shield(self._batcher)
            except TimeoutError:
                log.error("storage_stop_timed_out", pending_lines=self._queued_lines)
                await _cancel(self._batcher)
        await _cancel(self._replayer)
        stopped = WriterStopped("the storage writer stopped before these lines were kept")
        owners = [queued.submission for queued in self._queue]
        owners += self._in_flight.owners if self._in_flight is not None else []
        for owner in owners:
            if not owner.future.done():
                owner.future.set_exception(stopped)
        self._queue.clear()
        self._queued_lines = 0

    # -- submitting and batching -------------------------------------------------------

    def submit(self, lines: Sequence[str]) -> asyncio.Future[Outcome]:
        """A future resolving once all `lines` are stored, or spooled if the store is down."""
        if self._stopping:
            raise WriterStopped("the storage writer is stopping")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        if not lines:
            future.set_result("stored")
            return future
        was_below = self._queued_lines < self._batch_size
        self._queue.append(_Queued(lines, 0, _Submission(future, len(lines)), loop.time()))
        self._queued_lines += len(lines)
        if len(self._queue) == 1 or (was_below and self._queued_lines >= self._batch_size):
            self._arrived.set()
        return future

    async def _run_batches(self) -> None:
        while (batch := await self._next_batch()) is not None:
            self._in_flight = batch
            try:
                await self._deliver(batch)
            except Exception as error:
                # Not expected (every store and spool failure is handled below), but
                # if it happens these lines are not acknowledged: the broker resends them.
                log.exception("storage_batch_failed")
                for owner in batch.owners:
                    if not owner.future.done():
                        owner.future.set_exception(error)
            self._in_flight = None

    async def _next_batch(self) -> _Batch | None:
        """The next batch once it is full, lingered long enough, or the writer is stopping."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._stopping:
                    return None
                timeout = None
            elif self._queued_lines >= self._batch_size or self._stopping:
                return self._take()
            else:
                timeout = self._queue[0].arrived + self._linger_s - loop.time()
                if timeout <= 0:
                    return self._take()
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()

    def _take(self) -> _Batch:
        batch = _Batch()
        room = self._batch_size
        while self._queue and room:
            queued = self._queue[0]
            count = min(room, len(queued.lines) - queued.offset)
            batch.lines.extend(queued.lines[queued.offset : queued.offset + count])
            batch.owners.append(queued.submission)
            queued.submission.open_parts += 1
            queued.submission.untaken -= count
            queued.offset += count
            room -= count
            if queued.offset == len(queued.lines):
                self._queue.popleft()
        self._queued_lines -= len(batch.lines)
        return batch

    def _settle(self, batch: _Batch, outcome: Outcome) -> None:
        for owner in batch.owners:
            owner.open_parts -= 1
            owner.spooled = owner.spooled or outcome == "spooled"
            if owner.open_parts == 0 and owner.untaken == 0 and not owner.future.done():
                owner.future.set_result("spooled" if owner.spooled else "stored")

    # -- delivering --------------------------------------------------------------------

    async def _deliver(self, batch: _Batch) -> None:
        if self._spooling:  # only this task sets it, so it cannot turn true behind our back
            await self._spool_in_order([batch.lines])
            self._settle(batch, "spooled")
            return
        written, unwritten = await self._write(batch.lines, give_up_after_s=self._spool_after_s)
        self.stored += written
        if unwritten:
            log.warning("storage_spooling", lines=sum(len(part) for part in unwritten))
            await self._spool_in_order(unwritten)
        self._settle(batch, "spooled" if unwritten else "stored")

    async def _spool_in_order(self, parts: list[Sequence[str]]) -> None:
        """Spool the parts in order, waiting while the spool is full (never dropping)."""
        todo = deque(parts)
        while todo:
            part = todo[0]
            try:
                async with self._spool_lock:
                    await asyncio.to_thread(self._spool.append, part)
                    self._spooling = True
            except SpoolFull:
                if self._spool.bytes_used == 0 and len(part) > 1:
                    # Bigger than the whole spool: spool it in halves.
                    todo.popleft()
                    middle = len(part) // 2
                    todo.extendleft([part[middle:], part[:middle]])
                    continue
                await self._wait_for_space()
                continue
            except OSError as error:  # disk full or failing: wait as if the spool were full
                log.error("storage_spool_append_failed", error=repr(error)[:300])
                await self._wait_for_space()
                continue
            except SpoolError:
                # One line bigger than the whole spool: keep trying the store itself.
                written, _ = await self._write(part, give_up_after_s=None)
                self.stored += written
            else:
                self.spooled += len(part)
                self._replay_wanted.set()
            todo.popleft()

    async def _wait_for_space(self) -> None:
        self._space.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_SPACE_POLL_S):
                await self._space.wait()

    async def _write(
        self, lines: Sequence[str], *, give_up_after_s: float | None
    ) -> tuple[int, list[Sequence[str]]]:
        """Write, bisecting refusals; (lines written, parts still unwritten when giving up)."""
        loop = asyncio.get_running_loop()
        deadline = None if give_up_after_s is None else loop.time() + give_up_after_s
        stack: list[Sequence[str]] = [lines]  # the next part to write is on top
        written = attempt = 0
        while stack:
            part = stack[-1]
            try:
                await self._writer.write(part)
            except TimeSeriesRejected as error:
                stack.pop()
                attempt = 0
                if len(part) == 1:
                    self._reject(part, error)
                else:
                    middle = len(part) // 2
                    stack += [part[middle:], part[:middle]]
                continue
            except Exception as error:  # unavailable, or a fault: keep the data either way
                delay = self._backoff(attempt)
                attempt += 1
                if not isinstance(error, TimeSeriesUnavailable):
                    log.error("storage_write_fault", error=repr(error)[:300])
                if deadline is not None and loop.time() + delay > deadline:
                    return written, stack[::-1]
                if attempt == 1:
                    log.warning("storage_unavailable", error=str(error)[:300])
                await asyncio.sleep(delay)
                continue
            stack.pop()
            written += len(part)
            attempt = 0
        return written, []

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self._retry_max_s, self._retry_first_s * 2.0 ** min(attempt, 62))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _reject(self, lines: Sequence[str], error: Exception) -> None:
        self.rejected += len(lines)
        # The error text quotes the line (health data): it goes to the callback only.
        log.warning("storage_line_rejected", lines=len(lines))
        if self._on_rejected is not None:
            try:
                self._on_rejected(lines, error)
            except Exception as fault:
                log.error("storage_on_rejected_failed", error=repr(fault)[:300])

    # -- replaying ---------------------------------------------------------------------

    async def _run_replay(self) -> None:
        failures = 0
        while True:
            await self._replay_wanted.wait()
            try:
                await self._replay_one()
                failures = 0
            except Exception:
                log.exception("storage_replay_failed")  # reading the spool: try again later
                await asyncio.sleep(self._backoff(failures))
                failures += 1

    async def _replay_one(self) -> None:
        """Write the oldest spooled batch and pop it; or, if none is left, stop spooling."""
        record = await asyncio.to_thread(self._spool.peek)
        if record is None:
            async with self._spool_lock:
                if await asyncio.to_thread(lambda: self._spool.empty):
                    self._spooling = False
                    self._replay_wanted.clear()
                    log.info("storage_replay_done", replayed=self.replayed)
            return
        written, _ = await self._write(record, give_up_after_s=None)
        await asyncio.to_thread(self._spool.pop)
        self.replayed += written
        self._space.set()


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
