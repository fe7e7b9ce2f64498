"""Injected scenarios: each yields its ground truth, and the events show the condition."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from simulators.errors import SimulatorError
from simulators.fleet import build_fleet
from simulators.injections import parse_injection
from simulators.stream import SimEvent, StatusEvent, check_injections, generate, ground_truth
from simulators.truth import TruthRecord, read_truth, write_truth
from tests.unit.test_simulator_conditions import (
    ZONE,
    alarms,
    days_without_breakfast,
    daytime_silences,
    long_bathroom_stays,
    news2_triggers,
    night_bed_exits,
    night_wanderings,
    unattended_stove,
)

START = datetime(2026, 11, 20, 16, tzinfo=UTC)  # midnight in Zhongshan
END = START + timedelta(days=2)
FLEET = build_fleet(6, seed=9)
HOME = FLEET[0]

Checker = Callable[[Sequence[SimEvent]], list[datetime]]
CHECKS: dict[str, Checker] = {
    "inactivity": daytime_silences,
    "night_wandering": night_wanderings,
    "bed_exit": night_bed_exits,
    "stove_unattended": unattended_stove,
    "news2": lambda events: news2_triggers(events)[:1],
    "fall": lambda events: alarms(events)["fall"],
    "sos": lambda events: alarms(events)["sos"],
    "leak": lambda events: alarms(events)["leak"],
    "smoke": lambda events: alarms(events)["smoke"],
    # never injected: no scenario may bring these along
    "bathroom_long": long_bathroom_stays,
    "no_meal": days_without_breakfast,
}


def _run(
    spec: str, home_index: int = 0
) -> tuple[list[SimEvent], list[StatusEvent], list[TruthRecord]]:
    home = FLEET[home_index]
    injections = [parse_injection(spec.format(home=home.home_id))]
    items = list(generate(home, START, END, seed=9, injections=injections))
    truth = ground_truth(home, START, END, seed=9, injections=injections)
    events = [item for item in items if isinstance(item, SimEvent)]
    return events, [item for item in items if isinstance(item, StatusEvent)], truth


def _conditions(events: list[SimEvent]) -> dict[str, list[datetime]]:
    return {kind: found for kind, check in CHECKS.items() if (found := check(events))}


class TestEachInjection:
    @pytest.mark.parametrize(
        ("spec", "kinds"),
        [
            ("fall@{home}+3h", {"fall"}),
            ("fall@{home}+19h", {"fall"}),  # 03:00 local: gets up at night and falls
            ("fall@{home}+7h5m", {"fall"}),  # around the morning wash, often in the bathroom
            ("sos@{home}+9h", {"sos"}),
            ("news2@{home}+10h", {"news2"}),
            ("inactivity@{home}+10h", {"inactivity"}),
            ("night_wandering@{home}+1h", {"night_wandering", "bed_exit"}),
            ("bed_exit@{home}+1h", {"bed_exit"}),
            ("stove_left_on@{home}+12h", {"stove_unattended"}),
            ("leak@{home}+4h", {"leak"}),
            ("smoke@{home}+30h", {"smoke"}),
        ],
    )
    @pytest.mark.parametrize("home_index", [0, 3])
    def test_truth_matches_what_the_events_show(
        self, spec: str, kinds: set[str], home_index: int
    ) -> None:
        events, _, truth = _run(spec, home_index)
        assert {record.kind for record in truth} == kinds
        found = _conditions(events)
        assert set(found) == kinds
        for record in truth:
            assert abs(found[record.kind][0] - record.start) < timedelta(seconds=1), record

    def test_device_offline_goes_offline_and_silent(self) -> None:
        events, statuses, truth = _run("device_offline@{home}+5h")
        assert len(truth) == 1
        record = truth[0]
        assert record.kind == "device_offline"
        assert statuses == [
            StatusEvent(record.start, HOME.home_id, str(record.device_id), "offline")
        ]
        assert not [e for e in events if e.device_id == record.device_id and e.ts >= record.start]
        assert _conditions(events) == {}

    def test_truth_records_carry_home_device_and_injection(self) -> None:
        _, _, truth = _run("leak@{home}+4h/{home}-leak-bathroom")
        assert truth[0].home_id == HOME.home_id
        assert truth[0].device_id == f"{HOME.home_id}-leak-bathroom"
        assert truth[0].injection == f"leak@{HOME.home_id}+4h/{HOME.home_id}-leak-bathroom"
        assert truth[0].start == START + timedelta(hours=4)


class TestPlacement:
    def test_inactivity_requested_at_night_moves_to_the_day(self) -> None:
        _, _, truth = _run("inactivity@{home}+1h")  # 01:00 local
        record = truth[0]
        assert record.details["moved"] is True
        assert datetime.fromisoformat(record.details["injected_at"]).astimezone(ZONE).hour >= 9
        assert 7 <= record.start.astimezone(ZONE).hour < 22

    def test_night_wandering_requested_by_day_moves_to_the_night(self) -> None:
        _, _, truth = _run("night_wandering@{home}+10h")
        opened = next(r for r in truth if r.kind == "night_wandering").details["door_opened_at"]
        assert datetime.fromisoformat(opened).astimezone(ZONE).hour in (1, 2, 3)

    def test_news2_turns_critical_within_about_an_hour(self) -> None:
        _, _, truth = _run("news2@{home}+10h")
        details = truth[0].details
        onset = datetime.fromisoformat(details["onset_at"])
        critical = datetime.fromisoformat(details["critical_at"])
        assert timedelta(minutes=20) < critical - onset <= timedelta(minutes=75)
        assert details["peak_score"] >= 7

    def test_the_stream_before_an_injection_is_unchanged(self) -> None:
        healthy = [e for e in generate(HOME, START, END, seed=9) if isinstance(e, SimEvent)]
        events, _, truth = _run("inactivity@{home}+10h")
        moment = datetime.fromisoformat(truth[0].details["injected_at"])
        assert [e for e in events if e.ts < moment] == [e for e in healthy if e.ts < moment]

    def test_a_scenario_past_the_end_leaves_no_truth(self) -> None:
        home = FLEET[0]
        injection = parse_injection(f"fall@{home.home_id}+1d23h59m")
        end = START + timedelta(days=2)
        assert [
            r
            for r in ground_truth(home, START, end, seed=9, injections=[injection])
            if r.start >= end
        ] == []

    def test_several_injections_in_one_home_all_show(self) -> None:
        specs = [
            "fall@{home}+3h",
            "stove_left_on@{home}+12h",
            "smoke@{home}+14h",
            "bed_exit@{home}+1d1h",
        ]
        injections = [parse_injection(spec.format(home=HOME.home_id)) for spec in specs]
        events = [
            item
            for item in generate(HOME, START, END, seed=9, injections=injections)
            if isinstance(item, SimEvent)
        ]
        truth = ground_truth(HOME, START, END, seed=9, injections=injections)
        assert {r.kind for r in truth} == {"fall", "stove_unattended", "smoke", "bed_exit"}
        assert set(_conditions(events)) == {r.kind for r in truth}

    def test_injections_for_other_homes_are_ignored(self) -> None:
        other = parse_injection(f"fall@{FLEET[1].home_id}+3h")
        assert ground_truth(HOME, START, END, seed=9, injections=[other]) == []

    def test_a_device_from_another_home_is_refused(self) -> None:
        injection = parse_injection(f"leak@{HOME.home_id}/{FLEET[1].home_id}-leak-kitchen")
        with pytest.raises(SimulatorError, match="not a leak sensor"):
            ground_truth(HOME, START, END, seed=9, injections=[injection])

    def test_unknown_homes_are_refused(self) -> None:
        with pytest.raises(SimulatorError, match="no home sim-0099"):
            check_injections(FLEET, [parse_injection("fall@sim-0099")])


class TestTruthFile:
    def test_records_round_trip_through_json_lines(self, tmp_path: object) -> None:
        from pathlib import Path

        path = Path(str(tmp_path)) / "truth.jsonl"
        _, _, truth = _run("night_wandering@{home}+1h")
        assert write_truth(path, truth) == 2
        assert read_truth(path) == truth
        assert len(path.read_text().splitlines()) == 2
