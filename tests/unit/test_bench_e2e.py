"""`anxin bench e2e`: its options, background arithmetic, stream parsing and figures, no servers."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from anxin.bench.e2e import E2EOptions
from anxin.bench.e2e_load import HomeDay, measure_home_day, plan_background, simulated_duration
from anxin.bench.e2e_report import Press, Window, figures
from anxin.bench.figures import Figure, sample_quantile
from anxin.bench.sse import StreamListener, parse_events
from simulators.profile import ROLES
from tests.integration.rig import anxin_executable

HOME_DAY = HomeDay({role: 0.0 for role in ROLES} | {"wearable": 400.0, "motion": 1600.0})


def anxin(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    return subprocess.run(
        [anxin_executable(), *args], capture_output=True, text=True, timeout=60, env=environment
    )


def by_key(found: list[Figure]) -> dict[str, Figure]:
    return {figure.key: figure for figure in found}


class TestOptions:
    def test_the_command_line_reproduces_every_setting(self) -> None:
        options = E2EOptions(
            homes=70, devices="motion,wearable", speed=3.5, samples=9, warmup=1, rate=2, seed=4
        )
        assert options.command() == (
            "anxin bench e2e --homes=70 --devices=wearable,motion --speed=3.5 --samples=9 "
            "--warmup=1 --rate=2 --seed=4"
        )

    def test_without_a_speed_the_command_leaves_it_to_the_bench(self) -> None:
        assert "--speed" not in E2EOptions().command()
        assert E2EOptions().homes == 5000
        assert E2EOptions().devices == ("wearable",)

    @pytest.mark.parametrize(
        "bad",
        [
            {"samples": 0},
            {"rate": 0},
            {"rate": -1},
            {"speed": 0},
            {"homes": -1},
            {"homes": 1_000_000},
            {"devices": "toaster"},
            {"devices": []},
        ],
    )
    def test_refuses_a_run_that_cannot_measure(self, bad: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            E2EOptions.model_validate(bad)

    @pytest.mark.parametrize(
        "args",
        [
            ["--devices", "toaster"],
            ["--homes", "-5"],
            ["--samples", "0"],
            ["--rate", "0"],
            ["--json", "/no/such/dir/figures.json"],
        ],
    )
    def test_bad_flags_exit_2_before_anything_starts(self, args: list[str]) -> None:
        result = anxin("bench", "e2e", *args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr


class TestBackgroundLoad:
    def test_speed_matches_the_full_homes_message_rate(self) -> None:
        plan = plan_background(5000, ("wearable",), HOME_DAY)
        assert plan.speed == 5.0  # 2,000 a home-day in full, 400 from the watch
        assert plan.rate_per_s == pytest.approx(plan.full_rate_per_s)
        assert plan.full_rate_per_s == pytest.approx(5000 * 2000 / 86_400)
        assert plan.devices == 5000

    def test_a_given_speed_is_kept(self) -> None:
        plan = plan_background(10, ("wearable",), HOME_DAY, speed=2.0)
        assert plan.speed == 2.0
        assert plan.rate_per_s == pytest.approx(10 * 400 * 2 / 86_400)

    def test_every_device_counts_its_connections(self) -> None:
        assert plan_background(3, ROLES, HOME_DAY).devices == 45
        assert plan_background(3, ROLES, HOME_DAY).speed == 1.0

    def test_a_profile_that_sends_nothing_is_refused(self) -> None:
        with pytest.raises(ValueError, match="send nothing"):
            plan_background(3, ("smoke",), HOME_DAY)

    def test_the_simulator_is_counted_per_home_day_and_deterministic(self) -> None:
        day = measure_home_day(1, homes=3, days=1)
        assert day == measure_home_day(1, homes=3, days=1)
        # A watch reports vitals every 5 minutes: at least 288 messages a day.
        assert 288 <= day.messages(("wearable",)) < day.messages()
        assert day.messages() == pytest.approx(sum(day.by_role.values()))

    @pytest.mark.parametrize(
        ("speed", "wall_s", "text"), [(5.59, 1000, "94m"), (1.0, 10, "1m"), (60, 60, "60m")]
    )
    def test_the_simulation_outlasts_the_bench(
        self, speed: float, wall_s: float, text: str
    ) -> None:
        assert simulated_duration(speed, wall_s) == text


class TestStreamParsing:
    def test_alert_events_are_parsed_and_the_rest_skipped(self) -> None:
        lines = [
            "retry: 3000",
            "",
            ": keepalive",
            "",
            "id: 7",
            "event: alert",
            'data: {"alert_id": "a1", "home_id": "h1", "event": "opened"}',
            "",
            "event: reset",
            'data: {"lost": 3}',
            "",
            "id: 8",
            "event: alert",
            'data: {"alert_id": "a1",',
            'data: "home_id": "h1", "event": "resolved"}',
            "",
        ]
        clock = iter([1.0, 2.0])
        events = list(parse_events(lines, clock=lambda: next(clock)))
        assert [(e.event_id, e.alert_id, e.home_id, e.transition, e.arrived) for e in events] == [
            ("7", "a1", "h1", "opened", 1.0),
            ("8", "a1", "h1", "resolved", 2.0),
        ]


class TestStreamListener:
    def test_hands_over_events_in_order_and_says_when_the_server_ends(self) -> None:
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers["Authorization"])
            body = (
                b"retry: 3000\n\n"
                b'id: 1\nevent: alert\ndata: {"alert_id": "a", "home_id": "h", "event": "opened"}\n\n'
                b": keepalive\n\n"
                b'id: 2\nevent: alert\ndata: {"alert_id": "a", "home_id": "h", "event": "resolved"}\n\n'
            )
            return httpx.Response(200, content=body)

        listener = StreamListener("http://anxin.test", "tok", transport=httpx.MockTransport(answer))
        listener.start()
        deadline = time.perf_counter() + 5
        first, second = listener.next_event(deadline), listener.next_event(deadline)
        assert first is not None
        assert second is not None
        assert [first.transition, second.transition] == ["opened", "resolved"]
        assert first.arrived <= second.arrived
        assert listener.next_event(time.perf_counter() + 0.2) is None
        assert isinstance(listener.error, ConnectionError)
        assert seen == ["Bearer tok"]
        listener.close()

    def test_a_refused_stream_fails_at_start(self) -> None:
        def refuse(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(404, json={"detail": "not found"})

        listener = StreamListener("http://anxin.test", "tok", transport=httpx.MockTransport(refuse))
        with pytest.raises(RuntimeError, match="404"):
            listener.start()
        listener.close()


def window(**changes: object) -> Window:
    values: dict[str, object] = {
        "seconds": 10.0,
        "received": 1200,
        "up_cpu_s": 3.0,
        "simulator_cpu_s": 1.0,
        "background_events": 2,
        "simulator_alive": True,
        "up_peak_mb": 512.0,
    }
    return Window(**(values | changes))  # type: ignore[arg-type]


class TestFigures:
    plan = plan_background(5000, ("wearable",), HOME_DAY)

    def test_quantiles_of_the_presses_against_the_target(self) -> None:
        presses = [Press(float(ms), ms / 2, 1.0) for ms in range(1, 101)]
        found = by_key(figures(self.plan, presses, window()))
        assert found["e2e.p50_ms"].value == pytest.approx(50.5)
        assert found["e2e.p99_ms"].value == pytest.approx(99.01)
        assert found["e2e.p99_ms"].passed is True
        assert found["e2e.max_ms"].value == 100
        assert found["e2e.lost"].value == 0
        assert found["e2e.lost"].passed is True
        assert found["stage.stored_p50_ms"].value == pytest.approx(25.25)

    def test_a_slow_tail_fails_the_target(self) -> None:
        presses = [Press(60.0)] * 95 + [Press(400.0)] * 5
        assert by_key(figures(self.plan, presses, window()))["e2e.p99_ms"].passed is False

    def test_a_lost_press_fails_even_a_fast_run(self) -> None:
        presses = [Press(20.0)] * 99 + [Press(None)]
        found = by_key(figures(self.plan, presses, window()))
        assert found["e2e.lost"].value == 1
        assert found["e2e.lost"].passed is False
        assert found["e2e.p99_ms"].passed is False
        assert "1 lost" in found["e2e.p99_ms"].note

    def test_background_rate_and_cpu_come_from_the_window(self) -> None:
        found = by_key(figures(self.plan, [Press(10.0)], window()))
        assert found["background.rate_per_s"].value == 120.0
        assert found["background.full_rate_per_s"].value == pytest.approx(5000 * 2000 / 86_400)
        assert found["cpu.up_percent"].value == 30.0
        assert found["cpu.simulator_percent"].value == 10.0
        assert found["background.alert_events"].value == 2
        assert found["memory.up_peak_mb"].value == 512.0

    def test_a_simulator_that_ended_early_is_said(self) -> None:
        found = by_key(figures(self.plan, [Press(10.0)], window(simulator_alive=False)))
        assert "the simulator had ended" in found["background.rate_per_s"].note

    def test_no_window_no_rate(self) -> None:
        found = by_key(figures(self.plan, [], None))
        assert found["e2e.p50_ms"].value is None
        assert found["background.rate_per_s"].value is None
        assert "cpu.up_percent" not in found

    def test_a_press_is_kept_in_json_rounded(self) -> None:
        assert Press(12.3456, None, 0.98765, at_s=1.23456).as_json() == {
            "at_s": 1.235,
            "event_ms": 12.35,
            "stored_ms": None,
            "puback_ms": 0.99,
        }


class TestSampleQuantile:
    @pytest.mark.parametrize(
        ("values", "q", "expected"),
        [([3.0, 1.0, 2.0], 0.5, 2.0), ([1.0, 2.0], 0.5, 1.5), ([5.0], 0.99, 5.0), ([], 0.5, None)],
    )
    def test_interpolates_between_the_nearest_samples(
        self, values: list[float], q: float, expected: float | None
    ) -> None:
        assert sample_quantile(values, q) == expected

    def test_q_must_be_a_fraction(self) -> None:
        with pytest.raises(ValueError, match=r"0\.\.1"):
            sample_quantile([1.0], 99)


def test_json_path_is_not_part_of_the_reproducing_command(tmp_path: Path) -> None:
    assert "json" not in E2EOptions(json_path=tmp_path / "x.json").command()
