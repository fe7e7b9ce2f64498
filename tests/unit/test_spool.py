"""The on-disk spool: order, bounds, and what survives a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gateway.spool import MAGIC, Spool, SpoolFull


def batch(index: int, size: int = 3) -> list[str]:
    return [f"m,home_id=h{index} v={index}.{line},seq={line}i {index}" for line in range(size)]


def drain(spool: Spool) -> list[list[str]]:
    records = []
    while (record := spool.peek()) is not None:
        records.append(record)
        spool.pop()
    return records


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


class TestSpool:
    def test_batches_come_back_in_order_across_segments(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=600)
        for index in range(20):
            spool.append(batch(index))
        assert len(segments(tmp_path)) > 3
        assert drain(spool) == [batch(index) for index in range(20)]

    def test_peek_without_pop_returns_the_same_batch(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20)
        spool.append(batch(1))
        spool.append(batch(2))
        assert spool.peek() == spool.peek() == batch(1)

    def test_lines_with_newlines_and_quotes_survive(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20)
        odd = ['heartbeat,home_id=h firmware="a\nb \\"c\\"",seq=1i 1']
        spool.append(odd)
        assert Spool(tmp_path, max_bytes=1 << 20).peek() == odd

    def test_popped_segments_are_deleted_and_bytes_freed(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=600)
        for index in range(10):
            spool.append(batch(index))
        assert spool.bytes_used == sum(path.stat().st_size for path in segments(tmp_path))
        drain(spool)
        assert spool.empty
        assert spool.bytes_used == 0
        assert segments(tmp_path) == []
        spool.append(batch(99))
        assert drain(spool) == [batch(99)]

    def test_a_full_spool_refuses_and_writes_nothing(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=4096, segment_bytes=4096)
        with pytest.raises(SpoolFull):  # noqa: PT012 - fill it until it refuses
            for index in range(1000):
                spool.append(batch(index, size=5))
        used = spool.bytes_used
        assert used <= 4096
        with pytest.raises(SpoolFull):
            spool.append(batch(1000, size=5))
        assert spool.bytes_used == used == sum(p.stat().st_size for p in segments(tmp_path))
        spool.pop()
        spool.pop()
        spool.append(batch(1000, size=1))

    def test_a_batch_larger_than_a_segment_is_split_in_order(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
        big = [line for index in range(40) for line in batch(index)]
        spool.append(big)
        records = drain(spool)
        assert len(records) > 1
        assert [line for record in records for line in record] == big

    def test_reopening_keeps_unpopped_batches_only(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=600)
        for index in range(12):
            spool.append(batch(index))
        for _ in range(5):
            spool.pop()
        spool.close()
        reopened = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=600)
        assert drain(reopened) == [batch(index) for index in range(5, 12)]

    @pytest.mark.parametrize("cut", [1, 5, 9, 30])
    def test_a_torn_last_record_is_cut_and_earlier_ones_kept(
        self, tmp_path: Path, cut: int
    ) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
        for index in range(8):
            spool.append(batch(index))
        spool.close()
        last = segments(tmp_path)[-1]
        before = last.stat().st_size
        # What a crash in the middle of the next append leaves: part of a record.
        with last.open("ab") as file:
            file.write(Spool._records(spool, batch(8))[0][:cut])
        assert last.stat().st_size == before + cut
        reopened = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=1000)
        assert last.stat().st_size == before
        reopened.append(batch(9))
        assert drain(reopened) == [*[batch(index) for index in range(8)], batch(9)]

    def test_a_corrupted_last_record_is_cut(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20)
        spool.append(batch(1))
        spool.append(batch(2))
        spool.close()
        path = segments(tmp_path)[-1]
        data = bytearray(path.read_bytes())
        data[-2] ^= 0xFF  # a flipped byte in the last record's payload fails its CRC
        path.write_bytes(bytes(data))
        assert drain(Spool(tmp_path, max_bytes=1 << 20)) == [batch(1)]

    def test_a_segment_torn_before_its_magic_is_reset(self, tmp_path: Path) -> None:
        spool = Spool(tmp_path, max_bytes=1 << 20)
        spool.append(batch(1))
        spool.close()
        (tmp_path / f"{2:020d}.seg").write_bytes(MAGIC[:3])
        reopened = Spool(tmp_path, max_bytes=1 << 20)
        reopened.append(batch(2))
        assert drain(reopened) == [batch(1), batch(2)]

    def test_appended_batches_survive_kill_9(self, tmp_path: Path) -> None:
        """A child appends and reports each append; every reported batch outlives SIGKILL."""
        child = textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from gateway.spool import Spool
            spool = Spool(Path({str(tmp_path)!r}), max_bytes=1 << 26, segment_bytes=20000)
            index = 0
            while True:
                lines = [f"m,home_id=h v={{index}}i,seq={{n}}i {{index}}" for n in range(20)]
                spool.append(lines)
                print(index, flush=True)
                index += 1
            """
        )
        with subprocess.Popen(
            [sys.executable, "-c", child],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).parents[2],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        ) as process:
            assert process.stdout is not None
            deadline = time.monotonic() + 20
            while int(process.stdout.readline() or -1) < 200 and time.monotonic() < deadline:
                pass
            process.send_signal(signal.SIGKILL)
            reported = [int(line) for line in process.stdout.read().split()]
        acknowledged = reported[-1] if reported else 200
        records = drain(Spool(tmp_path, max_bytes=1 << 26, segment_bytes=20000))
        indexes = [int(record[0].rsplit(" ", 1)[1]) for record in records]
        assert indexes == list(range(len(indexes)))
        assert len(indexes) >= acknowledged + 1
        assert all(len(record) == 20 for record in records)
