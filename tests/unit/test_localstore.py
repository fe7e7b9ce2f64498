"""The embedded SQLite time-series store: InfluxDB's write semantics and the reader surface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from gateway.localstore import LineError, LocalStore, parse_line
from gateway.points import to_line
from gateway.timeseries import SeriesPoint, TimeSeriesRejected, TimeSeriesUnavailable

SAMPLES = sorted((Path(__file__).parents[1] / "contract" / "samples").glob("*.json"))
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


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
    return to_line(
        Reading(home_id=home, device_id=device, room=room, received_at=at, telemetry=telemetry)
    )


def heart(at: datetime, rate: float, *, seq: int, device: str = "d1", home: str = "h1") -> str:
    return line(
        "vitals", {"heart_rate": rate, "spo2": 97}, at=at, seq=seq, device=device, home=home
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    store = LocalStore(tmp_path / "ts.sqlite3")
    yield store
    await store.aclose()


class TestParseLine:
    @pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.stem)
    def test_reads_back_what_to_line_writes(self, path: Path) -> None:
        telemetry = TELEMETRY_ADAPTER.validate_json(path.read_bytes())
        written = to_line(
            Reading(home_id="h1", device_id="d1", room="hall", received_at=T0, telemetry=telemetry)
        )
        measurement, series, fields, time = parse_line(written)
        assert measurement == telemetry.type
        assert "home_id=h1" in series.split(",")
        assert fields["seq"] == telemetry.seq
        assert time == int(written.rsplit(" ", 1)[1])
        for key, value in telemetry.data.model_dump(exclude_none=True).items():
            if key not in ("room", "door", "appliance"):
                assert fields[key] == value
                assert type(fields[key]) is type(value)

    def test_strings_with_commas_quotes_and_spaces(self) -> None:
        _, _, fields, _ = parse_line('heartbeat,home_id=h firmware="a, b=\\"c\\" \\\\",seq=1i 5')
        assert fields == {"firmware": 'a, b="c" \\', "seq": 1}

    def test_tags_are_put_in_order(self) -> None:
        assert parse_line("m,z=1,a=2 f=1 5")[1] == "a=2,z=1"

    @pytest.mark.parametrize(
        "bad",
        [
            "m f=1",  # no timestamp
            "m 5",  # no fields
            "m f=1 12:00",
            "m,t=a\\ b f=1 5",
            "m f=nan 5",
            "m f=1.2.3 5",
            "m f=12ii 5",
            'm f="open 5',
            "m =1 5",
            "",
        ],
    )
    def test_refuses_lines_outside_the_subset(self, bad: str) -> None:
        with pytest.raises(LineError):
            parse_line(bad)


class TestWriting:
    async def test_the_same_reading_written_twice_is_stored_once(self, store: LocalStore) -> None:
        once = heart(T0, 80, seq=1)
        await store.write([once])
        await store.write([once, once])
        assert await store.count("vitals") == 1

    async def test_rewriting_a_point_merges_its_fields(self, store: LocalStore) -> None:
        await store.write(["vitals,device_id=d1,home_id=h1 heart_rate=80,seq=1i 1000"])
        await store.write(["vitals,device_id=d1,home_id=h1 heart_rate=81,spo2=97 1000"])
        point = (await store.latest("h1"))["vitals"]
        assert point.fields == {"heart_rate": 81.0, "spo2": 97.0, "seq": 1}

    async def test_other_tags_or_times_are_other_points(self, store: LocalStore) -> None:
        await store.write(
            [
                heart(T0, 80, seq=1),
                heart(T0, 80, seq=1, device="d2"),
                heart(T0 + timedelta(seconds=1), 80, seq=2),
            ]
        )
        assert await store.count("vitals") == 3

    async def test_a_bad_line_is_refused_and_the_rest_stored(self, store: LocalStore) -> None:
        good = [heart(T0 + timedelta(seconds=index), 70 + index, seq=index) for index in range(5)]
        with pytest.raises(TimeSeriesRejected, match="1 of 6 lines"):
            await store.write([*good[:2], "vitals,home_id=h1 heart_rate=oops 5", *good[2:]])
        assert await store.count("vitals") == 5

    async def test_a_field_keeps_its_first_type_like_influxdb(
        self, store: LocalStore, tmp_path: Path
    ) -> None:
        await store.write(["vitals,home_id=h1 heart_rate=80,seq=1i 1000"])
        with pytest.raises(TimeSeriesRejected, match="already stored as float"):
            await store.write(["vitals,home_id=h1 heart_rate=81i,seq=2i 2000"])
        await store.aclose()
        reopened = LocalStore(tmp_path / "ts.sqlite3")
        with pytest.raises(TimeSeriesRejected, match="already stored as float"):
            await reopened.write(["vitals,home_id=h1 heart_rate=81i,seq=2i 2000"])
        assert await reopened.count("vitals") == 1
        await reopened.aclose()

    async def test_points_outlive_a_reopen(self, store: LocalStore, tmp_path: Path) -> None:
        await store.write([heart(T0, 80, seq=1)])
        await store.aclose()
        reopened = LocalStore(tmp_path / "ts.sqlite3")
        assert await reopened.count("vitals") == 1
        await reopened.aclose()

    async def test_a_closed_store_is_unavailable(self, store: LocalStore) -> None:
        await store.aclose()
        with pytest.raises(TimeSeriesUnavailable):
            await store.write([heart(T0, 80, seq=1)])


class TestReading:
    async def test_latest_gives_the_newest_point_of_each_measurement(
        self, store: LocalStore
    ) -> None:
        await store.write(
            [
                heart(T0, 80, seq=1),
                heart(T0 + timedelta(minutes=5), 95, seq=2),
                heart(T0 + timedelta(minutes=9), 60, seq=3, home="h2"),
                line("motion", {"room": "kitchen", "motion": True}, at=T0, seq=7, battery=50),
                line("sos", {"action": "press"}, at=T0, seq=8, room="bedroom"),
            ]
        )
        latest = await store.latest("h1")
        assert latest == {
            "vitals": SeriesPoint(
                time=T0 + timedelta(minutes=5),
                tags={"device_id": "d1", "home_id": "h1"},
                fields={"heart_rate": 95.0, "spo2": 97.0, "seq": 2},
            ),
            "motion": SeriesPoint(
                time=T0,
                tags={"device_id": "d1", "home_id": "h1", "room": "kitchen"},
                fields={"battery": 50.0, "motion": True, "seq": 7},
            ),
            "sos": SeriesPoint(
                time=T0,
                tags={"device_id": "d1", "home_id": "h1", "room": "bedroom"},
                fields={"action": "press", "seq": 8},
            ),
        }
        assert await store.latest("nobody") == {}

    async def test_series_is_the_points_in_since_until(self, store: LocalStore) -> None:
        await store.write([heart(T0 + timedelta(minutes=m), 60 + m, seq=m) for m in range(10)])
        points = await store.series(
            "h1", "vitals", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5)
        )
        assert [p.time for p in points] == [T0 + timedelta(minutes=m) for m in (2, 3, 4)]
        assert [p.fields["heart_rate"] for p in points] == [62.0, 63.0, 64.0]

    async def test_every_gives_per_series_window_means_of_numbers(self, store: LocalStore) -> None:
        await store.write(
            [heart(T0 + timedelta(minutes=m), 60 + m, seq=m) for m in range(10)]
            + [heart(T0 + timedelta(minutes=1), 100, seq=1, device="d2")]
            + [line("vitals", {"consciousness": "A"}, at=T0 + timedelta(minutes=20), seq=99)]
        )
        points = await store.series(
            "h1",
            "vitals",
            since=T0 + timedelta(minutes=1),
            until=T0 + timedelta(hours=1),
            every=timedelta(minutes=4),
        )
        assert [(p.time, p.tags["device_id"], p.fields) for p in points] == [
            (T0, "d1", {"heart_rate": 62.0, "spo2": 97.0}),  # minutes 1..3: window starts at 0
            (T0, "d2", {"heart_rate": 100.0, "spo2": 97.0}),
            (T0 + timedelta(minutes=4), "d1", {"heart_rate": 65.5, "spo2": 97.0}),
            (T0 + timedelta(minutes=8), "d1", {"heart_rate": 68.5, "spo2": 97.0}),
        ]

    async def test_queries_take_ids_measurements_and_aware_times_only(
        self, store: LocalStore
    ) -> None:
        with pytest.raises(ValueError, match="not an id"):
            await store.latest("h1' OR 1=1")
        with pytest.raises(ValueError, match="unknown measurement"):
            await store.series("h1", "points", since=T0, until=T0)
        with pytest.raises(ValueError, match="aware"):
            await store.series("h1", "vitals", since=datetime(2026, 1, 1), until=T0)
        with pytest.raises(ValueError, match="unknown measurement"):
            await store.count("sqlite_master")
