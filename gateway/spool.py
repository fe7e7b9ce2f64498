"""A bounded on-disk queue of line batches for while the time-series store is down.

Segment files (`00000000000000000007.seg`) start with an 8-byte magic and hold
records framed as `length (u32 BE) | crc32 (u32 BE) | payload`, the payload a
JSON array of line-protocol lines. Each append is fsynced before it returns, so
a record the caller was told about survives a kill -9 or a power cut; a record
torn by a crash fails its length or CRC check and is cut off when the spool is
reopened, leaving every earlier record intact. Records are read back strictly in
append order; a segment file is deleted once every record in it has been popped.
A small `cursor` file remembers how far the oldest segment has been consumed
(written without fsync: losing it only replays a few records, and writing a
line twice overwrites the same point).

Blocking file I/O: call it from a worker thread (`asyncio.to_thread`); the
methods are serialised by an internal lock.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import orjson

MAGIC: Final = b"AXSPOOL1"
_HEADER: Final = struct.Struct(">II")
_SUFFIX: Final = ".seg"
_CURSOR: Final = "cursor"


class SpoolError(Exception):
    """Root of the spool's errors."""


class SpoolFull(SpoolError):
    """Appending would take the spool over its byte bound: nothing was written."""

    def __init__(self, needed: int, used: int, max_bytes: int) -> None:
        super().__init__(f"spool full: {needed} more bytes, {used} of {max_bytes} used")
        self.needed = needed
        self.used = used
        self.max_bytes = max_bytes


def _encode(lines: Sequence[str]) -> bytes:
    payload = orjson.dumps(list(lines))
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


class Spool:
    """Append-only, fsynced, bounded segments of line batches, read back in order."""

    def __init__(
        self, directory: Path, *, max_bytes: int, segment_bytes: int | None = None
    ) -> None:
        if max_bytes < 4096:
            raise ValueError("max_bytes must be at least 4096")
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(64 * 1024, min(8 << 20, max_bytes // 16))
        self.corrupt_segments = 0
        """Segments whose rest was skipped on reading because a record failed its CRC."""
        self._lock = threading.Lock()
        self._sizes: dict[int, int] = {}
        self._used = 0
        self._segments: list[int] = []
        self._read_offset = len(MAGIC)
        self._head: tuple[list[str], int] | None = None
        self._active_fd: int | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self._open()

    # -- state -------------------------------------------------------------------------

    @property
    def bytes_used(self) -> int:
        """Bytes the segment files take on disk (what `max_bytes` bounds)."""
        return self._used

    @property
    def empty(self) -> bool:
        """True when no record is waiting to be popped."""
        with self._lock:
            return self._peek_locked() is None

    # -- writing -----------------------------------------------------------------------

    def append(self, lines: Sequence[str]) -> None:
        """Add one batch (split into several records if large), fsynced; or raise SpoolFull."""
        if not lines:
            return
        records = self._records(lines)
        with self._lock:
            needed = 0
            size = None if self._active_fd is None else self._sizes[self._segments[-1]]
            for record in records:
                if self._rotates(size, len(record)):
                    needed += len(MAGIC)
                    size = len(MAGIC)
                needed += len(record)
                size = (size or 0) + len(record)
            if self._used + needed > self.max_bytes:
                raise SpoolFull(needed, self._used, self.max_bytes)
            try:
                for record in records:
                    active = None if self._active_fd is None else self._sizes[self._segments[-1]]
                    if self._rotates(active, len(record)):
                        self._rotate()
                    assert self._active_fd is not None
                    self._write_record(self._active_fd, self._segments[-1], record)
                assert self._active_fd is not None
                os.fsync(self._active_fd)
            finally:
                self._used = sum(self._sizes.values())

    def _rotates(self, size: int | None, record: int) -> bool:
        """Whether a record of `record` bytes starts a new segment (never leaving one empty)."""
        return size is None or (size + record > self.segment_bytes and size > len(MAGIC))

    def _write_record(self, fd: int, segment: int, record: bytes) -> None:
        try:
            _write_all(fd, record)
        except OSError:
            # A short write (disk full) must not leave half a record for later
            # appends to follow: the reader would take it for damage.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._sizes[segment])
            raise
        self._sizes[segment] += len(record)

    def _records(self, lines: Sequence[str]) -> list[bytes]:
        """Encode `lines`, halving until each record fits in a segment."""
        record = _encode(lines)
        if len(record) + len(MAGIC) <= self.segment_bytes or len(lines) == 1:
            if len(record) + len(MAGIC) > self.max_bytes:
                raise SpoolError(f"one line of {len(record)} bytes is larger than the spool")
            return [record]
        middle = len(lines) // 2
        return self._records(lines[:middle]) + self._records(lines[middle:])

    def _rotate(self) -> None:
        if self._active_fd is not None:
            os.fsync(self._active_fd)
            os.close(self._active_fd)
        segment = (self._segments[-1] + 1) if self._segments else 1
        path = self._path(segment)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        _write_all(fd, MAGIC)
        os.fsync(fd)
        self._fsync_directory()
        self._active_fd = fd
        self._segments.append(segment)
        self._sizes[segment] = len(MAGIC)
        self._used = sum(self._sizes.values())

    # -- reading -----------------------------------------------------------------------

    def peek(self) -> list[str] | None:
        """The oldest batch not yet popped, or None when the spool is empty."""
        with self._lock:
            head = self._peek_locked()
            return None if head is None else list(head[0])

    def pop(self) -> None:
        """Forget the batch `peek` returned: it has been written to the store."""
        with self._lock:
            head = self._peek_locked()
            if head is None:
                return
            self._head = None
            self._read_offset = head[1]
            segment = self._segments[0]
            if self._read_offset >= self._sizes[segment]:
                self._drop_head_segment()
            self._save_cursor()

    def _peek_locked(self) -> tuple[list[str], int] | None:
        while self._head is None and self._segments:
            segment = self._segments[0]
            if self._read_offset >= self._sizes[segment]:
                if len(self._segments) == 1:
                    return None
                self._drop_head_segment()
                continue
            self._head = self._read_record(segment, self._read_offset)
            if self._head is None:
                # A record that fails its check before the end of an older segment
                # means that segment was damaged on disk: skip to the next one.
                self.corrupt_segments += 1
                self._sizes[segment] = self._read_offset
                self._used = sum(self._sizes.values())
                if segment == self._segments[-1] and self._active_fd is not None:
                    os.close(self._active_fd)  # appends go to a fresh segment after it
                    self._active_fd = None
        return self._head

    def _read_record(self, segment: int, offset: int) -> tuple[list[str], int] | None:
        with self._path(segment).open("rb") as file:
            file.seek(offset)
            header = file.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return None
            length, crc = _HEADER.unpack(header)
            payload = file.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            return None
        try:
            lines = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        return lines, offset + _HEADER.size + length

    def _drop_head_segment(self) -> None:
        segment = self._segments.pop(0)
        del self._sizes[segment]
        self._used = sum(self._sizes.values())
        if not self._segments and self._active_fd is not None:
            os.close(self._active_fd)
            self._active_fd = None
        with contextlib.suppress(FileNotFoundError):
            self._path(segment).unlink()
        self._read_offset = len(MAGIC)

    # -- opening and closing -----------------------------------------------------------

    def _open(self) -> None:
        segments = sorted(
            int(path.name.removesuffix(_SUFFIX))
            for path in self.directory.glob(f"*{_SUFFIX}")
            if path.name.removesuffix(_SUFFIX).isdigit()
        )
        for segment in segments:
            self._sizes[segment] = self._path(segment).stat().st_size
        self._segments = segments
        if segments:
            last = segments[-1]
            self._sizes[last] = self._repair_tail(last)
            self._active_fd = os.open(self._path(last), os.O_WRONLY | os.O_APPEND)
            self._load_cursor()
        self._used = sum(self._sizes.values())

    def _repair_tail(self, segment: int) -> int:
        """Cut a record torn by a crash off the newest segment; return its valid size."""
        path = self._path(segment)
        data = path.read_bytes()
        if data[: len(MAGIC)] != MAGIC:
            path.write_bytes(MAGIC)
            return len(MAGIC)
        offset = len(MAGIC)
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[offset + _HEADER.size : end]) != crc:
                break
            offset = end
        if offset != len(data):
            with path.open("r+b") as file:
                file.truncate(offset)
                file.flush()
                os.fsync(file.fileno())
        return offset

    def _load_cursor(self) -> None:
        try:
            segment_text, offset_text = (self.directory / _CURSOR).read_text().split()
            segment, offset = int(segment_text), int(offset_text)
        except (FileNotFoundError, ValueError):
            return
        if segment in self._sizes:
            while self._segments[0] != segment:
                self._drop_head_segment()
            self._read_offset = min(max(offset, len(MAGIC)), self._sizes[segment])

    def _save_cursor(self) -> None:
        if not self._segments:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / _CURSOR).unlink()
            return
        temporary = self.directory / f"{_CURSOR}.tmp"
        temporary.write_text(f"{self._segments[0]} {self._read_offset}\n")
        temporary.replace(self.directory / _CURSOR)

    def close(self) -> None:
        """Close the open segment; appended records are already on disk."""
        with self._lock:
            if self._active_fd is not None:
                os.close(self._active_fd)
                self._active_fd = None

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:020d}{_SUFFIX}"

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
