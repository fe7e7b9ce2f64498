"""A record on the detections topic that is not a detection is named, never raised."""

from __future__ import annotations

import pytest

from alerts.intake import decode_detection


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty record"),
        (b"", "Invalid JSON"),
        (b"[1, 2]", "Input should be an object"),
        (b'{"detection_id": "x"}', "Field required"),
    ],
)
def test_a_record_that_is_not_a_detection_says_why(value: bytes | None, reason: str) -> None:
    decoded = decode_detection(value)
    assert isinstance(decoded, str)
    assert reason in decoded
