"""Telemetry payloads: what is accepted, and the reason for everything refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.telemetry import MAX_PAYLOAD_BYTES, Invalid, decode_telemetry
from devices.types.sos import SosTelemetry
from devices.types.vitals import VitalsTelemetry

NOW = datetime(2026, 11, 23, 8, 20, tzinfo=UTC)


def decode(document: object) -> object:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return decode_telemetry(raw, now=NOW, home_id="home-1", device_id="dev-1")


def vitals(**data: object) -> dict[str, object]:
    return {"type": "vitals", "ts": "2026-11-23T08:15:00Z", "seq": 1, "data": data}


class TestTimestamps:
    def test_rfc3339_with_offset_is_normalised_to_utc(self) -> None:
        reading = decode({**vitals(spo2=97), "ts": "2026-11-23T16:15:00+08:00"})
        assert isinstance(reading, VitalsTelemetry)
        assert reading.ts == datetime(2026, 11, 23, 8, 15, tzinfo=UTC)

    def test_epoch_milliseconds_are_accepted(self) -> None:
        epoch_ms = int(datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp() * 1000) + 123
        reading = decode({**vitals(spo2=97), "ts": epoch_ms})
        assert isinstance(reading, VitalsTelemetry)
        assert reading.ts == datetime(2026, 11, 23, 8, 0, 0, 123000, tzinfo=UTC)

    @pytest.mark.parametrize(
        "ts",
        ["2026-11-23T08:15:00", "yesterday", "", 1.5, True, None, 1_700_000_000, "9" * 60],
        ids=["naive", "words", "empty", "float", "bool", "null", "seconds-not-ms", "long"],
    )
    def test_unusable_timestamps_are_schema_errors(self, ts: object) -> None:
        outcome = decode({**vitals(spo2=97), "ts": ts})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "schema"
        assert "ts" in outcome.detail

    def test_more_than_five_minutes_ahead_is_refused(self) -> None:
        ahead = (NOW + timedelta(minutes=5, seconds=1)).isoformat()
        outcome = decode({**vitals(spo2=97), "ts": ahead})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "future_timestamp"

    def test_up_to_five_minutes_ahead_is_clock_skew_and_accepted(self) -> None:
        ahead = (NOW + timedelta(minutes=5)).isoformat()
        assert isinstance(decode({**vitals(spo2=97), "ts": ahead}), VitalsTelemetry)

    def test_late_readings_are_accepted_at_their_own_time(self) -> None:
        late = NOW - timedelta(days=3)
        reading = decode({**vitals(spo2=97), "ts": late.isoformat()})
        assert isinstance(reading, VitalsTelemetry)
        assert reading.ts == late


class TestVitals:
    def test_a_subset_of_parameters_is_enough(self) -> None:
        reading = decode(vitals(heart_rate=72))
        assert isinstance(reading, VitalsTelemetry)
        assert reading.data.heart_rate == 72
        assert reading.data.spo2 is None

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"heart_rate": None},
            {"heart_rate": 0},
            {"heart_rate": 400},
            {"spo2": 101},
            {"spo2": 20},
            {"temperature": 50},
            {"temperature": 98.6},
            {"resp_rate": -1},
            {"systolic_bp": 80, "diastolic_bp": 90},
            {"consciousness": "X"},
            {"on_oxygen": "yes"},
            {"heart_rate": "72"},
            {"pulse": 72},
        ],
    )
    def test_impossible_or_malformed_vitals_are_refused(self, data: dict[str, object]) -> None:
        outcome = decode(vitals(**data))
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "schema"


class TestEnvelope:
    def test_unknown_top_level_key_is_refused(self) -> None:
        outcome = decode({**vitals(spo2=97), "note": "hi"})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "schema"
        assert "note" in outcome.detail

    def test_payload_claiming_another_home_is_a_topic_mismatch(self) -> None:
        outcome = decode({**vitals(spo2=97), "home_id": "someone-else"})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "topic_mismatch"

    def test_payload_claiming_another_device_is_a_topic_mismatch(self) -> None:
        outcome = decode({**vitals(spo2=97), "device_id": "other-dev"})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "topic_mismatch"

    @pytest.mark.parametrize("seq", [-1, "7", 1.5, 2**64, None])
    def test_bad_seq_is_refused(self, seq: object) -> None:
        outcome = decode({**vitals(spo2=97), "seq": seq})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "schema"

    @pytest.mark.parametrize("battery", [-1, 101, "full", True])
    def test_bad_battery_is_refused(self, battery: object) -> None:
        outcome = decode({**vitals(spo2=97), "battery": battery})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "schema"

    def test_unknown_type_is_refused(self) -> None:
        outcome = decode({"type": "teleport", "ts": "2026-11-23T08:15:00Z", "seq": 1, "data": {}})
        assert isinstance(outcome, Invalid)
        assert outcome.reason == "schema"

    def test_sos_cancel_is_accepted(self) -> None:
        reading = decode(
            {"type": "sos", "ts": "2026-11-23T08:15:00Z", "seq": 2, "data": {"action": "cancel"}}
        )
        assert isinstance(reading, SosTelemetry)
        assert reading.data.action == "cancel"


class TestHostileBytes:
    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (b"", "invalid_json"),
            (b"{", "invalid_json"),
            (b"\xff\xfe\x00", "invalid_json"),
            (b"[" * 3000 + b"]" * 3000, "invalid_json"),
            (b'{"a":' * 2000 + b"1" + b"}" * 2000, "invalid_json"),
            (b"[]", "schema"),
            (b"42", "schema"),
            (b'"vitals"', "schema"),
            (b"null", "schema"),
            (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large"),
        ],
        ids=[
            "empty",
            "truncated",
            "not-utf8",
            "deep-array",
            "deep-object",
            "array",
            "number",
            "string",
            "null",
            "too-large",
        ],
    )
    def test_each_is_refused_with_its_reason(self, raw: bytes, reason: str) -> None:
        outcome = decode(raw)
        assert isinstance(outcome, Invalid)
        assert outcome.reason == reason

    def test_exactly_16_kib_is_not_too_large(self) -> None:
        document = vitals(spo2=97)
        raw = json.dumps(document).encode()
        padded = raw[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(raw)) + b"}"
        assert len(padded) == MAX_PAYLOAD_BYTES
        assert isinstance(decode(padded), VitalsTelemetry)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=2048))
    def test_arbitrary_bytes_never_raise(self, raw: bytes) -> None:
        outcome = decode(raw)
        assert isinstance(outcome, Invalid) or hasattr(outcome, "type")

    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=20,
    )

    @settings(max_examples=300, deadline=None)
    @given(
        st.sampled_from(["vitals", "fall", "sos", "motion", "door", "power", "smoke", "x", None]),
        st.dictionaries(st.sampled_from(["ts", "seq", "battery", "data", "extra"]), json_values),
    )
    def test_arbitrary_documents_are_decided_never_raise(
        self, kind: str | None, fields: dict[str, object]
    ) -> None:
        outcome = decode(json.dumps({"type": kind, **fields}).encode())
        if isinstance(outcome, Invalid):
            assert outcome.reason in ("schema", "future_timestamp", "invalid_json")
            assert outcome.detail
