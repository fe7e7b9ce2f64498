"""One sample payload per telemetry type: the contract, as devices send it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.telemetry import TELEMETRY_TYPES, Invalid, decode_telemetry

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)


def sample_paths() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def test_every_telemetry_type_has_a_sample() -> None:
    assert {path.stem for path in sample_paths()} == set(TELEMETRY_TYPES)


@pytest.mark.parametrize("path", sample_paths(), ids=lambda path: path.stem)
def test_sample_is_accepted_as_its_type(path: Path) -> None:
    telemetry = decode_telemetry(path.read_bytes(), now=NOW, home_id="h1", device_id="d1")
    assert not isinstance(telemetry, Invalid), telemetry
    assert telemetry.type == path.stem
    assert telemetry.ts.tzinfo is not None
