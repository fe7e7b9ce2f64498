"""DurableWriter over the real local store and a real spool; an outage is a closed port.

The store "goes down" by pointing `Switch` at an `InfluxV1Writer` for a port
nothing listens on (connection refused, as when InfluxDB is stopped) and "comes
back" by pointing it at the local store again. `Switch` also records the order
in which lines reached the store.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from anxin.testbed.process import free_port
from gateway.influx import InfluxV1Writer
from gateway.localstore import LocalStore
from gateway.spool import Spool
from gateway.storage import DurableWriter, WriterStopped
from gateway.timeseries import LineWriter


class Switch:
    """A LineWriter passing writes to whichever real writer `target` is."""

    def __init__(self, target: LineWriter) -> None:
        self.target = target
        self.written: list[str] = []
        self.writes: list[int] = []

    async def write(self, lines: Sequence[str]) -> None:
        await self.target.write(lines)
        self.written.extend(lines)
        self.writes.append(len(lines))

    async def aclose(self) -> None:
        pass


def lines(start: int, count: int) -> list[str]:
    return [
        f"vitals,device_id=d1,home_id=h1 heart_rate=70,seq={i}i {i}"
        for i in range(start, start + count)
    ]


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    store = LocalStore(tmp_path / "ts.sqlite3", synchronous="NORMAL")
    yield store
    await store.aclose()


@pytest.fixture
async def down() -> AsyncIterator[InfluxV1Writer]:
    writer = InfluxV1Writer(f"http://127.0.0.1:{free_port()}", "anxin", create_database=False)
    yield writer
    await writer.aclose()


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool", max_bytes=1 << 20)


def durable(writer: LineWriter, spool: Spool, **options: object) -> DurableWriter:
    settings: dict[str, object] = {
        "batch_size": 4,
        "linger_s": 0.01,
        "retry_max_s": 0.1,
        "retry_first_s": 0.01,
        "spool_after_s": 0.1,
        "rng": random.Random(7),
        **options,
    }
    return DurableWriter(writer, spool, **settings)  # type: ignore[arg-type]


class TestBatching:
    async def test_submissions_are_concatenated_into_batches(
        self, store: LocalStore, spool: Spool
    ) -> None:
        switch = Switch(store)
        writer = durable(switch, spool, linger_s=0.05)
        futures = [writer.submit(lines(3 * i, 3)) for i in range(5)]
        await writer.start()
        assert await asyncio.gather(*futures) == ["stored"] * 5
        assert switch.writes == [4, 4, 4, 3]
        assert switch.written == lines(0, 15)
        assert (writer.stored, writer.spooled, writer.replayed) == (15, 0, 0)
        await writer.stop()

    async def test_a_lone_line_waits_for_linger_then_goes(
        self, store: LocalStore, spool: Spool
    ) -> None:
        writer = durable(store, spool, batch_size=100, linger_s=0.3)
        await writer.start()
        future = writer.submit(lines(0, 1))
        await asyncio.sleep(0.1)
        assert not future.done()
        assert await asyncio.wait_for(future, 2) == "stored"
        await writer.stop()

    async def test_a_submission_bigger_than_a_batch_resolves_when_all_of_it_is_stored(
        self, store: LocalStore, spool: Spool
    ) -> None:
        switch = Switch(store)
        writer = durable(switch, spool, batch_size=7)
        await writer.start()
        assert await writer.submit(lines(0, 30)) == "stored"
        assert switch.writes == [7, 7, 7, 7, 2]
        assert await store.count("vitals") == 30
        await writer.stop()

    async def test_nothing_to_store_resolves_at_once(self, store: LocalStore, spool: Spool) -> None:
        writer = durable(store, spool)
        assert writer.submit([]).result() == "stored"


class TestOutage:
    async def test_lines_are_spooled_while_down_and_replayed_in_order(
        self, store: LocalStore, down: InfluxV1Writer, spool: Spool
    ) -> None:
        switch = Switch(down)
        writer = durable(switch, spool)
        await writer.start()
        first = [writer.submit(lines(10 * i, 10)) for i in range(5)]
        assert await asyncio.gather(*first) == ["spooled"] * 5
        assert writer.spool_bytes > 0
        later = [writer.submit(lines(50 + 10 * i, 10)) for i in range(3)]
        assert await asyncio.gather(*later) == ["spooled"] * 3  # behind the spooled ones
        switch.target = store
        await eventually(lambda: writer.replayed == 80 and not writer.spooling)
        after = await writer.submit(lines(80, 5))
        assert after == "stored"
        assert switch.written == lines(0, 85)
        assert await store.count("vitals") == 85
        assert (writer.spooled, writer.replayed, writer.stored, writer.spool_bytes) == (
            80,
            80,
            5,
            0,
        )
        await writer.stop()

    async def test_a_full_spool_holds_futures_until_replay_frees_space(
        self, store: LocalStore, down: InfluxV1Writer, tmp_path: Path
    ) -> None:
        spool = Spool(tmp_path / "small", max_bytes=4096)
        switch = Switch(down)
        writer = durable(switch, spool, batch_size=20)
        await writer.start()
        futures = [writer.submit(lines(20 * i, 20)) for i in range(20)]
        await eventually(lambda: any(f.done() for f in futures))
        await asyncio.sleep(0.3)
        waiting = [f for f in futures if not f.done()]
        assert waiting, "a 4 KiB spool cannot take 400 lines"
        assert spool.bytes_used <= 4096
        switch.target = store
        results = await asyncio.wait_for(asyncio.gather(*futures), 10)
        assert set(results) <= {"spooled", "stored"}
        await eventually(lambda: writer.spool_bytes == 0)
        assert switch.written == lines(0, 400)
        assert await store.count("vitals") == 400
        await writer.stop()

    async def test_stop_spools_what_it_cannot_write_and_the_next_run_replays_it(
        self, store: LocalStore, down: InfluxV1Writer, tmp_path: Path
    ) -> None:
        writer = durable(down, Spool(tmp_path / "spool", max_bytes=1 << 20), linger_s=30)
        await writer.start()
        future = writer.submit(lines(0, 3))
        await writer.stop()
        assert future.result() == "spooled"
        with pytest.raises(WriterStopped):
            writer.submit(lines(3, 1))

        again = durable(store, Spool(tmp_path / "spool", max_bytes=1 << 20))
        await again.start()
        await eventually(lambda: again.replayed == 3)
        assert await store.count("vitals") == 3
        await again.stop()

    async def test_stop_fails_what_can_be_neither_written_nor_spooled(
        self, down: InfluxV1Writer, tmp_path: Path
    ) -> None:
        writer = durable(down, Spool(tmp_path / "small", max_bytes=4096), batch_size=20)
        await writer.start()
        futures = [writer.submit(lines(20 * i, 20)) for i in range(20)]
        await eventually(lambda: any(f.done() for f in futures))
        await writer.stop(timeout_s=0.3)
        assert all(f.done() for f in futures)
        outcomes = [f.result() if f.exception() is None else f.exception() for f in futures]
        assert "spooled" in outcomes
        assert [type(o) for o in outcomes if o != "spooled"] == [WriterStopped] * (
            len(outcomes) - outcomes.count("spooled")
        )
        assert outcomes.count("spooled") < 20

    async def test_stop_flushes_lines_still_lingering(
        self, store: LocalStore, spool: Spool
    ) -> None:
        writer = durable(store, spool, batch_size=100, linger_s=30)
        await writer.start()
        future = writer.submit(lines(0, 5))
        await writer.stop()
        assert future.result() == "stored"
        assert await store.count("vitals") == 5


class TestRejection:
    async def test_a_refused_line_is_bisected_out_and_the_rest_stored(
        self, store: LocalStore, spool: Spool
    ) -> None:
        refused: list[tuple[list[str], str]] = []
        switch = Switch(store)
        writer = durable(
            switch,
            spool,
            batch_size=16,
            on_rejected=lambda ls, e: refused.append((list(ls), str(e))),
        )
        await writer.start()
        bad = "vitals,home_id=h1 heart_rate=oops 99"
        batch = [*lines(0, 10), bad, *lines(10, 5)]
        assert await writer.submit(batch) == "stored"
        assert [lines_ for lines_, _ in refused] == [[bad]]
        assert "bad number" in refused[0][1]
        assert await store.count("vitals") == 15
        assert len(switch.writes) <= 2 * len(batch) - 1
        assert (writer.stored, writer.rejected) == (15, 1)
        await writer.stop()

    async def test_a_refused_line_in_the_spool_does_not_block_replay(
        self, store: LocalStore, down: InfluxV1Writer, spool: Spool
    ) -> None:
        refused: list[Sequence[str]] = []
        switch = Switch(down)
        writer = durable(switch, spool, batch_size=8, on_rejected=lambda ls, e: refused.append(ls))
        await writer.start()
        bad = "vitals,home_id=h1 heart_rate=12ii 99"
        assert await writer.submit([*lines(0, 3), bad, *lines(3, 4)]) == "spooled"
        switch.target = store
        await eventually(lambda: writer.spool_bytes == 0)
        assert refused == [[bad]]
        assert await store.count("vitals") == 7
        await writer.stop()
