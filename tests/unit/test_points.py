"""`to_line`: held to influxdb-client's `Point`, the reference line-protocol encoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from influxdb_client import Point as _Point  # type: ignore[attr-defined]
from influxdb_client.domain.write_precision import WritePrecision

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER, TELEMETRY_TYPES, Telemetry
from gateway.points import FIELD_KINDS, check_aware, check_id, time_ns, to_line, window_ns

SAMPLES = sorted((Path(__file__).parents[1] / "contract" / "samples").glob("*.json"))
RECEIVED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DATA_TAGS = ("room", "door", "appliance")
Point: Any = _Point  # influxdb-client is untyped


def reading(
    telemetry: Telemetry, *, room: str | None = None, appliance: str | None = None
) -> Reading:
    return Reading(
        home_id="home-1",
        device_id="dev_7",
        room=room,
        appliance=appliance,
        received_at=RECEIVED,
        telemetry=telemetry,
    )


def reference_line(item: Reading) -> str:
    """The documented schema, spelled with influxdb-client's Point."""
    telemetry = item.telemetry
    data: dict[str, Any] = telemetry.data.model_dump()
    point = Point(telemetry.type).tag("home_id", item.home_id).tag("device_id", item.device_id)
    point.tag("room", data.get("room", item.room))
    point.tag("door", data.get("door"))
    point.tag("appliance", data.get("appliance", item.appliance))
    for key, value in data.items():
        if key not in DATA_TAGS:
            point.field(key, float(value) if type(value) is int else value)
    point.field("seq", telemetry.seq)
    point.field("battery", telemetry.battery)
    point.time(telemetry.ts, write_precision=WritePrecision.NS)
    line = point.to_line_protocol()
    assert isinstance(line, str)
    return line


def sample(path: Path) -> Telemetry:
    return TELEMETRY_ADAPTER.validate_json(path.read_bytes())


class TestToLine:
    def test_there_is_a_sample_for_every_type(self) -> None:
        assert sorted(path.stem for path in SAMPLES) == sorted(TELEMETRY_TYPES)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.stem)
    @pytest.mark.parametrize(
        ("room", "appliance"), [(None, None), ("bedroom", None), ("hall", "kettle")]
    )
    def test_each_sample_matches_influxdb_client(
        self, path: Path, room: str | None, appliance: str | None
    ) -> None:
        item = reading(sample(path), room=room, appliance=appliance)
        assert to_line(item) == reference_line(item)

    def test_vitals_sample_is_spelled_as_documented(self) -> None:
        item = reading(sample(SAMPLES[[p.stem for p in SAMPLES].index("vitals")]), room="bedroom")
        assert to_line(item) == (
            "vitals,device_id=dev_7,home_id=home-1,room=bedroom "
            "battery=83,heart_rate=128,resp_rate=24,seq=1042i,spo2=91,systolic_bp=98,"
            "temperature=38.4 1795421700123000000"
        )

    def test_room_from_the_data_wins_over_the_registered_room(self) -> None:
        motion = TELEMETRY_ADAPTER.validate_python(
            {
                "type": "motion",
                "ts": 1795392000000,
                "seq": 1,
                "data": {"room": "kitchen", "motion": True},
            }
        )
        assert ",room=kitchen " in to_line(reading(motion, room="hall"))

    def test_strings_are_quoted_and_escaped(self) -> None:
        heartbeat = TELEMETRY_ADAPTER.validate_python(
            {
                "type": "heartbeat",
                "ts": 1795392000000,
                "seq": 2,
                "data": {"firmware": 'v"2\\ b,c=d'},
            }
        )
        item = reading(heartbeat)
        assert to_line(item) == reference_line(item)
        assert 'firmware="v\\"2\\\\ b,c=d"' in to_line(item)

    def test_every_vitals_field_kind(self) -> None:
        vitals = TELEMETRY_ADAPTER.validate_python(
            {
                "type": "vitals",
                "ts": "2026-11-23T08:15:00.000001+08:00",
                "seq": 9,
                "data": {"on_oxygen": True, "consciousness": "V", "diastolic_bp": 60},
            }
        )
        item = reading(vitals)
        assert to_line(item) == reference_line(item)
        assert 'consciousness="V",diastolic_bp=60,on_oxygen=true,seq=9i ' in to_line(item)

    @given(
        st.fixed_dictionaries(
            {},
            optional={
                "heart_rate": st.floats(20, 250),
                "resp_rate": st.integers(2, 70),
                "spo2": st.floats(50, 100),
                "temperature": st.floats(30, 44),
                "on_oxygen": st.booleans(),
                "consciousness": st.sampled_from("ACVPU"),
            },
        ).filter(bool),
        st.integers(0, 2**63 - 1),
        st.datetimes(datetime(2000, 1, 2), datetime(2199, 12, 30), timezones=st.just(UTC)),
        st.none() | st.floats(0, 100),
    )
    def test_any_vitals_match_influxdb_client(
        self, data: dict[str, Any], seq: int, ts: datetime, battery: float | None
    ) -> None:
        vitals = TELEMETRY_ADAPTER.validate_python(
            {"type": "vitals", "ts": ts.isoformat(), "seq": seq, "battery": battery, "data": data}
        )
        item = reading(vitals)
        assert to_line(item) == reference_line(item)

    def test_a_redelivered_reading_is_the_same_line(self) -> None:
        path = SAMPLES[0]
        assert to_line(reading(sample(path))) == to_line(reading(sample(path)))


class TestSchemaHelpers:
    def test_field_kinds_name_every_field_of_every_type(self) -> None:
        assert sorted(FIELD_KINDS) == sorted(TELEMETRY_TYPES)
        assert FIELD_KINDS["vitals"]["consciousness"] == "str"
        assert FIELD_KINDS["power"] == {
            "battery": "float",
            "on": "bool",
            "seq": "int",
            "watts": "float",
        }

    def test_time_ns_is_exact_to_the_microsecond(self) -> None:
        moment = datetime(2026, 11, 23, 8, 15, 0, 123457, tzinfo=UTC)
        assert time_ns(moment) == 1_795_421_700_123_457_000

    @pytest.mark.parametrize("bad", ["", "a b", "x'y", "a" * 65, "ü", "h;DROP"])
    def test_check_id_refuses_anything_but_ids(self, bad: str) -> None:
        with pytest.raises(ValueError, match="not an id"):
            check_id(bad)

    def test_naive_times_and_empty_windows_are_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            check_aware(datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="every"):
            window_ns(timedelta(0))
