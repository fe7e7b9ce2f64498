"""The generated message stream: reproducible, valid, ordered."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from devices.telemetry import TELEMETRY_ADAPTER, Invalid, decode_telemetry
from simulators.fleet import build_fleet
from simulators.injections import parse_injection
from simulators.stream import SimEvent, StatusEvent, generate, merged, simulate_fleet

START = datetime(2026, 11, 20, 16, tzinfo=UTC)  # midnight in Zhongshan
FLEET = build_fleet(4, seed=11)


def _events(
    home_index: int = 0, *, days: float = 1, seed: int = 11, start: datetime = START
) -> list[SimEvent]:
    items = generate(FLEET[home_index], start, start + timedelta(days=days), seed=seed)
    return [item for item in items if isinstance(item, SimEvent)]


class TestReproducible:
    def test_same_seed_gives_the_identical_stream(self) -> None:
        assert _events() == _events()

    def test_another_seed_gives_another_stream(self) -> None:
        assert _events(seed=11) != _events(seed=12)

    def test_a_later_start_sees_the_same_readings(self) -> None:
        whole = _events(days=1)
        later = _events(days=0.5, start=START + timedelta(hours=12))

        def strip(events: list[SimEvent]) -> list[tuple[object, ...]]:
            return [
                (e.ts, e.device_id, {k: v for k, v in e.payload.items() if k != "seq"})
                for e in events
            ]

        cut = START + timedelta(hours=12)
        assert strip([e for e in whole if e.ts >= cut]) == strip(later)

    def test_homes_differ(self) -> None:
        first = [(e.ts, e.payload["type"]) for e in _events(0)]
        second = [(e.ts, e.payload["type"]) for e in _events(1)]
        assert first != second


class TestPayloads:
    @pytest.mark.parametrize("home_index", range(len(FLEET)))
    def test_every_payload_validates(self, home_index: int) -> None:
        for event in _events(home_index, days=2):
            TELEMETRY_ADAPTER.validate_python(event.payload)

    def test_every_body_decodes_as_the_gateway_would(self) -> None:
        now = START + timedelta(days=3)
        for event in _events(days=1):
            telemetry = decode_telemetry(
                event.body(), now=now, home_id=event.home_id, device_id=event.device_id
            )
            assert not isinstance(telemetry, Invalid), telemetry
            assert telemetry.ts == event.ts

    def test_all_telemetry_types_occur(self) -> None:
        types = {event.payload["type"] for event in _events(days=1)}
        assert types >= {
            "vitals",
            "heartbeat",
            "motion",
            "door",
            "bed",
            "power",
            "smoke",
            "environment",
        }

    def test_bodies_stay_small(self) -> None:
        assert max(len(event.body()) for event in _events()) < 400


class TestOrder:
    def test_timestamps_never_go_back(self) -> None:
        events = _events(days=2)
        assert all(a.ts <= b.ts for a, b in itertools.pairwise(events))

    def test_seq_strictly_increases_per_device(self) -> None:
        seqs: dict[str, list[int]] = defaultdict(list)
        for event in _events(days=2):
            seqs[event.device_id].append(event.payload["seq"])
        assert len(seqs) == len(FLEET[0].devices)
        for values in seqs.values():
            assert all(a < b for a, b in itertools.pairwise(values))

    def test_events_stay_inside_the_range(self) -> None:
        end = START + timedelta(hours=5)
        events = list(generate(FLEET[0], START + timedelta(minutes=7), end, seed=11))
        assert START + timedelta(minutes=7) <= events[0].ts
        assert events[-1].ts < end

    def test_a_fleet_merges_into_one_ordered_stream(self) -> None:
        simulations = simulate_fleet(FLEET, START, seed=11)
        items = list(merged(simulations, START, START + timedelta(hours=6)))
        assert {item.home_id for item in items} == {home.home_id for home in FLEET}
        assert all(a.ts <= b.ts for a, b in itertools.pairwise(items))

    def test_an_open_ended_stream_keeps_going(self) -> None:
        items = generate(FLEET[0], START, None, seed=11)
        count = 0
        for item in items:
            count += 1
            if item.ts > START + timedelta(days=3):
                break
        assert count > 5000


class TestStatus:
    def test_an_offline_device_says_so_once_and_then_stays_silent(self) -> None:
        device = FLEET[0].find("climate").device_id
        injection = parse_injection(f"device_offline@{FLEET[0].home_id}+2h/{device}")
        items = list(
            generate(FLEET[0], START, START + timedelta(hours=6), seed=11, injections=[injection])
        )
        statuses = [item for item in items if isinstance(item, StatusEvent)]
        assert statuses == [
            StatusEvent(START + timedelta(hours=2), FLEET[0].home_id, device, "offline")
        ]
        later = [
            item
            for item in items
            if item.device_id == device and item.ts >= statuses[0].ts and isinstance(item, SimEvent)
        ]
        assert later == []
