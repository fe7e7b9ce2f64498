"""Fixtures that start real servers: each on free loopback ports, data in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.testbed.influxdb import InfluxDB
from anxin.testbed.tansu import Tansu


@pytest.fixture
def influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path / "influxdb")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[Tansu]:
    workdir = tmp_path / "tansu"
    workdir.mkdir()
    server = Tansu(workdir)
    server.start()
    yield server
    server.stop()
