"""The gateway's duplicate window: never a false duplicate, every recent redelivery caught,
in ~2 KB a device."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gateway.dedup import SeenReadings

T0 = datetime(2026, 11, 24, tzinfo=UTC)
WINDOW = 8


def at(second: int) -> datetime:
    return T0 + timedelta(seconds=second)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.integers(min_value=0, max_value=40),
            st.integers(min_value=0, max_value=3),
        ),
        max_size=300,
    )
)
def test_only_a_reading_seen_before_is_a_duplicate(stream: list[tuple[str, int, int]]) -> None:
    seen = SeenReadings(per_device=WINDOW)
    before: set[tuple[str, int, int]] = set()
    for reading in stream:
        device_id, seq, second = reading
        if seen.is_duplicate(device_id, seq, at(second)):
            assert reading in before
        before.add(reading)


@given(
    st.integers(min_value=1, max_value=60),
    st.lists(st.integers(min_value=0, max_value=WINDOW - 1), max_size=20),
)
def test_a_redelivery_of_any_of_the_last_readings_is_caught(sent: int, back: list[int]) -> None:
    """A device counting up, then the broker redelivering some of its latest readings."""
    seen = SeenReadings(per_device=WINDOW)
    for seq in range(sent):
        assert not seen.is_duplicate("d", seq, at(seq))
    for steps in back:
        seq = sent - 1 - steps
        if seq >= 0:
            assert seen.is_duplicate("d", seq, at(seq))


def test_a_device_that_restarts_its_counter_is_heard_afresh() -> None:
    seen = SeenReadings()
    assert not seen.is_duplicate("d", 7, T0)
    assert seen.is_duplicate("d", 7, T0)
    assert not seen.is_duplicate("d", 7, at(3600))  # counter restarted
    assert not seen.is_duplicate("e", 7, T0)  # another device's seq 7
    seen.clear()
    assert not seen.is_duplicate("d", 7, at(3600))


def test_a_full_window_costs_about_two_kilobytes_a_device() -> None:
    tracemalloc.start()
    try:
        seen = SeenReadings()
        for device in range(500):
            for seq in range(200):
                seen.is_duplicate(f"device-{device:05d}", seq, at(seq))
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert used / 500 < 2600  # a dict of datetimes took ~15,000
