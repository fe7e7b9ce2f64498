"""The topic grammar: the topic, not the payload, says who is speaking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.topics import (
    DeviceTopic,
    offers_topic,
    parse_device_topic,
    status_topic,
    telemetry_topic,
)

ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")


class TestDeviceTopics:
    @given(ids, ids)
    def test_telemetry_topic_round_trips(self, home: str, device: str) -> None:
        assert parse_device_topic(telemetry_topic(home, device)) == DeviceTopic(
            home, device, "telemetry"
        )

    @given(ids, ids)
    def test_status_topic_round_trips(self, home: str, device: str) -> None:
        assert parse_device_topic(status_topic(home, device)) == DeviceTopic(home, device, "status")

    @pytest.mark.parametrize(
        "topic",
        [
            "",
            "anxin/v1/homes/h1/devices/d1",
            "anxin/v1/homes/h1/devices/d1/telemetry/extra",
            "anxin/v2/homes/h1/devices/d1/telemetry",
            "anxin/v1/homes/h1/devices/d1/commands",
            "anxin/v1/homes/h 1/devices/d1/telemetry",
            "anxin/v1/homes/+/devices/d1/telemetry",
            "anxin/v1/homes/h1/devices/" + "d" * 65 + "/telemetry",
            "anxin/v1/workers/w1/offers",
            "/anxin/v1/homes/h1/devices/d1/telemetry",
        ],
    )
    def test_anything_else_is_not_a_device_topic(self, topic: str) -> None:
        assert parse_device_topic(topic) is None

    @given(st.text(max_size=200))
    def test_arbitrary_text_never_raises(self, topic: str) -> None:
        parsed = parse_device_topic(topic)
        assert parsed is None or topic.startswith("anxin/v1/homes/")

    @pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "x" * 65, "home 1"])
    def test_formatting_refuses_ids_that_would_change_the_topic(self, bad: str) -> None:
        with pytest.raises(ValueError, match="not a valid id"):
            telemetry_topic(bad, "d1")
        with pytest.raises(ValueError, match="not a valid id"):
            offers_topic(bad)
