"""Simulated homes and their devices."""

from __future__ import annotations

import math
from collections import Counter

from devices.topics import is_valid_id
from simulators.fleet import ROOMS, ZHONGSHAN, build_fleet, home_id_for


def _km(lat: float, lon: float) -> float:
    north = (lat - ZHONGSHAN[0]) * 111.32
    east = (lon - ZHONGSHAN[1]) * 111.32 * math.cos(math.radians(ZHONGSHAN[0]))
    return math.hypot(north, east)


class TestBuildFleet:
    def test_homes_are_numbered_from_one(self) -> None:
        fleet = build_fleet(3)
        assert [home.home_id for home in fleet] == ["sim-0001", "sim-0002", "sim-0003"]
        assert home_id_for(12345) == "sim-12345"

    def test_homes_lie_within_eight_km_of_zhongshan(self) -> None:
        assert all(_km(home.home.lat, home.home.lon) <= 8.0 for home in build_fleet(200))

    def test_homes_spread_over_the_disc(self) -> None:
        distances = [_km(home.home.lat, home.home.lon) for home in build_fleet(200)]
        assert min(distances) < 3 < 6 < max(distances)

    def test_default_timezone_is_shanghai(self) -> None:
        assert {home.home.timezone for home in build_fleet(5)} == {"Asia/Shanghai"}

    def test_same_seed_same_fleet_other_seed_other_fleet(self) -> None:
        assert build_fleet(5, seed=1) == build_fleet(5, seed=1)
        assert build_fleet(5, seed=1) != build_fleet(5, seed=2)

    def test_device_ids_are_unique_and_valid(self) -> None:
        ids = [device.device_id for home in build_fleet(50) for device in home.devices]
        assert len(ids) == len(set(ids))
        assert all(is_valid_id(device_id) for device_id in ids)

    def test_every_home_has_the_full_device_set(self) -> None:
        home = build_fleet(1)[0]
        roles = Counter(device.role for device in home.devices)
        assert roles == {
            "wearable": 1,
            "motion": 5,
            "door": 3,
            "bed": 1,
            "stove": 1,
            "leak": 2,
            "smoke": 1,
            "climate": 1,
        }
        assert {home.find("motion", room).room for room in ROOMS} == set(ROOMS)
        assert {d.door for d in home.devices if d.role == "door"} == {"front", "fridge", "bathroom"}
        assert home.find("stove").appliance == "stove"
        assert {d.room for d in home.devices if d.role == "leak"} == {"kitchen", "bathroom"}

    def test_the_wearable_sends_vitals_falls_sos_and_heartbeats(self) -> None:
        wearable = build_fleet(1)[0].find("wearable")
        assert wearable.type == "vitals"
        assert wearable.emits == ("vitals", "fall", "sos", "heartbeat")

    def test_devices_carry_type_place_and_interval(self) -> None:
        for device in build_fleet(1)[0].devices:
            assert device.report_interval_s > 0
            assert device.type in device.emits
            assert device.role == "wearable" or device.room is not None
