"""The gateway's decision per message: topic, registry, payload, duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.events import Reading, StatusChange
from devices.registry import Home
from gateway.decode import Decoder, Rejected
from gateway.dedup import SeenReadings
from gateway.directory import CachedDirectory
from records.devices import DeviceRegistry, open_registry

NOW = datetime(2026, 11, 23, 8, 20, tzinfo=UTC)
TOPIC = "anxin/v1/homes/home-a/devices/watch-a/telemetry"


@pytest.fixture
def registry(tmp_path: Path) -> DeviceRegistry:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    for home in ("home-a", "home-b"):
        registry.add_home(Home(home_id=home, lat=22.5, lon=113.4))
    registry.add_device(device_id="watch-a", home_id="home-a", type="vitals", room="bedroom")
    registry.add_device(device_id="watch-b", home_id="home-b", type="vitals")
    return registry


@pytest.fixture
def decoder(registry: DeviceRegistry) -> Decoder:
    return Decoder(CachedDirectory(registry, registry.devices()), SeenReadings())


def payload(seq: int = 1, ts: str = "2026-11-23T08:15:00Z") -> bytes:
    return json.dumps({"type": "vitals", "ts": ts, "seq": seq, "data": {"heart_rate": 80}}).encode()


def decide(decoder: Decoder, topic: str, raw: bytes, clock: float = 0.0) -> object:
    return decoder.decode(topic, raw, now=NOW, monotonic_now=clock)


class TestDecoder:
    def test_a_registered_device_on_its_own_topic_is_accepted(self, decoder: Decoder) -> None:
        reading = decide(decoder, TOPIC, payload())
        assert isinstance(reading, Reading)
        assert (reading.home_id, reading.device_id, reading.room) == (
            "home-a",
            "watch-a",
            "bedroom",
        )

    def test_an_unregistered_device_is_refused(self, decoder: Decoder) -> None:
        outcome = decide(decoder, "anxin/v1/homes/home-a/devices/ghost/telemetry", payload())
        assert isinstance(outcome, Rejected)
        assert outcome.reason == "unknown_device"

    def test_a_device_publishing_under_another_home_is_a_topic_mismatch(
        self, decoder: Decoder
    ) -> None:
        outcome = decide(decoder, "anxin/v1/homes/home-b/devices/watch-a/telemetry", payload())
        assert isinstance(outcome, Rejected)
        assert outcome.reason == "topic_mismatch"

    def test_a_malformed_topic_is_refused(self, decoder: Decoder) -> None:
        outcome = decide(decoder, "anxin/v1/homes/home-a/telemetry", payload())
        assert isinstance(outcome, Rejected)
        assert outcome.reason == "bad_topic"

    def test_a_redelivered_reading_is_a_duplicate(self, decoder: Decoder) -> None:
        assert isinstance(decide(decoder, TOPIC, payload(seq=7)), Reading)
        outcome = decide(decoder, TOPIC, payload(seq=7))
        assert isinstance(outcome, Rejected)
        assert outcome.reason == "duplicate"

    def test_a_restarted_device_reusing_seq_at_a_new_time_is_accepted(
        self, decoder: Decoder
    ) -> None:
        assert isinstance(decide(decoder, TOPIC, payload(seq=1)), Reading)
        restarted = payload(seq=1, ts="2026-11-23T08:18:00Z")
        assert isinstance(decide(decoder, TOPIC, restarted), Reading)

    def test_a_device_provisioned_after_start_is_found(
        self, decoder: Decoder, registry: DeviceRegistry
    ) -> None:
        topic = "anxin/v1/homes/home-b/devices/late-one/telemetry"
        assert isinstance(decide(decoder, topic, payload()), Rejected)
        registry.add_device(device_id="late-one", home_id="home-b", type="vitals")
        assert isinstance(decide(decoder, topic, payload(), clock=2.0), Reading)

    @pytest.mark.parametrize(
        ("raw", "status"),
        [(b"online", "online"), (b"offline", "offline"), (b'"offline"', "offline")],
    )
    def test_status_messages_become_status_changes(
        self, decoder: Decoder, raw: bytes, status: str
    ) -> None:
        outcome = decide(decoder, "anxin/v1/homes/home-a/devices/watch-a/status", raw)
        assert isinstance(outcome, StatusChange)
        assert outcome.status == status

    def test_a_garbled_status_is_refused(self, decoder: Decoder) -> None:
        outcome = decide(decoder, "anxin/v1/homes/home-a/devices/watch-a/status", b"maybe")
        assert isinstance(outcome, Rejected)
        assert outcome.reason == "schema"

    @settings(
        max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        topic=st.one_of(
            st.text(max_size=120),
            st.builds(
                "anxin/v1/homes/{}/devices/{}/{}".format,
                st.sampled_from(["home-a", "home-b", "x", "", "+"]),
                st.sampled_from(["watch-a", "watch-b", "ghost", "#"]),
                st.sampled_from(["telemetry", "status", "other"]),
            ),
        ),
        raw=st.binary(max_size=512),
    )
    def test_hostile_topics_and_payloads_are_always_decided(
        self, decoder: Decoder, topic: str, raw: bytes
    ) -> None:
        outcome = decide(decoder, topic, raw)
        assert isinstance(outcome, Reading | StatusChange | Rejected)
