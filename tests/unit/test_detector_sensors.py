"""Sensor detectors: leak, smoke, low battery, device offline and home climate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.events import GatewayEvent, Reading, StatusChange
from devices.telemetry import Telemetry
from devices.types.environment import EnvironmentData, EnvironmentTelemetry
from devices.types.heartbeat import HeartbeatTelemetry
from devices.types.leak import LeakData, LeakTelemetry
from devices.types.smoke import SmokeData, SmokeTelemetry
from processors.detection import Detection
from processors.detector import DetectorState, DeviceProfile, HomeContext
from processors.detectors import device_offline, home_climate, leak, low_battery, smoke
from processors.rules import HomeRules

HOME = "home-1"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
RULES = HomeRules(home_id=HOME)
CONTEXT = HomeContext(rules=RULES)
AWAY = HomeContext(rules=HomeRules(home_id=HOME, away=True))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(device: str, telemetry: Telemetry, received: datetime | None = None) -> Reading:
    return Reading(
        home_id=HOME,
        device_id=device,
        received_at=telemetry.ts if received is None else received,
        telemetry=telemetry,
    )


def wet(flag: bool, minutes: float = 0, seq: int = 1, device: str = "leak-1") -> Reading:
    return reading(
        device, LeakTelemetry(type="leak", ts=at(minutes), seq=seq, data=LeakData(wet=flag))
    )


def smoky(
    alarm: bool,
    co_ppm: float | None = None,
    minutes: float = 0,
    seq: int = 1,
    device: str = "smoke-1",
) -> Reading:
    data = SmokeData(alarm=alarm, co_ppm=co_ppm)
    return reading(device, SmokeTelemetry(type="smoke", ts=at(minutes), seq=seq, data=data))


def heartbeat(
    device: str = "hub-1", minutes: float = 0, seq: int = 1, battery: float | None = None
) -> Reading:
    telemetry = HeartbeatTelemetry(type="heartbeat", ts=at(minutes), seq=seq, battery=battery)
    return reading(device, telemetry)


def climate(celsius: float, minutes: float = 0, seq: int = 1, room: str = "living") -> Reading:
    data = EnvironmentData(room=room, temperature=celsius, humidity=45)
    telemetry = EnvironmentTelemetry(type="environment", ts=at(minutes), seq=seq, data=data)
    return reading(f"env-{room}", telemetry)


def status(online: bool, minutes: float = 0, device: str = "hub-1") -> StatusChange:
    return StatusChange(
        home_id=HOME, device_id=device, status="online" if online else "offline", at=at(minutes)
    )


def run(detector: Any, events: list[GatewayEvent], home: HomeContext = CONTEXT) -> list[Detection]:
    state: DetectorState = detector.initial()
    out: list[Detection] = []
    for event in events:
        state, detections = detector.on_event(state, event, home)
        out.extend(detections)
    return out


def actions(detections: list[Detection]) -> list[str]:
    return [d.action for d in detections]


class TestLeak:
    def test_wet_opens_critical_technical(self) -> None:
        (detection,) = run(leak.DETECTOR, [wet(True)])
        assert (detection.kind, detection.severity, detection.service) == (
            "leak",
            "critical",
            "technical",
        )
        assert detection.evidence[0].values == {"wet": True}

    @pytest.mark.parametrize(
        ("flags", "expected"),
        [
            ([False], []),
            ([True, True], ["open"]),
            ([True, False], ["open", "cancel"]),
            ([True, False, True], ["open", "cancel", "open"]),
        ],
    )
    def test_transitions(self, flags: list[bool], expected: list[str]) -> None:
        events: list[GatewayEvent] = [wet(f, i, i + 1) for i, f in enumerate(flags)]
        assert actions(run(leak.DETECTOR, events)) == expected

    def test_dry_sensor_does_not_cancel_while_another_is_wet(self) -> None:
        events: list[GatewayEvent] = [
            wet(True, 0, 1, "leak-1"),
            wet(True, 1, 1, "leak-2"),
            wet(False, 2, 2, "leak-1"),
        ]
        assert actions(run(leak.DETECTOR, events)) == ["open", "open"]

    def test_late_older_reading_is_ignored(self) -> None:
        assert actions(run(leak.DETECTOR, [wet(True, 5, 2), wet(False, 0, 1)])) == ["open"]

    def test_away_does_not_pause_leak(self) -> None:
        assert len(run(leak.DETECTOR, [wet(True)], AWAY)) == 1

    def test_same_input_gives_the_same_detection_id(self) -> None:
        assert run(leak.DETECTOR, [wet(True)]) == run(leak.DETECTOR, [wet(True)])


class TestSmoke:
    @pytest.mark.parametrize(
        ("alarm", "co_ppm", "opens"),
        [
            (True, None, True),
            (False, None, False),
            (False, 49.9, False),
            (False, 50.0, True),
            (False, 300.0, True),
            (True, 0.0, True),
        ],
    )
    def test_smoke_alarm_or_co_at_50_ppm_opens(
        self, alarm: bool, co_ppm: float | None, opens: bool
    ) -> None:
        detections = run(smoke.DETECTOR, [smoky(alarm, co_ppm)])
        assert actions(detections) == (["open"] if opens else [])

    def test_opens_critical_medical(self) -> None:
        (detection,) = run(smoke.DETECTOR, [smoky(True)])
        assert (detection.kind, detection.severity, detection.service) == (
            "smoke",
            "critical",
            "medical",
        )

    def test_clear_cancels(self) -> None:
        events: list[GatewayEvent] = [smoky(False, 80, 0, 1), smoky(False, 10, 5, 2)]
        assert actions(run(smoke.DETECTOR, events)) == ["open", "cancel"]

    def test_repeat_alarm_emits_once(self) -> None:
        events: list[GatewayEvent] = [smoky(True, None, 0, 1), smoky(True, None, 1, 2)]
        assert actions(run(smoke.DETECTOR, events)) == ["open"]

    def test_clear_detector_does_not_cancel_while_another_alarms(self) -> None:
        events: list[GatewayEvent] = [
            smoky(True, device="smoke-1"),
            smoky(True, device="smoke-2"),
            smoky(False, minutes=1, seq=2, device="smoke-1"),
        ]
        assert actions(run(smoke.DETECTOR, events)) == ["open", "open"]

    def test_away_does_not_pause_smoke(self) -> None:
        assert len(run(smoke.DETECTOR, [smoky(True)], AWAY)) == 1


class TestLowBattery:
    @pytest.mark.parametrize(
        ("levels", "expected"),
        [
            ([15.0], []),
            ([14.9], ["open"]),
            ([10, 9, 8], ["open"]),
            ([10, 19], ["open"]),
            ([10, 20], ["open", "cancel"]),
            ([10, 100, 12], ["open", "cancel", "open"]),
            ([16, 14, 16, 14], ["open"]),
        ],
        ids=[
            "at-threshold",
            "under",
            "once-per-drop",
            "margin",
            "recharged",
            "drops-again",
            "jitter",
        ],
    )
    def test_levels(self, levels: list[float], expected: list[str]) -> None:
        events: list[GatewayEvent] = [
            heartbeat(minutes=i, seq=i + 1, battery=level) for i, level in enumerate(levels)
        ]
        assert actions(run(low_battery.DETECTOR, events)) == expected

    def test_opens_low_technical_with_the_battery_as_evidence(self) -> None:
        (detection,) = run(low_battery.DETECTOR, [heartbeat(battery=9, seq=3)])
        assert (detection.kind, detection.severity, detection.service) == (
            "low_battery",
            "low",
            "technical",
        )
        assert [(e.device_id, e.seq, e.values) for e in detection.evidence] == [
            ("hub-1", 3, {"battery": 9})
        ]

    def test_any_reading_type_carries_battery(self) -> None:
        telemetry = LeakTelemetry(type="leak", ts=T0, seq=1, battery=5, data=LeakData(wet=False))
        assert actions(run(low_battery.DETECTOR, [reading("leak-1", telemetry)])) == ["open"]

    def test_readings_without_battery_change_nothing(self) -> None:
        events: list[GatewayEvent] = [heartbeat(battery=9), heartbeat(minutes=1, seq=2)]
        assert actions(run(low_battery.DETECTOR, events)) == ["open"]

    def test_each_device_opens_once_and_the_last_recharge_cancels(self) -> None:
        events: list[GatewayEvent] = [
            heartbeat("a", 0, 1, battery=9),
            heartbeat("b", 1, 1, battery=9),
            heartbeat("a", 2, 2, battery=90),
            heartbeat("b", 3, 2, battery=90),
        ]
        assert actions(run(low_battery.DETECTOR, events)) == ["open", "open", "cancel"]

    def test_home_threshold_is_used(self) -> None:
        home = HomeContext(rules=HomeRules(home_id=HOME, low_battery_percent=30))
        assert actions(run(low_battery.DETECTOR, [heartbeat(battery=25)], home)) == ["open"]


HUB = DeviceProfile(device_id="hub-1", type="heartbeat", report_interval_s=60)
DEVICES = HomeContext(rules=RULES, devices={"hub-1": HUB})


class TestDeviceOffline:
    def test_offline_status_opens_low_technical_at_once(self) -> None:
        (detection,) = run(device_offline.DETECTOR, [status(False, 5)])
        assert (detection.kind, detection.severity, detection.service, detection.at) == (
            "device_offline",
            "low",
            "technical",
            at(5),
        )
        assert detection.evidence[0].values == {"status": "offline"}

    @pytest.mark.parametrize(
        ("back", "expected"),
        [
            (status(True, 10), ["open", "cancel"]),
            (heartbeat(minutes=10, seq=9), ["open", "cancel"]),
            (status(False, 10), ["open"]),
        ],
        ids=["online-status", "any-reading", "offline-again"],
    )
    def test_any_message_from_it_cancels(self, back: GatewayEvent, expected: list[str]) -> None:
        assert actions(run(device_offline.DETECTOR, [status(False, 5), back])) == expected

    def test_stale_last_will_after_a_newer_message_is_ignored(self) -> None:
        events: list[GatewayEvent] = [heartbeat(minutes=10), status(False, 5)]
        assert run(device_offline.DETECTOR, events) == []

    def test_back_device_does_not_cancel_while_another_is_offline(self) -> None:
        events: list[GatewayEvent] = [
            status(False, 0, "a"),
            status(False, 1, "b"),
            status(True, 2, "a"),
        ]
        assert actions(run(device_offline.DETECTOR, events)) == ["open", "open"]

    @pytest.mark.parametrize(("silent_s", "opens"), [(179, False), (180, True), (600, True)])
    def test_silence_of_three_intervals_opens_on_a_tick(self, silent_s: int, opens: bool) -> None:
        state, _ = device_offline.DETECTOR.on_event(
            device_offline.DETECTOR.initial(), heartbeat(), DEVICES
        )
        _, detections = device_offline.DETECTOR.on_tick(
            state, T0 + timedelta(seconds=silent_s), DEVICES
        )
        assert actions(detections) == (["open"] if opens else [])

    def test_silence_opens_once_at_the_deadline_and_a_message_cancels(self) -> None:
        detector = device_offline.DETECTOR
        state, _ = detector.on_event(detector.initial(), heartbeat(), DEVICES)
        state, first = detector.on_tick(state, at(5), DEVICES)
        state, second = detector.on_tick(state, at(6), DEVICES)
        state, back = detector.on_event(state, heartbeat(minutes=7, seq=2), DEVICES)
        assert [d.at for d in first] == [at(3)]
        assert second == []
        assert actions(back) == ["cancel"]

    def test_silence_uses_arrival_time_not_reading_time(self) -> None:
        detector = device_offline.DETECTOR
        # A buffered reading taken long ago but received now: the device is not silent.
        late = reading("hub-1", heartbeat(minutes=-60).telemetry, received=at(0))
        state, _ = detector.on_event(detector.initial(), late, DEVICES)
        assert detector.on_tick(state, at(2), DEVICES)[1] == []

    def test_never_heard_device_is_silent_from_the_first_tick(self) -> None:
        detector = device_offline.DETECTOR
        state, nothing = detector.on_tick(detector.initial(), at(0), DEVICES)
        state, detections = detector.on_tick(state, at(3), DEVICES)
        assert nothing == []
        assert actions(detections) == ["open"]
        assert "never heard from" in detections[0].summary

    def test_interval_comes_from_the_device_profile(self) -> None:
        slow = HomeContext(
            rules=RULES,
            devices={"hub-1": HUB.model_copy(update={"report_interval_s": 3600})},
        )
        detector = device_offline.DETECTOR
        state, _ = detector.on_event(detector.initial(), heartbeat(), slow)
        assert detector.on_tick(state, at(179), slow)[1] == []
        assert actions(detector.on_tick(state, at(180), slow)[1]) == ["open"]

    def test_same_silence_gives_the_same_detection_id_whichever_tick_sees_it(self) -> None:
        detector = device_offline.DETECTOR
        state, _ = detector.on_event(detector.initial(), heartbeat(), DEVICES)
        early = detector.on_tick(state, at(3), DEVICES)[1]
        late = detector.on_tick(state, at(9), DEVICES)[1]
        assert early == late

    def test_away_keeps_offline(self) -> None:
        assert len(run(device_offline.DETECTOR, [status(False)], AWAY)) == 1

    def test_state_round_trips_through_json(self) -> None:
        state, _ = device_offline.DETECTOR.on_event(
            device_offline.DETECTOR.initial(), heartbeat(), DEVICES
        )
        state, _ = device_offline.DETECTOR.on_tick(state, at(10), DEVICES)
        restored = device_offline.DeviceOfflineState.model_validate_json(state.model_dump_json())
        assert restored == state


class TestHomeClimate:
    @pytest.mark.parametrize(
        ("celsius", "minutes", "opens"),
        [
            (15.9, 60, True),
            (15.9, 59, False),
            (16.0, 60, False),
            (30.0, 60, False),
            (30.1, 60, True),
            (30.1, 59.9, False),
        ],
    )
    def test_out_of_range_for_an_hour_opens(
        self, celsius: float, minutes: float, opens: bool
    ) -> None:
        events: list[GatewayEvent] = [climate(celsius, 0, 1), climate(celsius, minutes, 2)]
        assert actions(run(home_climate.DETECTOR, events)) == (["open"] if opens else [])

    def test_opens_medium_housekeeping_with_first_and_latest_readings(self) -> None:
        events: list[GatewayEvent] = [climate(14, 0, 1), climate(13, 30, 2), climate(13, 60, 3)]
        (detection,) = run(home_climate.DETECTOR, events)
        assert (detection.kind, detection.severity, detection.service, detection.at) == (
            "home_climate",
            "medium",
            "housekeeping",
            at(60),
        )
        assert [e.seq for e in detection.evidence] == [1, 3]

    def test_an_in_range_reading_restarts_the_hour(self) -> None:
        events: list[GatewayEvent] = [climate(14, 0, 1), climate(18, 30, 2), climate(14, 60, 3)]
        assert run(home_climate.DETECTOR, events) == []

    def test_back_in_range_cancels(self) -> None:
        events: list[GatewayEvent] = [climate(14, 0, 1), climate(14, 60, 2), climate(20, 70, 3)]
        assert actions(run(home_climate.DETECTOR, events)) == ["open", "cancel"]

    def test_opens_once_per_run(self) -> None:
        events: list[GatewayEvent] = [climate(14, m, m + 1) for m in (0, 60, 70, 80)]
        assert actions(run(home_climate.DETECTOR, events)) == ["open"]

    def test_rooms_are_judged_separately(self) -> None:
        events: list[GatewayEvent] = [
            climate(14, 0, 1, "living"),
            climate(14, 30, 1, "bedroom"),
            climate(14, 60, 2, "living"),
            climate(14, 90, 2, "bedroom"),
            climate(20, 95, 3, "living"),
            climate(20, 100, 3, "bedroom"),
        ]
        detections = run(home_climate.DETECTOR, events)
        assert [(d.action, d.details["room"]) for d in detections] == [
            ("open", "living"),
            ("open", "bedroom"),
            ("cancel", "bedroom"),
        ]

    def test_late_older_reading_is_ignored(self) -> None:
        events: list[GatewayEvent] = [climate(14, 0, 1), climate(14, 60, 3), climate(20, 30, 2)]
        assert actions(run(home_climate.DETECTOR, events)) == ["open"]

    def test_away_keeps_climate(self) -> None:
        events: list[GatewayEvent] = [climate(14, 0, 1), climate(14, 60, 2)]
        assert len(run(home_climate.DETECTOR, events, AWAY)) == 1

    def test_same_input_gives_the_same_detection_id(self) -> None:
        events: list[GatewayEvent] = [climate(14, 0, 1), climate(14, 60, 2)]
        assert run(home_climate.DETECTOR, events) == run(home_climate.DETECTOR, events)
