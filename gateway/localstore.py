"""The embedded time-series store: SQLite in the data dir, for when no InfluxDB is configured.

It takes the line-protocol subset `gateway.points.to_line` writes (unescaped
`[A-Za-z0-9_-]` names and tag values, float / `i` integer / bool / quoted
string fields, an integer nanosecond timestamp) and keeps InfluxDB's
semantics where the gateway relies on them:

- a point is identified by measurement, tag set and time: writing it again
  merges the new fields over the old ones, so a redelivered reading is stored
  once;
- a field keeps the type it was first written with; a line that conflicts, or
  does not parse, is refused while the rest of its batch is stored, and the
  write raises `TimeSeriesRejected` (InfluxDB 1.x's "partial write", HTTP 400);
- reads answer what `InfluxQLReader` answers for the same data.

SQLite's calls block, so each connection lives on its own worker thread: one
writes (WAL mode, `synchronous=FULL` by default so a stored batch survives a
power cut), one reads, and readers never wait behind a write.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal, TypeVar

import orjson

from gateway.points import (
    MEASUREMENTS,
    check_aware,
    check_id,
    check_measurement,
    series_order,
    time_ns,
    window_ns,
)
from gateway.timeseries import SeriesPoint, TimeSeriesRejected, TimeSeriesUnavailable

FILE_NAME: Final = "timeseries.sqlite3"
"""The store's file inside the data dir."""

_T = TypeVar("_T")
_FieldValue = float | int | bool | str
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HEAD: Final = re.compile(r"[A-Za-z0-9_-]+(?:,[A-Za-z0-9_-]+=[A-Za-z0-9_-]+)*")
_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER: Final = re.compile(r"[+-]?\d+i")
_FIELD_KEY: Final = re.compile(r"[A-Za-z0-9_]+")
_TRUE: Final = frozenset({"t", "T", "true", "True", "TRUE"})
_FALSE: Final = frozenset({"f", "F", "false", "False", "FALSE"})
_KINDS: Final[dict[type, str]] = {float: "float", int: "int", bool: "bool", str: "str"}

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS points (
    measurement TEXT NOT NULL,
    home_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    series TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (measurement, home_id, time, series)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS field_types (
    measurement TEXT NOT NULL,
    field TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (measurement, field)
) WITHOUT ROWID;
"""
_UPSERT: Final = (
    "INSERT INTO points (measurement, home_id, time, series, fields) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET fields = json_patch(fields, excluded.fields)"
)

_Row = tuple[str, str, int, str, str]


class LineError(ValueError):
    """A line outside the accepted line-protocol subset."""


def parse_line(line: str) -> tuple[str, str, dict[str, _FieldValue], int]:
    """(measurement, series tags `k=v,...` sorted, fields, time ns) of one line."""
    head, _, rest = line.partition(" ")
    fields_text, _, time_text = rest.rpartition(" ")
    if not _HEAD.fullmatch(head):
        raise LineError("measurement or tags outside [A-Za-z0-9_-]")
    measurement, _, series = head.partition(",")
    if series:
        tags = series.split(",")
        if tags != sorted(tags):
            series = ",".join(sorted(tags))
    if not fields_text:
        raise LineError("no fields, or no timestamp")
    try:
        time = int(time_text)
    except ValueError:
        raise LineError("timestamp is not integer nanoseconds") from None
    pairs = fields_text.split(",") if '"' not in fields_text else _split_quoted(fields_text)
    fields: dict[str, _FieldValue] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not _FIELD_KEY.fullmatch(key):
            raise LineError(f"bad field {pair[:40]!r}")
        fields[key] = _field_value(value)
    return measurement, series, fields, time


def _field_value(text: str) -> _FieldValue:
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise LineError("unterminated string field")
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text.endswith("i"):
        if not _INTEGER.fullmatch(text):
            raise LineError(f"bad integer {text[:40]!r}")
        return int(text[:-1])
    if not _FLOAT.fullmatch(text):
        raise LineError(f"bad number {text[:40]!r}")
    return float(text)


def _split_quoted(text: str) -> list[str]:
    """Split fields on commas outside double quotes (a `\\` escapes inside them)."""
    pairs: list[str] = []
    start = 0
    quoted = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            pairs.append(text[start:index])
            start = index + 1
    if quoted:
        raise LineError("unterminated string field")
    pairs.append(text[start:])
    return pairs


class LocalStore:
    """`LineWriter` and `TimeSeriesReader` over one SQLite file."""

    def __init__(self, path: Path, *, synchronous: Literal["NORMAL", "FULL"] = "FULL") -> None:
        self.path = path
        self._synchronous = synchronous
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="localstore-write")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="localstore-read")
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._field_types: dict[tuple[str, str], str] = {}
        self._closed = False

    # -- threads and connections -------------------------------------------------------

    async def _on(self, thread: ThreadPoolExecutor, job: Callable[[], _T]) -> _T:
        if self._closed:
            raise TimeSeriesUnavailable("the local store is closed")
        return await asyncio.get_running_loop().run_in_executor(thread, job)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA cache_size=-65536")  # KiB: batches touch many homes' pages
        return db

    def _write_db(self) -> sqlite3.Connection:
        if self._writer is None:
            db = self._connect()
            db.executescript(_SCHEMA)
            self._field_types = {
                (measurement, field): kind
                for measurement, field, kind in db.execute(
                    "SELECT measurement, field, kind FROM field_types"
                )
            }
            self._writer = db
        return self._writer

    def _read_db(self) -> sqlite3.Connection:
        if self._reader is None:
            self._write_thread.submit(self._write_db).result()  # the schema exists first
            self._reader = self._connect()
        return self._reader

    async def aclose(self) -> None:
        """Close both connections and their threads."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        for thread, name in ((self._write_thread, "_writer"), (self._read_thread, "_reader")):
            await loop.run_in_executor(thread, self._close_connection, name)
            thread.shutdown(wait=False)
        self._closed = True

    def _close_connection(self, name: str) -> None:
        db: sqlite3.Connection | None = getattr(self, name)
        if db is not None:
            db.close()
            setattr(self, name, None)

    # -- writing -----------------------------------------------------------------------

    async def write(self, lines: Sequence[str]) -> None:
        """Store the lines; refuse (after storing the rest) any outside the subset."""
        if lines:
            await self._on(self._write_thread, lambda: self._write_now(lines))

    def _write_now(self, lines: Sequence[str]) -> None:
        db = self._write_db()
        rows: list[_Row] = []
        new_types: dict[tuple[str, str], str] = {}
        refused: list[str] = []
        for line in lines:
            try:
                measurement, series, fields, time = parse_line(line)
                for key, value in fields.items():
                    kind = _KINDS[type(value)]
                    known = self._field_types.get((measurement, key)) or new_types.get(
                        (measurement, key)
                    )
                    if known is None:
                        new_types[measurement, key] = kind
                    elif known != kind:
                        raise LineError(f"field {key!r} is {kind}, already stored as {known}")
            except LineError as error:
                refused.append(f"{error} in {line[:80]!r}")
                continue
            home_id = ""
            for tag in series.split(","):
                if tag.startswith("home_id="):
                    home_id = tag[8:]
            rows.append((measurement, home_id, time, series, orjson.dumps(fields).decode()))
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_UPSERT, rows)
                db.executemany(
                    "INSERT OR IGNORE INTO field_types VALUES (?, ?, ?)",
                    [(m, f, kind) for (m, f), kind in new_types.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise TimeSeriesUnavailable(f"local store: {error}") from error
        self._field_types.update(new_types)
        if refused:
            raise TimeSeriesRejected(
                f"partial write: {len(refused)} of {len(lines)} lines refused; first: {refused[0]}"
            )

    # -- reading -----------------------------------------------------------------------

    async def latest(self, home_id: str) -> dict[str, SeriesPoint]:
        """The newest point of each measurement for a home."""
        check_id(home_id)
        return await self._on(self._read_thread, lambda: self._latest_now(home_id))

    def _latest_now(self, home_id: str) -> dict[str, SeriesPoint]:
        db = self._read_db()
        latest: dict[str, SeriesPoint] = {}
        for measurement in MEASUREMENTS:
            row = db.execute(
                "SELECT time, series, fields FROM points WHERE measurement = ? AND home_id = ? "
                "ORDER BY time DESC LIMIT 1",
                (measurement, home_id),
            ).fetchone()
            if row is not None:
                latest[measurement] = _point(row[0], row[1], orjson.loads(row[2]))
        return latest

    async def series(
        self,
        home_id: str,
        measurement: str,
        *,
        since: datetime,
        until: datetime,
        every: timedelta | None = None,
    ) -> list[SeriesPoint]:
        """Points in [since, until), or per-series, per-window means of numeric fields."""
        check_id(home_id)
        check_measurement(measurement)
        start, end = time_ns(check_aware(since)), time_ns(check_aware(until))
        window = None if every is None else window_ns(every)
        return await self._on(
            self._read_thread, lambda: self._series_now(home_id, measurement, start, end, window)
        )

    def _series_now(
        self, home_id: str, measurement: str, start: int, end: int, window: int | None
    ) -> list[SeriesPoint]:
        rows = self._read_db().execute(
            "SELECT time, series, fields FROM points "
            "WHERE measurement = ? AND home_id = ? AND time >= ? AND time < ? ORDER BY time",
            (measurement, home_id, start, end),
        )
        if window is None:
            points = [_point(time, series, orjson.loads(fields)) for time, series, fields in rows]
        else:
            points = _means(rows, window)
        points.sort(key=series_order)
        return points

    async def count(self, measurement: str) -> int:
        """How many points a measurement holds, across all homes."""
        check_measurement(measurement)
        row = await self._on(
            self._read_thread,
            lambda: (
                self._read_db()
                .execute("SELECT count(*) FROM points WHERE measurement = ?", (measurement,))
                .fetchone()
            ),
        )
        return int(row[0])


def _means(rows: sqlite3.Cursor, window: int) -> list[SeriesPoint]:
    """Mean of each numeric field (bar `seq`, an identity) per series and window."""
    sums: dict[tuple[str, int], dict[str, list[float]]] = {}
    for time, series, fields in rows:
        totals = sums.setdefault((series, time - time % window), {})
        for key, value in orjson.loads(fields).items():
            if key != "seq" and type(value) in (int, float):
                total = totals.setdefault(key, [0.0, 0])
                total[0] += value
                total[1] += 1
    return [
        _point(start, series, {key: total / count for key, (total, count) in totals.items()})
        for (series, start), totals in sums.items()
        if totals
    ]


def _point(time: int, series: str, fields: dict[str, _FieldValue]) -> SeriesPoint:
    tags = dict(tag.split("=", 1) for tag in series.split(",")) if series else {}
    return SeriesPoint(
        time=_EPOCH + timedelta(microseconds=time // 1_000), tags=tags, fields=dict(fields)
    )
