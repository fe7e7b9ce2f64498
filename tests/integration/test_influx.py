"""InfluxDB writers and reader against a real InfluxDB 1.6, and the local store beside it.

InfluxDB 2.x cannot be installed here, so `InfluxV2Writer` (and the token
header of `InfluxQLReader`) are tested against `Recorder`: a tiny real HTTP
server on loopback that records each request (method, path, query, headers,
body) and answers with a status the test chooses, 204 by default.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from anxin.testbed.influxdb import InfluxDB
from anxin.testbed.process import free_port
from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from gateway.influx import InfluxQLReader, InfluxV1Writer, InfluxV2Writer
from gateway.localstore import LocalStore, parse_line
from gateway.points import to_line
from gateway.spool import Spool
from gateway.storage import DurableWriter
from gateway.timeseries import (
    SeriesPoint,
    TimeSeriesReader,
    TimeSeriesRejected,
    TimeSeriesUnavailable,
)

pytestmark = pytest.mark.integration

SAMPLES = sorted((Path(__file__).parents[1] / "contract" / "samples").glob("*.json"))
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def writer(influx: InfluxDB, database: str) -> AsyncIterator[InfluxV1Writer]:
    writer = InfluxV1Writer(influx.url, database)
    await writer.start()
    yield writer
    await writer.aclose()


@pytest.fixture
async def reader(influx: InfluxDB, database: str) -> AsyncIterator[InfluxQLReader]:
    reader = InfluxQLReader(influx.url, database)
    yield reader
    await reader.aclose()


def line(
    kind: str,
    data: dict[str, object],
    *,
    at: datetime,
    seq: int,
    home: str = "h1",
    device: str = "d1",
    room: str | None = None,
    battery: float | None = None,
) -> str:
    telemetry = TELEMETRY_ADAPTER.validate_python(
        {"type": kind, "ts": at.isoformat(), "seq": seq, "battery": battery, "data": data}
    )
    reading = Reading(
        home_id=home, device_id=device, room=room, received_at=at, telemetry=telemetry
    )
    return to_line(reading)


def heart(at: datetime, rate: float, *, seq: int, device: str = "d1", home: str = "h1") -> str:
    return line(
        "vitals", {"heart_rate": rate, "spo2": 97}, at=at, seq=seq, device=device, home=home
    )


async def eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if await asyncio.to_thread(condition):
                return
            await asyncio.sleep(0.05)


class TestInfluxV1Writer:
    async def test_every_sample_is_stored_and_read_back_as_written(
        self, writer: InfluxV1Writer, reader: InfluxQLReader
    ) -> None:
        lines = []
        for path in SAMPLES:
            telemetry = TELEMETRY_ADAPTER.validate_json(path.read_bytes())
            reading = Reading(
                home_id="h1",
                device_id=f"d-{telemetry.type}",
                room="hall",
                received_at=T0,
                telemetry=telemetry,
            )
            lines.append(to_line(reading))
        await writer.write(lines)
        latest = await reader.latest("h1")
        assert sorted(latest) == sorted(path.stem for path in SAMPLES)
        for written in lines:
            measurement, series, fields, time = parse_line(written)
            point = latest[measurement]
            assert point.fields == fields
            assert all(type(point.fields[key]) is type(value) for key, value in fields.items())
            assert point.tags == dict(tag.split("=") for tag in series.split(","))
            assert point.time == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
                microseconds=time // 1000
            )

    async def test_tiny_floats_and_odd_strings_survive(
        self, writer: InfluxV1Writer, reader: InfluxQLReader
    ) -> None:
        await writer.write(
            [
                line("fall", {"confidence": 1e-05}, at=T0, seq=1),
                line("heartbeat", {"firmware": 'v1 "b",\nc\\'}, at=T0, seq=2),
            ]
        )
        latest = await reader.latest("h1")
        assert latest["fall"].fields["confidence"] == 1e-05
        assert latest["heartbeat"].fields["firmware"] == 'v1 "b",\nc\\'

    async def test_the_same_reading_written_twice_counts_once(
        self, influx: InfluxDB, writer: InfluxV1Writer, database: str
    ) -> None:
        once = heart(T0, 80, seq=1)
        await writer.write([once])
        await writer.write([once, once])
        assert influx.count(database, "vitals") == 1

    async def test_a_partial_write_is_rejected_but_keeps_the_good_points(
        self, influx: InfluxDB, writer: InfluxV1Writer, database: str
    ) -> None:
        await writer.write([heart(T0, 80, seq=0)])
        conflicting = "vitals,device_id=d1,home_id=h1 heart_rate=81i,seq=1i 1795420800000000001"
        good = [heart(T0 + timedelta(seconds=s), 80, seq=s) for s in range(1, 6)]
        with pytest.raises(TimeSeriesRejected, match="partial write"):
            await writer.write([*good[:2], conflicting, *good[2:]])
        assert influx.count(database, "vitals") == 6

    async def test_a_missing_database_is_made_on_first_write(
        self, influx: InfluxDB, database: str
    ) -> None:
        writer = InfluxV1Writer(influx.url, database)  # start() not called
        await writer.write([heart(T0, 80, seq=1)])
        await writer.aclose()
        assert influx.count(database, "vitals") == 1

    async def test_without_leave_to_create_a_missing_database_is_unavailable(
        self, influx: InfluxDB, database: str
    ) -> None:
        writer = InfluxV1Writer(influx.url, database, create_database=False)
        await writer.start()
        with pytest.raises(TimeSeriesUnavailable, match="404"):
            await writer.write([heart(T0, 80, seq=1)])
        await writer.aclose()

    async def test_a_closed_port_is_unavailable(self) -> None:
        writer = InfluxV1Writer(f"http://127.0.0.1:{free_port()}", "anxin")
        await writer.start()  # logs, does not raise: the first write will create it
        with pytest.raises(TimeSeriesUnavailable):
            await writer.write([heart(T0, 80, seq=1)])
        await writer.aclose()


class TestDurableWriterOverInfluxDB:
    async def test_readings_submitted_while_influxdb_is_down_are_all_stored_in_order(
        self, influx: InfluxDB, writer: InfluxV1Writer, database: str, tmp_path: Path
    ) -> None:
        durable = DurableWriter(
            writer,
            Spool(tmp_path / "spool", max_bytes=1 << 24),
            batch_size=500,
            linger_s=0.01,
            retry_max_s=0.2,
            retry_first_s=0.02,
            spool_after_s=0.2,
            rng=random.Random(1),
        )
        await durable.start()
        marker_at = T0 + timedelta(days=1)
        influx.stop()
        try:
            futures = []
            for batch in range(40):
                readings = [
                    heart(T0 + timedelta(seconds=batch * 50 + i), 60 + i, seq=batch * 50 + i)
                    for i in range(50)
                ]
                # The same point written with a growing value: what InfluxDB keeps at the
                # end shows which write came last, so it tells whether order held.
                marker = line(
                    "vitals", {"heart_rate": 20 + batch}, at=marker_at, seq=batch, device="order"
                )
                futures.append(durable.submit([*readings, marker]))
                await asyncio.sleep(0.005)
            assert await asyncio.gather(*futures) == ["spooled"] * 40
            assert durable.spool_bytes > 0
        finally:
            influx.start()
        await eventually(lambda: influx.count(database, "vitals") == 40 * 50 + 1)
        await eventually(lambda: durable.spool_bytes == 0)
        rows = influx.query(database, "SELECT heart_rate FROM vitals WHERE device_id = 'order'")
        assert rows == [[marker_at.strftime("%Y-%m-%dT%H:%M:%SZ"), 59]]
        assert durable.replayed == durable.spooled == 40 * 51
        await durable.stop()

    async def test_a_refused_batch_stores_its_good_lines_and_reports_the_bad_one(
        self, influx: InfluxDB, writer: InfluxV1Writer, database: str, tmp_path: Path
    ) -> None:
        await writer.write([heart(T0, 80, seq=0)])
        refused: list[tuple[list[str], Exception]] = []
        durable = DurableWriter(
            writer,
            Spool(tmp_path / "spool", max_bytes=1 << 20),
            batch_size=1000,
            linger_s=0.01,
            retry_max_s=0.2,
            on_rejected=lambda lines, error: refused.append((list(lines), error)),
        )
        await durable.start()
        bad = "vitals,device_id=d1,home_id=h1 heart_rate=81i,seq=1i 1795420800000000001"
        good = [heart(T0 + timedelta(seconds=s), 80, seq=s) for s in range(1, 100)]
        assert await durable.submit([*good[:60], bad, *good[60:]]) == "stored"
        assert [lines for lines, _ in refused] == [[bad]]
        assert isinstance(refused[0][1], TimeSeriesRejected)
        assert influx.count(database, "vitals") == 100
        await durable.stop()


DATASET = [
    *(heart(T0 + timedelta(minutes=m), 60 + m, seq=m) for m in range(10)),
    heart(T0 + timedelta(minutes=1), 100, seq=1, device="d2"),
    line(
        "vitals", {"consciousness": "A", "on_oxygen": False}, at=T0 + timedelta(minutes=20), seq=99
    ),
    heart(T0 + timedelta(minutes=30), 50, seq=5, home="h2"),
    line(
        "motion",
        {"room": "kitchen", "motion": True},
        at=T0 + timedelta(minutes=3),
        seq=7,
        battery=50,
    ),
    line("power", {"appliance": "stove", "watts": 1500, "on": True}, at=T0, seq=8, room="kitchen"),
]


@pytest.fixture(params=["influxdb", "local"])
async def loaded(
    request: pytest.FixtureRequest, influx: InfluxDB, database: str, tmp_path: Path
) -> AsyncIterator[TimeSeriesReader]:
    """A reader over DATASET, from real InfluxDB 1.6 or from the local store."""
    if request.param == "influxdb":
        writer = InfluxV1Writer(influx.url, database)
        await writer.write(DATASET)
        await writer.aclose()
        influx_reader = InfluxQLReader(influx.url, database)
        yield influx_reader
        await influx_reader.aclose()
    else:
        store = LocalStore(tmp_path / "ts.sqlite3", synchronous="NORMAL")
        await store.write(DATASET)
        yield store
        await store.aclose()


class TestQueriesOnBothBackends:
    async def test_latest_is_the_newest_point_of_each_type(self, loaded: TimeSeriesReader) -> None:
        assert await loaded.latest("h1") == {
            "vitals": SeriesPoint(
                time=T0 + timedelta(minutes=20),
                tags={"device_id": "d1", "home_id": "h1"},
                fields={"consciousness": "A", "on_oxygen": False, "seq": 99},
            ),
            "motion": SeriesPoint(
                time=T0 + timedelta(minutes=3),
                tags={"device_id": "d1", "home_id": "h1", "room": "kitchen"},
                fields={"battery": 50.0, "motion": True, "seq": 7},
            ),
            "power": SeriesPoint(
                time=T0,
                tags={"appliance": "stove", "device_id": "d1", "home_id": "h1", "room": "kitchen"},
                fields={"on": True, "seq": 8, "watts": 1500.0},
            ),
        }
        assert await loaded.latest("nobody") == {}

    async def test_series_is_every_point_in_since_until(self, loaded: TimeSeriesReader) -> None:
        points = await loaded.series(
            "h1", "vitals", since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=4)
        )
        assert [(p.time, p.tags["device_id"], p.fields) for p in points] == [
            (T0 + timedelta(minutes=1), "d1", {"heart_rate": 61.0, "seq": 1, "spo2": 97.0}),
            (T0 + timedelta(minutes=1), "d2", {"heart_rate": 100.0, "seq": 1, "spo2": 97.0}),
            (T0 + timedelta(minutes=2), "d1", {"heart_rate": 62.0, "seq": 2, "spo2": 97.0}),
            (T0 + timedelta(minutes=3), "d1", {"heart_rate": 63.0, "seq": 3, "spo2": 97.0}),
        ]

    async def test_every_gives_window_means_per_device(self, loaded: TimeSeriesReader) -> None:
        points = await loaded.series(
            "h1",
            "vitals",
            since=T0 + timedelta(minutes=1),
            until=T0 + timedelta(hours=1),
            every=timedelta(minutes=4),
        )
        assert [(p.time, p.tags["device_id"], p.fields) for p in points] == [
            (T0, "d1", {"heart_rate": 62.0, "spo2": 97.0}),
            (T0, "d2", {"heart_rate": 100.0, "spo2": 97.0}),
            (T0 + timedelta(minutes=4), "d1", {"heart_rate": 65.5, "spo2": 97.0}),
            (T0 + timedelta(minutes=8), "d1", {"heart_rate": 68.5, "spo2": 97.0}),
        ]

    async def test_count_is_every_home(self, loaded: TimeSeriesReader) -> None:
        assert await loaded.count("vitals") == 13
        assert await loaded.count("smoke") == 0

    @pytest.mark.parametrize(
        ("home_id", "measurement"),
        [
            ("h1' OR home_id =~ /.*/ --", "vitals"),
            ("h1", 'vitals" ; DROP DATABASE "x'),
            ("", "vitals"),
        ],
    )
    async def test_anything_but_ids_and_types_is_refused(
        self, loaded: TimeSeriesReader, home_id: str, measurement: str
    ) -> None:
        with pytest.raises(ValueError, match=r"not an id|unknown measurement"):
            await loaded.series(home_id, measurement, since=T0, until=T0 + timedelta(hours=1))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class Recorder:
    """A tiny real HTTP/1.1 server on loopback: records requests, answers `status`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.status = 204
        self.reply = b""
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                request_line, *header_lines = head.strip().split("\r\n")
                method, target, _ = request_line.split(" ")
                headers = {
                    key.strip().lower(): value.strip()
                    for key, value in (header.split(":", 1) for header in header_lines)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                parts = urlsplit(target)
                self.requests.append(
                    Request(method, parts.path, parse_qs(parts.query), headers, body)
                )
                writer.write(
                    f"HTTP/1.1 {self.status} Recorded\r\nContent-Length: {len(self.reply)}\r\n"
                    f"Content-Type: application/json\r\n\r\n".encode()
                    + self.reply
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    yield recorder
    await recorder.stop()


class TestInfluxV2Writer:
    async def test_posts_line_protocol_to_api_v2_write_with_the_token(
        self, recorder: Recorder
    ) -> None:
        url = await recorder.start()
        writer = InfluxV2Writer(url, org="care-org", bucket="anxin", token="s3cret")
        lines = [heart(T0, 80, seq=1), line("sos", {"action": "press"}, at=T0, seq=2)]
        await writer.write(lines)
        await writer.aclose()
        (request,) = recorder.requests
        assert (request.method, request.path) == ("POST", "/api/v2/write")
        assert request.query == {"org": ["care-org"], "bucket": ["anxin"], "precision": ["ns"]}
        assert request.headers["authorization"] == "Token s3cret"
        assert request.headers["content-type"].startswith("text/plain")
        assert request.body == "\n".join(lines).encode()

    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (400, TimeSeriesRejected),
            (413, TimeSeriesRejected),
            (422, TimeSeriesRejected),
            (401, TimeSeriesUnavailable),
            (404, TimeSeriesUnavailable),
            (429, TimeSeriesUnavailable),
            (500, TimeSeriesUnavailable),
            (503, TimeSeriesUnavailable),
        ],
    )
    async def test_http_failures_map_to_unavailable_or_rejected(
        self, recorder: Recorder, status: int, error: type[Exception]
    ) -> None:
        recorder.status = status
        recorder.reply = b'{"code":"x","message":"the reason"}'
        writer = InfluxV2Writer(await recorder.start(), org="o", bucket="b", token="t")
        with pytest.raises(error, match=f"HTTP {status}: the reason"):
            await writer.write([heart(T0, 80, seq=1)])
        await writer.aclose()


class TestInfluxQLReaderWithToken:
    async def test_queries_v1_compat_with_the_token(self, recorder: Recorder) -> None:
        recorder.status = 200
        recorder.reply = b'{"results":[{"statement_id":0}]}'
        reader = InfluxQLReader(await recorder.start(), "anxin", token="s3cret")
        assert await reader.series("h1", "vitals", since=T0, until=T0 + timedelta(hours=1)) == []
        await reader.aclose()
        (request,) = recorder.requests
        assert (request.method, request.path) == ("GET", "/query")
        assert request.headers["authorization"] == "Token s3cret"
        assert request.query["db"] == ["anxin"]
        assert request.query["q"] == [
            'SELECT * FROM "vitals" WHERE "home_id" = \'h1\' AND time >= '
            "'2026-11-23T08:00:00.000000Z' AND time < '2026-11-23T09:00:00.000000Z' GROUP BY *"
        ]
